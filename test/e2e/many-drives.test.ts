// Several discs at once, through the real agents, hub, HandBrakeCLI and dashboard socket: two drives on one station,
// then two stations on one hub. Each disc rips while the other does, and nothing of one lands with the other.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentRecord, DriveRecord, FINISHED_JOB_STATES, JobPage, type DashboardMessage, type JobUpdate } from '../../shared/index.js';
import { type DashboardClient, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, probeDuration, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffprobe', 'dvdauthor', 'genisoimage', 'isoinfo', 'blkid');
if (skipReason) console.warn(`Skipping end-to-end many-drives tests: ${skipReason}`);

const TITLE_SECONDS = 20;

/** One disc going into one drive of one agent. */
interface Slot {
  agentId: string;
  drive: VirtualDrive;
  outputDir: string;
  disc: string;
  label: string;
}

interface Ripped {
  slot: Slot;
  jobId: number;
  /** Indexes in dashboard.received, and ms after the insert. */
  rippingIndex: number;
  completedIndex: number;
  rippingMs: number;
  completedMs: number;
}

function isJobUpdate(m: DashboardMessage): m is JobUpdate {
  return m.type === 'job_update';
}

/**
 * Inserts every slot's disc at the same moment, follows each job to its end, and checks that they ripped at the same
 * time (every job was ripping before the first one completed) and that their events, files and records stay apart.
 */
async function ripAtOnce(station: Station, dashboard: DashboardClient, slots: Slot[]): Promise<Ripped[]> {
  const since = dashboard.received.length;
  const indexOf = (message: DashboardMessage): number => dashboard.received.findIndex((r) => r.message === message);
  const insertedAt = Date.now();
  for (const slot of slots) slot.drive.insert(slot.disc);

  const ripped = await Promise.all(slots.map(async (slot): Promise<Ripped> => {
    const first = await dashboard.waitFor((m): m is JobUpdate => isJobUpdate(m) && m.agent_id === slot.agentId && m.drive_id === slot.drive.device, 15_000, since);
    expect(first).toMatchObject({ state: 'identifying', volume_label: slot.label });
    const ofJob = (m: DashboardMessage): m is JobUpdate => isJobUpdate(m) && m.job_id === first.job_id;
    const ripping = await dashboard.waitFor((m): m is JobUpdate => ofJob(m) && m.state === 'ripping', 20_000, since);
    const done = await dashboard.waitFor((m): m is JobUpdate => ofJob(m) && FINISHED_JOB_STATES.has(m.state), 40_000, since);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });
    return {
      slot, jobId: first.job_id, rippingIndex: indexOf(ripping), completedIndex: indexOf(done),
      rippingMs: dashboard.receivedAt(ripping) - insertedAt, completedMs: dashboard.receivedAt(done) - insertedAt,
    };
  }));
  console.info(ripped.map((r) => `${r.slot.label} (job ${r.jobId}): ripping ${r.rippingMs} ms, completed ${r.completedMs} ms after the insert`).join('; '));

  // They overlapped: the last job to start ripping did so before the first one completed.
  const lastRipping = Math.max(...ripped.map((r) => r.rippingIndex));
  const firstCompleted = Math.min(...ripped.map((r) => r.completedIndex));
  expect(lastRipping, 'index of the last job_update "ripping" vs of the first "completed"').toBeLessThan(firstCompleted);
  // ...and each made progress while the other was still ripping, not one after the other.
  for (const r of ripped) {
    const progressDuringOverlap = dashboard.received.slice(lastRipping + 1, firstCompleted)
      .filter(({ message: m }) => isJobUpdate(m) && m.job_id === r.jobId && m.state === 'ripping' && (m.progress_percent ?? 0) > 0);
    expect(progressDuringOverlap.length, `progress updates of ${r.slot.label} while both ripped`).toBeGreaterThan(0);
  }
  expect(new Set(ripped.map((r) => r.jobId)).size).toBe(slots.length);

  // Every job event names one of these jobs, and what it says belongs to that job's own agent, drive and disc.
  const received = dashboard.received.slice(since).map((r) => r.message);
  const byJob = new Map(ripped.map((r) => [r.jobId, r.slot]));
  for (const m of received) {
    if (m.type !== 'job_update' && m.type !== 'title_update' && m.type !== 'titles_discovered') continue;
    const slot = byJob.get(m.job_id);
    expect(slot, `${m.type} of an unknown job ${m.job_id}`).toBeDefined();
    expect(m.agent_id).toBe(slot!.agentId);
    if (m.type === 'job_update') {
      if (m.drive_id !== undefined) expect(m.drive_id).toBe(slot!.drive.device);
      if (m.volume_label !== undefined) expect(m.volume_label).toBe(slot!.label);
      if (m.output_dir !== undefined) expect(m.output_dir).toBe(slot!.label);
    }
    if (m.type === 'title_update' && m.output_filename !== undefined) expect(m.output_filename).toBe(`${slot!.label}_t01.mkv`);
    if (m.type === 'titles_discovered') expect(m.titles.map((t) => [t.title_id, t.duration_seconds, t.selected])).toEqual([[1, TITLE_SECONDS, true]]);
  }
  for (const r of ripped) {
    expect(received.some((m) => m.type === 'title_update' && m.job_id === r.jobId && m.state === 'completed')).toBe(true);
  }

  // Each disc's folder holds its own file only, as long as its title.
  for (const { slot } of ripped) {
    const folder = join(slot.outputDir, slot.label);
    expect(readdirSync(folder)).toEqual([`${slot.label}_t01.mkv`]);
    expect(Math.abs(probeDuration(join(folder, `${slot.label}_t01.mkv`)) - TITLE_SECONDS)).toBeLessThan(1);
  }

  // The hub's REST view: every drive idle with its disc, every job completed with its own agent, drive and label.
  const drives = DriveRecord.array().parse(await station.get('/api/drives'));
  expect(drives.map((d) => [d.agent_id, d.drive_id, d.has_disc, d.volume_label, d.job_id, d.reachable]).sort()).toEqual(
    slots.map((s) => [s.agentId, s.drive.device, true, s.label, undefined, true]).sort(),
  );
  const jobs = JobPage.parse(await station.get('/api/jobs')).jobs;
  expect(jobs.map((j) => [j.job_id, j.state, j.agent_id, j.drive_id, j.volume_label]).sort()).toEqual(
    ripped.map((r) => [r.jobId, 'completed', r.slot.agentId, r.slot.drive.device, r.slot.label]).sort(),
  );
  expect(dashboard.contractViolations).toEqual([]);
  return ripped;
}

