// The metrics consumer in a real Hub, fed by a scripted station over the real socket: what GET /metrics says after a
// rip, that a replayed event is not counted twice, who may scrape, that labels stay bounded, and that promtool agrees.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscType, FINISHED_JOB_STATES, TranscodeTaskState } from '../../../../shared/index.js';
import { AccessControl } from '../../../../hub/auth/access.js';
import { metricsConsumer } from '../../../../hub/consumers/metrics/metrics.js';
import { DRIVE_STATES } from '../../../../hub/consumers/metrics/drive-states.js';
import { openDatabase } from '../../../../hub/store/database.js';
import { HubFixture, connectAgent, eventEnvelope, hello, tempDir } from '../../helpers.js';
import {
  RIP_SECONDS, STATION, TITLE_BYTES, TITLE_SECONDS, drives, parseMetrics, ripEvents, scriptRip, valueOf, type Sample,
} from './scripted-rip.js';

const fx = new HubFixture();
afterEach(async () => { await fx.stop(); });

const METRICS_TOKEN = 'metrics-token-for-tests';

async function scrape(headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${fx.hub.base}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

async function samples(): Promise<Sample[]> {
  const { status, text } = await scrape();
  expect(status).toBe(200);
  return parseMetrics(text);
}

async function rippedHub(): Promise<Sample[]> {
  await fx.start(undefined, { consumers: [metricsConsumer({})] });
  const dashboard = await fx.dashboard();
  const agent = fx.track(await connectAgent(fx.hub.port, hello(STATION, drives, { version: '1.2.3', outbox_events: 13 })));
  await scriptRip(fx, agent, dashboard);
  return samples();
}

describe('after a scripted rip', () => {
  it('counts the finished jobs, bytes and seconds, and shows each drive and station as it is now', async () => {
    const after = await rippedHub();
    const station = { station: STATION };
    expect(valueOf(after, 'discbridge_jobs_total', { ...station, disc_type: 'dvd', outcome: 'completed' })).toBe(1);
    expect(valueOf(after, 'discbridge_jobs_total', { ...station, disc_type: 'dvd', outcome: 'failed' })).toBe(1);
    expect(valueOf(after, 'discbridge_ripped_bytes_total', station)).toBe(TITLE_BYTES[0]! + TITLE_BYTES[1]!);
    expect(valueOf(after, 'discbridge_ripped_media_seconds_total', station)).toBe(TITLE_SECONDS[0]! + TITLE_SECONDS[1]!);
    expect(valueOf(after, 'discbridge_events_ingested_total')).toBe(ripEvents.length);

    // Two finished jobs: the completed one took RIP_SECONDS of the station's clock, the failed one a second (two events).
    expect(valueOf(after, 'discbridge_rip_duration_seconds_count')).toBe(2);
    expect(valueOf(after, 'discbridge_rip_duration_seconds_sum')).toBe(RIP_SECONDS + 1);
    // Only sr0's disc had its titles found.
    expect(valueOf(after, 'discbridge_insert_to_scan_seconds_count')).toBe(1);
    expect(valueOf(after, 'discbridge_store_write_seconds_count')).toBeGreaterThan(0);

    const stateOf = (drive: string) => after.filter((s) => s.name === 'discbridge_drive_state' && s.labels.drive === drive && s.value === 1).map((s) => s.labels.state);
    expect(stateOf('/dev/sr0')).toEqual(['disc']);
    expect(stateOf('/dev/sr1')).toEqual(['ripping']);
    expect(after.filter((s) => s.name === 'discbridge_drive_state')).toHaveLength(2 * DRIVE_STATES.length);
    expect(valueOf(after, 'discbridge_job_progress_ratio', { ...station, drive: '/dev/sr1' })).toBe(0.4);
    expect(valueOf(after, 'discbridge_job_progress_ratio', { ...station, drive: '/dev/sr0' })).toBeUndefined();

    expect(valueOf(after, 'discbridge_stations_connected')).toBe(1);
    expect(valueOf(after, 'discbridge_dashboards_connected')).toBe(1);
    expect(valueOf(after, 'discbridge_dashboards_dropped_total')).toBe(0);
    expect(valueOf(after, 'discbridge_station_info', { ...station, version: '1.2.3' })).toBe(1);
    expect(valueOf(after, 'discbridge_station_outbox_events', station)).toBe(13);
  });

  it('shows the transcode queue: its tasks in each state, each station\'s slots, and what it runs now', async () => {
    await fx.start(undefined, { consumers: [metricsConsumer({})] });
    fx.track(await connectAgent(fx.hub.port, hello('worker-b', [], { transcode_slots: 2 })));
    fx.hub.hub.transcodes?.requested({
      type: 'transcode_request', agent_id: 'worker-b', job_id: 4, profile: 'h264', keep_rip: true, root: 'output',
      titles: [1, 2, 3].map((title_id) => ({ title_id, source: `D/D_t0${title_id}.mkv`, output: `D/D_t0${title_id}.h264.mkv`, duration_seconds: 60 })),
    });
    const after = await samples();
    // Two of the three leased to the station (its two slots, its own rips), one waiting; the other states at 0.
    expect(Object.fromEntries(after.filter((s) => s.name === 'discbridge_transcode_tasks').map((s) => [s.labels.state, s.value])))
      .toEqual({ queued: 1, transcoding: 2, done: 0, failed: 0, cancelled: 0 });
    expect(valueOf(after, 'discbridge_transcode_slots', { station: 'worker-b' })).toBe(2);
    expect(valueOf(after, 'discbridge_transcodes_running', { station: 'worker-b' })).toBe(2);
  });

  it('does not count a replayed event twice, and forgets a station\'s live series when it goes offline', async () => {
    const before = await rippedHub();
    // The station reconnects and replays all it sent (as after a lost acknowledgement); the store already has them.
    const again = fx.track(await connectAgent(fx.hub.port, hello(STATION, drives, { version: '1.2.4', outbox_events: 0 })));
    again.send({ kind: 'events', events: ripEvents.map((event, index) => { const { kind: _kind, ...rest } = eventEnvelope(index + 1, event) as { kind: string }; return rest; }) });
    await again.ping();
    await fetch(`${fx.hub.base}/api/jobs`);
    const after = await samples();
    for (const name of ['discbridge_jobs_total', 'discbridge_ripped_bytes_total', 'discbridge_ripped_media_seconds_total', 'discbridge_events_ingested_total',
      'discbridge_rip_duration_seconds_count', 'discbridge_insert_to_scan_seconds_count']) {
      expect(after.filter((s) => s.name === name), name).toEqual(before.filter((s) => s.name === name));
    }
    expect(valueOf(after, 'discbridge_station_info', { station: STATION })).toBe(1);
    expect(valueOf(after, 'discbridge_station_info', { station: STATION, version: '1.2.4' })).toBe(1);
    expect(valueOf(after, 'discbridge_station_outbox_events', { station: STATION })).toBe(0);

    await again.close();
    await expect.poll(async () => valueOf(await samples(), 'discbridge_stations_connected')).toBe(0);
    const offline = await samples();
    expect(offline.filter((s) => ['discbridge_drive_state', 'discbridge_station_info', 'discbridge_job_progress_ratio'].includes(s.name))).toEqual([]);
    expect(valueOf(offline, 'discbridge_jobs_total', { outcome: 'completed' })).toBe(1);
  });

  it('keeps every label to the bounded set: stations, drives and fixed vocabularies, never job ids, labels or file names', async () => {
    const after = await rippedHub();
    const allowed: Record<string, readonly string[]> = {
      discbridge_jobs_total: ['station', 'disc_type', 'outcome'],
      discbridge_ripped_bytes_total: ['station'],
      discbridge_ripped_media_seconds_total: ['station'],
      discbridge_drive_state: ['station', 'drive', 'state'],
      discbridge_job_progress_ratio: ['station', 'drive'],
      discbridge_station_info: ['station', 'version'],
      discbridge_station_outbox_events: ['station'],
      discbridge_transcode_tasks: ['state'],
      discbridge_transcode_slots: ['station'],
      discbridge_transcodes_running: ['station'],
    };
    const vocabularies: Record<string, readonly string[]> = {
      station: [STATION], drive: drives.map((d) => d.drive_id), state: [...DRIVE_STATES, ...TranscodeTaskState.options], outcome: [...FINISHED_JOB_STATES], disc_type: DiscType.options, version: ['1.2.3'],
    };
    for (const sample of after) {
      const base = sample.name.replace(/_(bucket|sum|count)$/, '');
      const names = Object.keys(sample.labels).filter((name) => name !== 'le');
      expect(names.sort(), sample.name).toEqual([...(allowed[base] ?? [])].sort());
      for (const [name, value] of Object.entries(sample.labels)) if (name !== 'le') expect(vocabularies[name], `${name}=${value}`).toContain(value);
    }
    const text = (await scrape()).text;
    for (const leak of ['THE_MOVIE', 'SECOND_DISC', 'The Movie', 'job_id', 'unreadable']) expect(text).not.toContain(leak);
  });

  it('passes promtool check metrics', async (context) => {
    const after = await rippedHub();
    expect(after.length).toBeGreaterThan(0);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: (await scrape()).text, encoding: 'utf8' });
    if (check.error) return context.skip('promtool is not installed (Debian: apt-get install prometheus)');
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: '' });
  });
});

