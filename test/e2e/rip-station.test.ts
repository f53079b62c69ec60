// A disc goes into a drive and comes out as files, through the real agent, hub, HandBrakeCLI and dashboard socket.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentRecord, DriveRecord, FINISHED_JOB_STATES, JobDetail, JobPage, type JobUpdate, type TitleUpdate } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, probeDuration, toolProcesses, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffprobe', 'dvdauthor', 'genisoimage', 'isoinfo', 'blkid');
if (skipReason) console.warn(`Skipping end-to-end rip tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('rip station end to end', () => {
  let station: Station | undefined;
  let disc: string;
  let longDisc: string;
  let brokenDisc: string;

  beforeAll(() => {
    disc = makeDisc('e2e-three-titles', ['--label', 'E2E_MOVIE', '--title', '40:4', '--title', '15:2', '--title', '4:1']);
    longDisc = makeDisc('e2e-long', ['--label', 'E2E_LONG', '--title', '150:5']);
    brokenDisc = makeDisc('e2e-broken', ['--label', 'E2E_BROKEN', '--title', '20:2', '--broken']);
  }, 120_000);

  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  it('rips every long-enough title to a playable file while the dashboard follows', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'rip' });
    await station.start();
    const dashboard = await station.dashboard();

    const insertedAt = Date.now();
    station.drive.insert(disc);
    const inserted = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 10_000);
    expect(inserted).toMatchObject({ agent_id: station.agentId, drive_id: station.drive.device, volume_label: 'E2E_MOVIE', disc_type: 'dvd' });
    console.info(`insert → drive_event at the dashboard: ${dashboard.receivedAt(inserted) - insertedAt} ms`);

    const identifying = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'identifying', 10_000);
    const jobId = identifying.job_id;
    const discovered = await dashboard.waitFor((m) => m.type === 'titles_discovered', 20_000);
    expect(discovered).toMatchObject({ job_id: jobId });
    if (discovered.type !== 'titles_discovered') throw new Error('unreachable');
    expect(discovered.titles.map((t) => [t.title_id, t.duration_seconds, t.chapters, t.selected])).toEqual([
      [1, 40, 4, true], [2, 15, 2, true], [3, 4, 1, false],
    ]);
    for (const title of discovered.titles) expect(title.expected_size_bytes).toBeGreaterThan(0);

    const done = await dashboard.waitFor((m) => m.type === 'job_update' && m.job_id === jobId && FINISHED_JOB_STATES.has(m.state), 120_000);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });

    // Progress rose, with speed and ETA, and never went back.
    const updates = dashboard.messages('job_update').filter((m) => m.job_id === jobId);
    const percents = updates.flatMap((m) => (m.progress_percent === undefined ? [] : [m.progress_percent]));
    expect(percents.length).toBeGreaterThan(4);
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1] as number);
    const withSpeed = updates.filter((m) => m.current_speed !== undefined);
    expect(withSpeed.length).toBeGreaterThan(0);
    for (const m of withSpeed) {
      expect(Number.parseFloat(m.current_speed as string)).toBeGreaterThan(0);
      expect(m.eta_seconds).toBeGreaterThanOrEqual(0);
      expect(m.eta_seconds).toBeLessThan(600);
    }
    expect(updates.some((m) => m.current_title === 1 && m.total_titles === undefined)).toBe(true);
    expect(updates.find((m) => m.state === 'ripping' && m.total_titles !== undefined)?.total_titles).toBe(2);

    // Each selected title: ripping → completed with a file whose duration matches the title.
    const titleUpdates = dashboard.messages('title_update').filter((m) => m.job_id === jobId);
    expect(titleUpdates.some((m) => m.title_id === 3)).toBe(false);
    const folder = join(station.outputDir, 'E2E_MOVIE');
    for (const { title_id, duration_seconds } of discovered.titles.filter((t) => t.selected)) {
      const completed = titleUpdates.find((m): m is TitleUpdate => m.title_id === title_id && m.state === 'completed');
      expect(completed?.output_filename).toBe(`E2E_MOVIE_t0${title_id}.mkv`);
      expect(completed?.actual_size_bytes).toBeGreaterThan(0);
      const file = join(folder, completed!.output_filename!);
      expect(Math.abs(probeDuration(file) - duration_seconds)).toBeLessThan(1);
    }
    expect(readdirSync(folder).sort()).toEqual(['E2E_MOVIE_t01.mkv', 'E2E_MOVIE_t02.mkv']);

    // The hub's REST view agrees and speaks the same schema.
    const job = JobDetail.parse(await station.get(`/api/jobs/${jobId}`));
    expect(job).toMatchObject({ state: 'completed', agent_id: station.agentId, drive_id: station.drive.device, volume_label: 'E2E_MOVIE', total_titles: 2, output_dir: 'E2E_MOVIE' });
    expect(job.finished_at).toBeDefined();
    expect(job.titles.map((t) => [t.title_id, t.state, t.selected])).toEqual([[1, 'completed', true], [2, 'completed', true], [3, 'skipped', false]]);
    expect(JobPage.parse(await station.get('/api/jobs')).jobs[0]?.job_id).toBe(jobId);
    const agents = AgentRecord.array().parse(await station.get('/api/agents'));
    expect(agents).toEqual([expect.objectContaining({ agent_id: station.agentId, state: 'online' })]);

    // Eject through the hub: the drive empties and the dashboard hears it.
    const eject = await station.post(`/api/drives/${encodeURIComponent(station.agentId)}/${encodeURIComponent(station.drive.device)}/eject`);
    expect(eject).toEqual({ status: 200, body: { ok: true } });
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    expect(station.drive.hasDisc()).toBe(false);
    const drives = DriveRecord.array().parse(await station.get('/api/drives'));
    expect(drives).toEqual([expect.objectContaining({ drive_id: station.drive.device, has_disc: false, reachable: true })]);
    expect(drives[0]?.job_id).toBeUndefined();

    expect(dashboard.contractViolations).toEqual([]);
  }, 180_000);

  it('cancels mid-rip from the hub: job cancelled, no partial file, drive free again', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'cancel' });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(longDisc);

    const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && (m.progress_percent ?? 0) > 5, 60_000);
    const busy = await station.post(`/api/drives/${encodeURIComponent(station.agentId)}/${encodeURIComponent(station.drive.device)}/eject`);
    expect(busy).toEqual({ status: 409, body: { error: 'Drive is busy' } });

    const cancel = await station.post(`/api/jobs/${ripping.job_id}/cancel`);
    expect(cancel).toEqual({ status: 200, body: { ok: true } });
    const final = await dashboard.waitFor((m) => m.type === 'job_update' && m.job_id === ripping.job_id && FINISHED_JOB_STATES.has(m.state), 10_000);
    expect(final).toMatchObject({ state: 'cancelled', error_message: 'Cancelled by user' });
    await dashboard.waitFor((m) => m.type === 'title_update' && m.state === 'cancelled', 5000);

    // Nothing half-written is left, not even the disc's folder.
    expect(existsSync(station.outputDir) ? readdirSync(station.outputDir) : []).toEqual([]);
    expect((await station.post(`/api/jobs/${ripping.job_id}/cancel`)).status).toBe(409);
    const drives = DriveRecord.array().parse(await station.get('/api/drives'));
    expect(drives[0]?.job_id).toBeUndefined();
    // No HandBrakeCLI is left running for this drive.
    expect(toolProcesses('HandBrakeCLI', station.drive.device)).toEqual([]);

    // The drive takes the next disc as a new job.
    station.drive.eject();
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    station.drive.insert(disc);
    const next = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'identifying' && m.job_id !== ripping.job_id, 10_000);
    expect(next.job_id).toBeGreaterThan(ripping.job_id);
    expect(dashboard.contractViolations).toEqual([]);
  }, 180_000);

  it('fails a broken disc with a message and keeps serving', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'broken' });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(brokenDisc);

    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted' && m.volume_label === 'E2E_BROKEN', 10_000);
    const failed = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'failed', 60_000);
    expect(failed.error_message).toMatch(/HandBrakeCLI could not read the disc/);
    expect(failed.error_message).not.toMatch(/\/|at .*\(|Error:/); // no paths, no stack
    expect((await fetch(`${station.baseUrl}/health`)).status).toBe(200);
    expect(existsSync(station.outputDir) ? readdirSync(station.outputDir) : []).toEqual([]);

    // The same station rips a good disc right after.
    station.drive.eject();
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    station.drive.insert(disc);
    await dashboard.waitFor((m) => m.type === 'titles_discovered' && m.job_id !== failed.job_id, 30_000);
    expect(dashboard.contractViolations).toEqual([]);
  }, 180_000);
});
