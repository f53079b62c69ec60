// The agent through a fake drive source and a fake ripper, against a real hub on loopback with a real dashboard
// socket: discs in and out, one job per disc, two drives at once, a disc removed mid-job, a disc kind the station
// cannot rip, the eject when done, and the drive showing its last job until the disc comes out. No root, no tools.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriveRecord, type DashboardMessage, type JobUpdate } from '../../shared/index.js';
import { Agent } from '../../agent/agent.js';
import { DiscKinds } from '../../agent/kinds/disc-kind.js';
import { VideoDiscs } from '../../agent/kinds/video.js';
import type { Transcoder } from '../../agent/transcoders/transcoder.js';
import { TOKEN, connectDashboard, getJson, silentLogger, startHub, type Peer, type TestHub } from '../hub/helpers.js';
import { FakeDriveSource } from './fakes/fake-drive-source.js';
import { FakeRipper, title, type FakeRipperOptions } from './fakes/fake-ripper.js';

const DVD = { volumeLabel: 'MOVIE', discType: 'dvd' } as const;

/** These stations have no transcode slots, so the hub leases them nothing and this is never asked to work. */
const unusedTranscoder: Transcoder = {
  toolName: 'none',
  checkInstalled: async () => undefined,
  transcode: async () => { throw new Error('this station takes no transcode tasks'); },
};

interface Setup {
  hub: TestHub;
  agent: Agent;
  drives: FakeDriveSource;
  ripper: FakeRipper;
  dashboard: Peer;
  dir: string;
}

let setup: Setup | undefined;
afterEach(async () => {
  if (!setup) return;
  setup.dashboard.ws.close();
  await setup.agent.stop();
  await setup.hub.hub.stop();
  rmSync(setup.dir, { recursive: true, force: true });
  setup = undefined;
});

async function station(options: { ripper?: Partial<FakeRipperOptions>; ejectWhenDone?: boolean; maxJobs?: number; drives?: string[]; settleMs?: number } = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'discbridge-agent-'));
  const hub = await startHub(join(dir, 'hub'));
  const drives = new FakeDriveSource(options.drives ?? ['/dev/sr0', '/dev/sr1']);
  const ripper = new FakeRipper({ titles: [title(1, 3000), title(2, 30)], stepMs: 20, ...options.ripper });
  const agent = new Agent({
    agentId: 'station-1', name: 'Station 1', version: 'test', hubUrl: `ws://127.0.0.1:${hub.port}`, token: TOKEN, tls: {},
    dataDir: join(dir, 'agent'), outputDir: join(dir, 'rips'), minTitleSeconds: 120, settleMs: options.settleMs ?? 0, heartbeatMs: 60_000, stallSeconds: 300,
    autoRip: true, maxJobs: options.maxJobs ?? 0, keepPartialFiles: false, ejectWhenDone: options.ejectWhenDone ?? false, transcodeSlots: 0,
  }, {
    drives,
    kinds: new DiscKinds([new VideoDiscs(ripper, undefined)]),
    transcoder: unusedTranscoder,
  }, silentLogger);
  await agent.start();
  const dashboard = await connectDashboard(hub.port);
  setup = { hub, agent, drives, ripper, dashboard, dir };
  return setup;
}

const isJob = (state: JobUpdate['state']) => (m: DashboardMessage): boolean => m.type === 'job_update' && m.state === state;

async function drivesAtHub(s: Setup): Promise<DriveRecord[]> {
  return DriveRecord.array().parse((await getJson(`${s.hub.base}/api/drives`)).body);
}