describe('who may scrape', () => {
  it('with a token: 401 (JSON) without it, with a wrong one or on the LAN; 200 with it', async () => {
    await fx.start(undefined, { consumers: [metricsConsumer({ token: METRICS_TOKEN })] });
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Bearer ${METRICS_TOKEN}x` }]) {
      const refused = await scrape(headers);
      expect(refused.status).toBe(401);
      expect(refused.type).toBe('application/json');
      expect(JSON.parse(refused.text)).toEqual({ error: expect.stringContaining('token') });
    }
    const scraped = await scrape({ Authorization: `Bearer ${METRICS_TOKEN}` });
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scraped.text).toContain('# TYPE discbridge_jobs_total counter');
  });

  it('without a token: as the dashboard is viewed; with view requiring sign-in, 401 until signed in', async () => {
    const dataDir = tempDir();
    const db = openDatabase(join(dataDir, 'hub.sqlite'));
    await new AccessControl(db, { viewRequiresLogin: true, secure: false }).setPassword('a long passphrase for tests');
    db.close();
    await fx.start(dataDir, { viewRequiresLogin: true, consumers: [metricsConsumer({})] });
    const refused = await scrape();
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toEqual({ error: 'Sign in to view this hub' });

    const login = await fetch(`${fx.hub.base}/api/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'a long passphrase for tests' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect((await scrape({ Cookie: cookie })).status).toBe(200);
  });

  it('answers only /metrics, and only GET', async () => {
    await fx.start(undefined, { consumers: [metricsConsumer({})] });
    expect((await fetch(`${fx.hub.base}/metrics/x`)).status).toBe(404);
    expect((await fetch(`${fx.hub.base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await scrape()).status).toBe(200);
  });
});
