// Protocol 3 on a real Hub over loopback: a silent client still gets protocol 2; subscriptions route by station,
// drive, jobs and logs with each station's own revisions; commands get replies with REST's checks and the station's
// own refusals; ping, snapshot (socket and REST), the progress interval, /ws/status, bad requests; and the example
// client, scripts/watch-events.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Snapshot, type StationEvent } from '../../../shared/index.js';
import { AccessControl } from '../../../hub/auth/access.js';
import { openDatabase } from '../../../hub/store/database.js';
import { HubFixture, eventEnvelope, getJson, type Peer } from '../helpers.js';

const fx = new HubFixture();
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

const twoDrives = [
  { drive_id: '/dev/sr0', has_disc: true, volume_label: 'FIRST', disc_type: 'dvd' as const, busy: false },
  { drive_id: '/dev/sr1', has_disc: false, busy: false },
];

/** Job `jobId` on `drive` of `agentId`, as a station sends it, up to ripping, with a log line. */
function jobStart(agentId: string, jobId: number, drive: string): StationEvent[] {
  const job = { agent_id: agentId, job_id: jobId } as const;
  return [
    { type: 'drive_event', agent_id: agentId, drive_id: drive, event: 'inserted', volume_label: `DISC_${jobId}`, disc_type: 'dvd' },
    { type: 'job_update', ...job, state: 'identifying', drive_id: drive, volume_label: `DISC_${jobId}`, disc_type: 'dvd' },
    { type: 'titles_discovered', ...job, titles: [{ title_id: 1, duration_seconds: 600, chapters: 2, expected_size_bytes: 1_000_000, selected: true }] },
    { type: 'job_update', ...job, state: 'ripping', progress_percent: 0 },
    { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 0 },
    { type: 'job_log', ...job, lines: [{ at: 1_700_000_000_000, level: 'info', text: `Ripping job ${jobId}` }] },
  ];
}

/** A protocol-3 client: it asked for `topics` and got its answer. */
async function subscribed(topics: string[], extra: Record<string, unknown> = {}): Promise<Peer> {
  const client = await fx.dashboard();
  client.send({ type: 'subscribe', topics, ...extra });
  await client.next((m) => m.type === 'subscribed');
  return client;
}

/** Sends events in order from sequence `first`; returns what `witness` (a protocol-2 client) got of them, once it has all. */
async function send(agent: Peer, witness: Peer, first: number, events: StationEvent[]): Promise<Record<string, unknown>[]> {
  events.forEach((event, index) => agent.send(eventEnvelope(first + index, event)));
  const agentId = events[0]?.agent_id;
  const got: Record<string, unknown>[] = [];
  for (const _ of events) got.push(await witness.next((m) => m.agent_id === agentId && m.type !== 'agent_update'));
  return got;
}

/** What a client has queued: a WebSocket ping's pong comes after every frame the hub sent before it. */
async function received(client: Peer): Promise<Record<string, unknown>[]> {
  await client.ping();
  return client.pending() as Record<string, unknown>[];
}