describe('the agent', () => {
  it('rips an inserted disc; the drive then shows that job until the disc comes out', async () => {
    const s = await station();
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next((m: DashboardMessage) => m.type === 'drive_event' && m.event === 'inserted');
    const done = await s.dashboard.next<JobUpdate>(isJob('completed'), 10_000);
    expect(s.ripper.ripped).toEqual([1]);
    const [sr0] = await drivesAtHub(s);
    expect(sr0).toMatchObject({ drive_id: '/dev/sr0', has_disc: true, last_job_id: done.job_id });
    expect(sr0).not.toHaveProperty('job_id');
    s.drives.remove('/dev/sr0');
    await s.dashboard.next((m: DashboardMessage) => m.type === 'drive_event' && m.event === 'removed');
    expect((await drivesAtHub(s))[0]).not.toHaveProperty('last_job_id');
  });

  it('reports its link, its busy drives and its unsent events as health', async () => {
    const s = await station({ ripper: { behaviour: { 1: { kind: 'hold' } } } });
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next(isJob('ripping'), 5000);
    while (s.ripper.holding === 0) await new Promise((r) => setTimeout(r, 10));
    expect(s.agent.health()).toMatchObject({
      hub_connected: true, jobs_running: 1,
      drives: [{ drive_id: '/dev/sr0', has_disc: true, busy: true }, { drive_id: '/dev/sr1', has_disc: false, busy: false }],
    });
    await s.hub.hub.stop();
    const deadline = Date.now() + 5000;
    while (s.agent.health().hub_connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    s.ripper.release();
    while (s.agent.health().jobs_running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(s.agent.health()).toMatchObject({ hub_connected: false, jobs_running: 0 });
    expect(s.agent.health().outbox).toBeGreaterThan(0);
  });

  it('rips two drives at once, each job on its own drive', async () => {
    const s = await station({ ripper: { behaviour: { 1: { kind: 'hold' } } } });
    s.drives.insert('/dev/sr0', DVD);
    s.drives.insert('/dev/sr1', { volumeLabel: 'OTHER', discType: 'dvd' });
    const deadline = Date.now() + 5000;
    while (s.ripper.started.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Both began before either finished: neither drive waited for the other.
    expect(s.ripper.started).toEqual([1, 1]);
    expect(s.ripper.ripped).toEqual([]);
    while (s.ripper.holding < 2) await new Promise((r) => setTimeout(r, 10));
    s.ripper.release();
    const first = await s.dashboard.next<JobUpdate>(isJob('completed'), 10_000);
    const second = await s.dashboard.next<JobUpdate>(isJob('completed'), 10_000);
    expect(new Set([first.job_id, second.job_id]).size).toBe(2);
    const jobs = (await getJson(`${s.hub.base}/api/jobs`)).body.jobs as { drive_id: string; volume_label: string; output_dir: string }[];
    expect(jobs.map((j) => [j.drive_id, j.volume_label, j.output_dir]).sort()).toEqual([['/dev/sr0', 'MOVIE', 'MOVIE'], ['/dev/sr1', 'OTHER', 'OTHER']]);
  });

  it('fails the job of a disc taken out mid-rip, with that reason, and takes the next disc', async () => {
    const s = await station({ ripper: { behaviour: { 1: { kind: 'hold' } } } });
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next(isJob('ripping'), 5000);
    s.drives.remove('/dev/sr0');
    const failed = await s.dashboard.next<JobUpdate>(isJob('failed'), 5000);
    expect(failed).toMatchObject({ error_message: 'The disc was removed during the job', error_code: 'disc_removed' });
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next((m: DashboardMessage) => m.type === 'job_update' && m.state === 'identifying' && m.job_id !== failed.job_id, 5000);
  });

  it('gives a disc swapped in at once its own job, once the old disc\'s job has ended', async () => {
    const s = await station({ ripper: { behaviour: { 1: { kind: 'hold' } } } });
    s.drives.insert('/dev/sr0', DVD);
    const first = await s.dashboard.next<JobUpdate>(isJob('ripping'), 5000);
    // As the Linux source reports a swap: removed and inserted in one poll, while the old job is still ripping.
    s.drives.remove('/dev/sr0');
    s.drives.insert('/dev/sr0', { volumeLabel: 'SEQUEL', discType: 'dvd' });
    const failed = await s.dashboard.next<JobUpdate>(isJob('failed'), 5000);
    expect(failed).toMatchObject({ job_id: first.job_id, error_code: 'disc_removed' });
    const next = await s.dashboard.next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'identifying' && m.job_id !== first.job_id, 5000);
    expect(next.volume_label).toBe('SEQUEL');
  });

  it('tells a disc kind it cannot rip as a failed job, and refuses a disc over the job limit', async () => {
    const s = await station({ maxJobs: 1, ripper: { behaviour: { 1: { kind: 'hold' } } } });
    s.drives.insert('/dev/sr0', { volumeLabel: '', discType: 'cd' });
    expect((await s.dashboard.next<JobUpdate>(isJob('failed'), 5000)).error_message).toBe('This station cannot rip audio CDs yet');
    s.drives.insert('/dev/sr1', DVD);
    await s.dashboard.next(isJob('ripping'), 5000);
    s.drives.remove('/dev/sr0');
    s.drives.insert('/dev/sr0', DVD);
    const busy = await s.dashboard.next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'failed' && /busy/.test(m.error_message ?? ''), 5000);
    expect(busy.error_message).toMatch(/^Station is busy: 1 job\(s\) running, the limit is 1/);
  });

  it('tells an insert at once but starts its job only once the disc has stayed in', async () => {
    const s = await station({ settleMs: 300 });
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next((m: DashboardMessage) => m.type === 'drive_event' && m.event === 'inserted', 1000);
    s.drives.remove('/dev/sr0'); // out again before it settled: no job
    s.drives.insert('/dev/sr0', DVD);
    const started = await s.dashboard.next<JobUpdate>(isJob('identifying'), 3000);
    await s.dashboard.next(isJob('completed'), 10_000);
    expect(s.dashboard.pending().filter((m) => (m as DashboardMessage).type === 'job_update' && (m as JobUpdate).job_id !== started.job_id)).toEqual([]);
    expect(s.ripper.ripped).toEqual([1]);
  });

  it('with eject when done, opens the tray after the job completes', async () => {
    const s = await station({ ejectWhenDone: true });
    s.drives.insert('/dev/sr0', DVD);
    await s.dashboard.next(isJob('completed'), 10_000);
    await s.dashboard.next((m: DashboardMessage) => m.type === 'drive_event' && m.event === 'removed', 5000);
    expect(s.drives.ejects).toEqual(['/dev/sr0']);
  });

  it('answers the hub\'s eject with the drive source\'s refusal', async () => {
    const s = await station();
    s.drives.insert('/dev/sr0', { volumeLabel: 'X', discType: 'dvd' });
    await s.dashboard.next(isJob('completed'), 10_000);
    s.drives.ejectError = 'eject failed (exit code 1): tray locked';
    const answer = await getJson(`${s.hub.base}/api/drives/station-1/${encodeURIComponent('/dev/sr0')}/eject`, { method: 'POST' });
    expect(answer).toEqual({ status: 409, body: { error: 'The drive could not eject' } });
  });
});