describe.skipIf(skipReason !== undefined)('many drives at once', () => {
  let station: Station | undefined;
  let discA: string;
  let discB: string;

  beforeAll(() => {
    discA = makeDisc('e2e-many-a', ['--label', 'MANY_A', '--title', `${TITLE_SECONDS}:2`, '--size', '352x240']);
    discB = makeDisc('e2e-many-b', ['--label', 'MANY_B', '--title', `${TITLE_SECONDS}:2`, '--size', '352x240']);
  }, 60_000);

  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  it('rips a disc in each of two drives of one station at the same time, apart', async () => {
    station = new Station([VirtualDrive.reserve(), VirtualDrive.reserve()], { name: 'two-drives' });
    await station.start();
    const dashboard = await station.dashboard();
    const [driveA, driveB] = station.drives as [VirtualDrive, VirtualDrive];
    expect(driveA.device).not.toBe(driveB.device);

    await ripAtOnce(station, dashboard, [
      { agentId: station.agentId, drive: driveA, outputDir: station.outputDir, disc: discA, label: 'MANY_A' },
      { agentId: station.agentId, drive: driveB, outputDir: station.outputDir, disc: discB, label: 'MANY_B' },
    ]);
    expect(readdirSync(station.outputDir).sort()).toEqual(['MANY_A', 'MANY_B']);
  }, 60_000);

  it('rips on two stations of one hub at the same time, each into its own folder', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'two-stations' });
    await station.start();
    const second = await station.startExtraAgent({ name: 'second', drives: VirtualDrive.reserve() });
    expect(second.agentId).not.toBe(station.agentId);
    const agents = AgentRecord.array().parse(await station.get('/api/agents'));
    expect(agents.map((a) => [a.agent_id, a.state]).sort()).toEqual([[station.agentId, 'online'], [second.agentId, 'online']].sort());
    const dashboard = await station.dashboard();

    await ripAtOnce(station, dashboard, [
      { agentId: station.agentId, drive: station.drive, outputDir: station.outputDir, disc: discA, label: 'MANY_A' },
      { agentId: second.agentId, drive: second.drive, outputDir: second.outputDir, disc: discB, label: 'MANY_B' },
    ]);
    expect(readdirSync(station.outputDir)).toEqual(['MANY_A']);
    expect(readdirSync(second.outputDir)).toEqual(['MANY_B']);
  }, 60_000);
});