describe('who gets what', () => {
  it('a silent client gets every event with the hub revision; a station\'s follower gets only its events, numbered by the station', async () => {
    const everything = await fx.dashboard();
    const one = await fx.agent('station-1', twoDrives);
    const two = await fx.agent('station-2', twoDrives);
    const follower = await subscribed(['station:station-2']);
    await everything.next((m) => m.type === 'agent_update' && m.agent_id === 'station-2');

    const all = [
      ...await send(one, everything, 1, jobStart('station-1', 1, '/dev/sr0')),
      ...await send(two, everything, 1, jobStart('station-2', 1, '/dev/sr0')),
      ...await send(one, everything, 7, [{ type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'completed', match_progress: 100 }]),
      ...await send(two, everything, 7, [{ type: 'title_update', agent_id: 'station-2', job_id: 1, title_id: 1, state: 'completed', match_progress: 100 }]),
    ];

    // Protocol 2 as before: both stations, the logs, one hub-wide revision without gaps.
    expect(new Set(all.map((m) => m.agent_id))).toEqual(new Set(['station-1', 'station-2']));
    expect(all.some((m) => m.type === 'job_log')).toBe(true);
    const hubRevs = all.map((m) => m.rev as number);
    expect(hubRevs).toEqual(hubRevs.map((_, i) => (hubRevs[0] as number) + i));

    // Protocol 3: station 2 only, no log lines (those have their own topic), its own revisions 1… after its agent_update.
    const mine = await received(follower);
    expect(new Set(mine.map((m) => m.agent_id))).toEqual(new Set(['station-2']));
    expect(mine.some((m) => m.type === 'job_log')).toBe(false);
    expect(mine.map((m) => m.type)).toEqual(['drive_event', 'job_update', 'titles_discovered', 'job_update', 'title_update', 'title_update']);
    // Its agent_update (online) was its revision 1, before this client subscribed; its events follow on without a gap.
    expect(mine.map((m) => m.rev)).toEqual([2, 3, 4, 5, 6, 8]);
    const late = await fx.dashboard();
    expect(late.frames[0]).toContain('"revisions":{"station-1":8,"station-2":8}');
  });

  it('a drive topic carries that drive\'s events and its jobs\' (titles too), and its station\'s agent_update; jobs and logs topics their own', async () => {
    const witness = await fx.dashboard();
    const agent = await fx.agent('station-1', twoDrives);
    const drive1 = await subscribed(['drive:station-1:/dev/sr1']);
    const jobs = await subscribed(['jobs']);
    const logs = await subscribed(['logs:2']);
    await send(agent, witness, 1, jobStart('station-1', 1, '/dev/sr0'));
    await send(agent, witness, 7, jobStart('station-1', 2, '/dev/sr1'));

    const onDrive = await received(drive1);
    expect(onDrive.every((m) => m.type !== 'job_log')).toBe(true);
    expect(onDrive.filter((m) => m.type === 'drive_event').map((m) => m.drive_id)).toEqual(['/dev/sr1']);
    // Hub job 2 is the one on /dev/sr1: its title events name no drive, and still reach the drive's followers.
    expect(new Set(onDrive.filter((m) => m.type !== 'drive_event').map((m) => m.job_id))).toEqual(new Set([2]));
    expect(onDrive.some((m) => m.type === 'title_update')).toBe(true);

    expect(new Set((await received(jobs)).map((m) => m.type))).toEqual(new Set(['job_update', 'titles_discovered', 'title_update']));
    expect(await received(logs)).toEqual([expect.objectContaining({ type: 'job_log', job_id: 2, lines: [expect.objectContaining({ text: 'Ripping job 2' })] })]);

    agent.ws.terminate();
    expect(await drive1.next((m) => m.type === 'agent_update')).toMatchObject({ agent_id: 'station-1', state: 'offline' });
    await witness.next((m) => m.type === 'agent_update' && m.state === 'offline');
    expect((await received(jobs)).some((m) => m.type === 'agent_update')).toBe(false);
  });

  it('unsubscribing leaves the rest; leaving `all` before any subscribe leaves nothing', async () => {
    const witness = await fx.dashboard();
    const agent = await fx.agent('station-1', twoDrives);
    const client = await subscribed(['station:station-1', 'jobs']);
    client.send({ type: 'unsubscribe', topics: ['station:station-1'] });
    expect(await client.next((m) => m.type === 'unsubscribed')).toEqual({ type: 'unsubscribed', topics: ['station:station-1'] });
    const quiet = await fx.dashboard();
    quiet.send({ type: 'unsubscribe', topics: ['all'] });
    await quiet.next((m) => m.type === 'unsubscribed');
    await send(agent, witness, 1, jobStart('station-1', 1, '/dev/sr0'));
    expect((await received(client)).map((m) => m.type)).toEqual(['job_update', 'titles_discovered', 'job_update', 'title_update']);
    expect(await received(quiet)).toEqual([]);
  });

  it('limits progress to one per job or title per progress_interval_ms; state changes come at once', async () => {
    const witness = await fx.dashboard();
    const agent = await fx.agent('station-1', twoDrives);
    const phone = await subscribed(['all'], { progress_interval_ms: 400 });
    const desk = await subscribed(['all']);
    await send(agent, witness, 1, jobStart('station-1', 1, '/dev/sr0'));
    for (let step = 1; step <= 20; step++) {
      agent.send({ kind: 'progress', after_seq: 6, at: Date.now(), event: { type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'ripping', match_progress: step * 4 } });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    agent.send(eventEnvelope(7, { type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'completed', match_progress: 100 }));
    await witness.next((m) => m.type === 'title_update' && m.state === 'completed');
    await desk.next((m) => m.type === 'title_update' && m.state === 'completed');
    const progressOf = async (client: Peer) => (await received(client)).filter((m) => m.type === 'title_update' && m.state === 'ripping' && (m.match_progress as number) > 0);
    expect(await progressOf(desk)).toHaveLength(20);
    // About 1 s of progress at most one per 400 ms: 3 or 4 (the first goes at once), and the completion right away.
    expect(await phone.next((m) => m.type === 'title_update' && m.state === 'completed', 200)).toMatchObject({ match_progress: 100 });
    const limited = await progressOf(phone);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    expect(limited.length).toBeLessThanOrEqual(4);
    // A newer value replaced the held ones: the last progress it got is recent, not the first.
    expect(limited.at(-1)?.match_progress as number).toBeGreaterThan(50);
  });
});

describe('requests and replies', () => {
  it('runs a command and replies by id; the station\'s refusal and the hub\'s own checks come back as sentences', async () => {
    const agent = await fx.agent('station-1', twoDrives);
    const client = await subscribed(['drive:station-1:/dev/sr0']);
    client.send({ type: 'command', id: 'eject-1', command: 'eject', agent_id: 'station-1', drive_id: '/dev/sr0' });
    const sent = await agent.next<{ kind: string; id: string; command: unknown }>((m) => m.kind === 'command');
    expect(sent.command).toEqual({ name: 'eject', drive_id: '/dev/sr0' });
    agent.send({ kind: 'command_result', id: sent.id, ok: true });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'eject-1', result: { ok: true } });

    client.send({ type: 'command', id: 'rip-1', command: 'rip', agent_id: 'station-1', drive_id: '/dev/sr0', titles: [1] });
    const rip = await agent.next<{ kind: string; id: string; command: unknown }>((m) => m.kind === 'command');
    expect(rip.command).toEqual({ name: 'rip', drive_id: '/dev/sr0', titles: [1] });
    agent.send({ kind: 'command_result', id: rip.id, ok: false, error: 'Drive is busy' });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'rip-1', error: 'Drive is busy' });

    client.send({ type: 'command', id: 'x', command: 'rescan', agent_id: 'station-1', drive_id: '/dev/sr9' });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'x', error: 'No such drive' });
    client.send({ type: 'command', id: 'y', command: 'cancel', job_id: 99 });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'y', error: 'No such job' });
    client.send({ type: 'command', id: 'z', command: 'select_titles', job_id: 1 });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'z', error: 'select_titles needs job_id and titles' });
    client.send({ type: 'command', id: 'w', command: 'format_disk', agent_id: 'station-1' });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ message: expect.stringMatching(/^Invalid message at command/) });
  });

  it('refuses a command without the right to change, and a fifth command while four wait for their station', async () => {
    const agent = await fx.agent('station-1', twoDrives);
    const client = await subscribed(['all']);
    for (let i = 1; i <= 5; i++) client.send({ type: 'command', id: `e${i}`, command: 'eject', agent_id: 'station-1', drive_id: '/dev/sr0' });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'e5', error: 'Server is busy. Please try again later.' });
    const waiting = [];
    for (let i = 1; i <= 4; i++) waiting.push(await agent.next<{ kind: string; id: string }>((m) => m.kind === 'command'));
    for (const command of waiting) agent.send({ kind: 'command_result', id: command.id, ok: true });
    for (let i = 1; i <= 4; i++) await client.next((m) => m.type === 'reply' && m.id === `e${i}`);

    const db = openDatabase(join(fx.hub.dataDir, 'hub.sqlite'));
    await new AccessControl(db, { viewRequiresLogin: false, secure: false }).setPassword('correct horse battery');
    db.close();
    client.send({ type: 'command', id: 'after', command: 'eject', agent_id: 'station-1', drive_id: '/dev/sr0' });
    expect(await client.next((m) => m.type === 'reply')).toEqual({ type: 'reply', id: 'after', error: 'Sign in to make changes' });
  });

  it('answers ping with pong, and a snapshot with what a first render needs, on the socket and over REST', async () => {
    const witness = await fx.dashboard();
    const one = await fx.agent('station-1', twoDrives);
    const two = await fx.agent('station-2', twoDrives);
    await send(one, witness, 1, jobStart('station-1', 1, '/dev/sr0'));
    await send(two, witness, 1, jobStart('station-2', 1, '/dev/sr1'));
    const client = await subscribed(['station:station-2']);
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toEqual({ type: 'pong' });

    client.send({ type: 'snapshot' });
    const snapshot = Snapshot.parse(await client.next((m) => m.type === 'snapshot'));
    expect(snapshot.agents.map((a) => a.agent_id)).toEqual(['station-2']);
    expect(snapshot.drives.map((d) => d.drive_id)).toEqual(['/dev/sr0', '/dev/sr1']);
    expect(snapshot.running).toEqual([expect.objectContaining({ agent_id: 'station-2', drive_id: '/dev/sr1', state: 'ripping', titles: [expect.objectContaining({ title_id: 1 })] })]);
    expect(snapshot.history.jobs.map((j) => j.agent_id)).toEqual(['station-2']);
    expect(snapshot.revisions).toEqual({ 'station-2': 7 });

    const whole = await getJson(`${fx.hub.base}/api/snapshot`);
    expect(whole.status).toBe(200);
    const rest = Snapshot.omit({ type: true }).parse(whole.body);
    expect(rest.running.map((j) => j.agent_id).sort()).toEqual(['station-1', 'station-2']);
    expect(rest.revisions).toEqual({ 'station-1': 7, 'station-2': 7 });
    expect(rest.rev).toBe(14);
    expect((await getJson(`${fx.hub.base}/api/snapshot?agent_id=station-1`)).body.agents).toHaveLength(1);
    expect(await getJson(`${fx.hub.base}/api/snapshot?agent_id=../x`)).toMatchObject({ status: 400 });
  });

  it('says what is wrong with a subscription: a topic of no known form, too many topics; a station not seen yet is fine', async () => {
    const client = await fx.dashboard();
    client.send({ type: 'subscribe', topics: ['station:later-1', 'drive:later-1:D:'] });
    expect(await client.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', topics: ['station:later-1', 'drive:later-1:D:'] });
    client.send({ type: 'subscribe', topics: ['station:ok', 'weather'] });
    expect(await client.next((m) => m.type === 'error')).toEqual({
      type: 'error', message: 'Not a topic: "weather" (use all, jobs, station:<id>, drive:<id>:<drive> or logs:<job id>)',
    });
    client.send({ type: 'subscribe', topics: ['logs:abc'] });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ message: expect.stringContaining('"logs:abc"') });
    client.send({ type: 'subscribe', topics: Array.from({ length: 99 }, (_, i) => `station:s${i}`) });
    expect(await client.next((m) => m.type === 'error')).toEqual({ type: 'error', message: 'A client may follow at most 100 topics' });
    // Nothing of a refused request was taken.
    const status = await getJson(`${fx.hub.base}/ws/status`);
    expect(status.body).toMatchObject({ by_protocol: { 3: 1 }, topics: { 'station:later-1': 1, 'drive:later-1:D:': 1 } });
    expect(Object.keys(status.body.topics)).toHaveLength(2);
  });

  it('/ws/status counts connections by protocol and topic', async () => {
    await fx.dashboard();
    await subscribed(['jobs', 'station:a']);
    await subscribed(['jobs']);
    const fresh = await fx.dashboard();
    fresh.send({ type: 'ping' });
    await fresh.next((m) => m.type === 'pong');
    expect((await getJson(`${fx.hub.base}/ws/status`)).body).toEqual({
      connections: 4, by_protocol: { 2: 1, 3: 3 }, topics: { jobs: 2, 'station:a': 1, all: 1 }, slow: 0, dropped: 0,
    });
  });
});

