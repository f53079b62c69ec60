// What a person does from a dashboard, through the REST API to the real agent: choose titles before ripping,
// rip now, rescan, eject a waiting disc, change the selection during a rip, read the job's log; and the refusals.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, JobDetail, JobLogPage, type JobUpdate } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI');
if (skipReason) console.warn(`Skipping command tests: ${skipReason}`);

async function postJson(station: Station, path: string, body?: unknown) {
  const response = await fetch(station.baseUrl + path, {
    method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe.skipIf(skipReason !== undefined)('commands from the dashboard', () => {
  let station: Station | undefined;
  let disc: string;
  beforeAll(() => {
    disc = makeDisc('e2e-three-small', ['--label', 'E2E_CHOOSE', '--title', '20:2', '--title', '15:1', '--title', '4:1', '--size', '352x240']);
  }, 60_000);
  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  it('waits in ready, takes a new selection, rips only that, and keeps a log', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'choose', agentEnv: { DISCBRIDGE_AUTO_RIP: 'false' } });
    await station.start();
    const dashboard = await station.dashboard();
    const drivePath = `/api/drives/${encodeURIComponent(station.agentId)}/${encodeURIComponent(station.drive.device)}`;
    station.drive.insert(disc);
    const ready = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ready', 30_000);
    expect(ready.total_titles).toBe(2);

    expect(await postJson(station, `/api/jobs/${ready.job_id}/titles`, { selected: [9] })).toEqual({ status: 409, body: { error: 'The disc has no title 9' } });
    expect((await postJson(station, `/api/jobs/${ready.job_id}/titles`, { selected: 'all' })).status).toBe(400);
    expect(await postJson(station, `/api/jobs/${ready.job_id}/titles`, { selected: [2] })).toEqual({ status: 200, body: { ok: true } });
    await dashboard.waitFor((m) => m.type === 'title_update' && m.title_id === 1 && m.state === 'skipped', 5000);
    expect(JobDetail.parse(await station.get(`/api/jobs/${ready.job_id}`)).titles.map((t) => [t.title_id, t.selected])).toEqual([[1, false], [2, true], [3, false]]);

    expect(await postJson(station, `${drivePath}/rip`, {})).toEqual({ status: 200, body: { ok: true } });
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === ready.job_id && FINISHED_JOB_STATES.has(m.state), 60_000);
    expect(done.state).toBe('completed');
    expect(readdirSync(join(station.outputDir, 'E2E_CHOOSE'))).toEqual(['E2E_CHOOSE_t02.mkv']);

    const log = JobLogPage.parse(await station.get(`/api/jobs/${ready.job_id}/log`));
    const text = log.lines.map((l) => l.text);
    expect(text[0]).toMatch(/^Reading the titles of "E2E_CHOOSE" in \/dev\/loop\d+ with HandBrakeCLI$/);
    expect(text).toContain('Waiting for "rip now"');
    expect(text).toContain('Selection changed: titles 2');
    expect(text.some((t) => t.startsWith('Ripping title 2 (0:00:15, 1 chapters)'))).toBe(true);
    expect(text.at(-1)).toBe('Done: 1 file(s) in E2E_CHOOSE');
    expect(dashboard.messages('job_log').flatMap((m) => m.lines.map((l) => l.text))).toEqual(text);

    // Rescan: the titles are read again and the new job waits; eject ends it and empties the drive.
    expect(await postJson(station, `${drivePath}/rescan`)).toEqual({ status: 200, body: { ok: true } });
    const rescanned = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ready' && m.job_id !== ready.job_id, 30_000);
    expect(await postJson(station, `${drivePath}/eject`)).toEqual({ status: 200, body: { ok: true } });
    const ended = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === rescanned.job_id && FINISHED_JOB_STATES.has(m.state), 10_000);
    expect(ended).toMatchObject({ state: 'cancelled', error_message: 'The disc was ejected' });
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    expect(dashboard.contractViolations).toEqual([]);
  }, 120_000);

  it('rips a disc that was already in the drive on request, and refuses what it cannot do', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'rip-now' });
    station.drive.insert(disc); // in the drive before the agent starts: not ripped on its own
    await station.start();
    const dashboard = await station.dashboard();
    const drivePath = `/api/drives/${encodeURIComponent(station.agentId)}/${encodeURIComponent(station.drive.device)}`;
    await new Promise((r) => setTimeout(r, 1000));
    expect(dashboard.messages('job_update')).toEqual([]);

    expect(await postJson(station, `${drivePath}/rip`, { titles: [1, 3] })).toEqual({ status: 200, body: { ok: true } });
    const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ripping', 30_000);
    expect(await postJson(station, `${drivePath}/rip`)).toEqual({ status: 409, body: { error: 'Drive is busy' } });
    expect(await postJson(station, `${drivePath}/rescan`)).toEqual({ status: 409, body: { error: 'Drive is busy' } });
    expect((await postJson(station, '/api/drives/nobody/%2Fdev%2Fsr9/rip')).status).toBe(404);
    expect((await postJson(station, `${drivePath}/rip`, { titles: [1], extra: true })).status).toBe(400);
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === ripping.job_id && FINISHED_JOB_STATES.has(m.state), 60_000);
    expect(done.state).toBe('completed');
    expect(readdirSync(join(station.outputDir, 'E2E_CHOOSE')).sort()).toEqual(['E2E_CHOOSE_t01.mkv', 'E2E_CHOOSE_t03.mkv']);
    expect(await postJson(station, `/api/jobs/${ripping.job_id}/titles`, { selected: [2] }))
      .toEqual({ status: 409, body: { error: 'The job has finished; its selection can no longer change' } });
    expect(dashboard.contractViolations).toEqual([]);
  }, 120_000);
});
