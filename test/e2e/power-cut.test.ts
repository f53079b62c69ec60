// Power cuts, simulated honestly (see cuttable-disk.ts): at the hub, what it acknowledged must be there after the cut,
// since the station deleted it from its outbox; at a station, no file it announced as done may come back truncated.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, JobDetail, type JobUpdate } from '../../shared/index.js';
import { CuttableDisk } from './cuttable-disk.js';
import {
  Station, VirtualDrive, loopDevicesUnavailable, makeDisc, probeDuration, toolProcesses, toolsUnavailable, waitFor,
} from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'mkfs.ext4', 'ffprobe');
if (skipReason) console.warn(`Skipping power-cut tests: ${skipReason}`);

const TITLES = ['--title', '20:1', '--title', '21:1', '--title', '22:1', '--size', '352x240'];

async function job(station: Station, jobId: number): Promise<JobDetail> {
  return JobDetail.parse(await station.get(`/api/jobs/${jobId}`));
}

describe.skipIf(skipReason !== undefined)('power cuts', () => {
  let station: Station | undefined;
  let disk: CuttableDisk | undefined;
  let diskDir: string | undefined;
  let threeTitles: string;

  beforeAll(() => {
    threeTitles = makeDisc('e2e-power', ['--label', 'E2E_POWER', ...TITLES]);
  }, 120_000);

  afterEach(async () => {
    for (const agent of station?.agents ?? []) await agent.process?.stop('SIGKILL');
    await station?.hub?.stop('SIGKILL');
    for (const pid of toolProcesses('HandBrakeCLI', station?.drive.device ?? '')) process.kill(pid, 'SIGKILL');
    disk?.destroy();
    await station?.stop();
    if (diskDir) rmSync(diskDir, { recursive: true, force: true });
    station = disk = diskDir = undefined;
  });

  it('at the hub, three times in one job: every acknowledged event is there after each cut, none lost or doubled', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'power-hub' });
    disk = CuttableDisk.create(join(station.dir, 'hub'), join(station.dir, 'hub-disk'));
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(threeTitles);
    const { job_id: jobId } = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update', 30_000);

    for (let cut = 1; cut <= 3; cut++) {
      // Cut right after the hub acknowledged title `cut` completed: the station no longer holds that event.
      await waitFor(async () => (await job(station!, jobId)).titles[cut - 1]?.state === 'completed' && station!.outboxSize() === 0, 120_000,
        `title ${cut} completed and acknowledged`);
      await station.hub!.stop('SIGKILL');
      disk.cut();
      await station.startHub();
    }

    await waitFor(async () => (await job(station!, jobId)).state === 'completed', 60_000, 'the job to complete at the hub');
    expect((await job(station, jobId)).titles.map((t) => t.state)).toEqual(['completed', 'completed', 'completed']);
    await waitFor(() => station!.outboxSize() === 0, 10_000, 'every event acknowledged');
    await station.agent!.stop();
    await station.hub!.stop();
    const { hub, agentLast } = station.eventSequences();
    expect(agentLast).toBeGreaterThan(10);
    expect(hub).toEqual(Array.from({ length: agentLast }, (_, i) => i + 1));
  }, 240_000);

  it('at a station, twice: no file announced as done comes back truncated, the job is interrupted, the next disc rips', async () => {
    diskDir = mkdtempSync(join(tmpdir(), 'discbridge-power-station-'));
    const mount = join(diskDir, 'mnt');
    disk = CuttableDisk.create(mount, join(diskDir, 'images'));
    const outputDir = join(mount, 'rips');
    station = new Station(VirtualDrive.reserve(), {
      name: 'power-station', agentEnv: { DISCBRIDGE_DATA_DIR: join(mount, 'data'), DISCBRIDGE_OUTPUT_DIR: outputDir },
    });
    await station.start();
    const dashboard = await station.dashboard();

    for (let round = 1; round <= 2; round++) {
      const since = dashboard.received.length;
      station.drive.insert(threeTitles);
      const { job_id: jobId } = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update', 30_000, since);
      await waitFor(async () => (await job(station!, jobId)).titles[0]?.state === 'completed', 120_000, `round ${round}: title 1 completed`);
      // The power goes: the agent and the tool it runs die at once, and the disk keeps only what reached it.
      const tools = toolProcesses('HandBrakeCLI', station.drive.device);
      await station.agent!.stop('SIGKILL');
      for (const pid of tools) process.kill(pid, 'SIGKILL');
      await waitFor(() => toolProcesses('HandBrakeCLI', station!.drive.device).length === 0, 5000, 'the tool to die');
      disk.cut();

      const announced = await job(station, jobId);
      const done = announced.titles.filter((t) => t.state === 'completed');
      expect(done.length).toBeGreaterThan(0);
      for (const title of done) {
        const file = join(outputDir, announced.output_dir!, title.output_filename!);
        expect(existsSync(file), `${title.output_filename} exists after the cut`).toBe(true);
        expect(statSync(file).size).toBe(title.actual_size_bytes);
        expect(Math.abs(probeDuration(file) - title.duration_seconds!)).toBeLessThan(1.5);
      }

      await station.startAgent();
      await waitFor(async () => FINISHED_JOB_STATES.has((await job(station!, jobId)).state), 30_000, `round ${round}: the cut job to end`);
      expect(['interrupted', 'completed']).toContain((await job(station, jobId)).state);
      station.drive.eject();
      await waitFor(async () => !(await station!.get<{ has_disc: boolean }[]>('/api/drives'))[0]?.has_disc, 10_000, 'the drive empty');
    }

    const since = dashboard.received.length;
    station.drive.insert(threeTitles);
    const next = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'completed', 120_000, since);
    const ripped = await job(station, next.job_id);
    expect(ripped.titles.map((t) => t.state)).toEqual(['completed', 'completed', 'completed']);
    for (const title of ripped.titles) {
      expect(probeDuration(join(outputDir, ripped.output_dir!, title.output_filename!))).toBeCloseTo(title.duration_seconds!, 0);
    }
  }, 300_000);
});