describe('scripts/watch-events, the example client', () => {
  const SCRIPT = new URL('../../../scripts/watch-events', import.meta.url).pathname;

  it('follows one drive, ejects it on the same socket and prints the events and the reply', async () => {
    const witness = await fx.dashboard();
    const agent = await fx.agent('station-1', twoDrives);
    const run = execa(SCRIPT, ['--hub', `ws://127.0.0.1:${fx.hub.port}`, '--topic', 'drive:station-1:/dev/sr1', '--eject', 'station-1:/dev/sr1'], { reject: false });
    const command = await agent.next<{ kind: string; id: string; command: unknown }>((m) => m.kind === 'command', 5000);
    expect(command.command).toEqual({ name: 'eject', drive_id: '/dev/sr1' });
    // The station answers after telling of both drives: only /dev/sr1's event reaches the script.
    await send(agent, witness, 1, [
      { type: 'drive_event', agent_id: 'station-1', drive_id: '/dev/sr0', event: 'removed', volume_label: '' },
      { type: 'drive_event', agent_id: 'station-1', drive_id: '/dev/sr1', event: 'removed', volume_label: '' },
    ]);
    agent.send({ kind: 'command_result', id: command.id, ok: true });
    const { exitCode, stdout, stderr } = await run;
    expect(stderr).toContain('following drive:station-1:/dev/sr1');
    expect(exitCode).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ type: 'drive_event', drive_id: '/dev/sr1', event: 'removed' }),
      { type: 'reply', id: 'eject-1', result: { ok: true } },
    ]);
  });
});
