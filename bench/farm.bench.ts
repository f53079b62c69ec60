// Issue #13 figures. These machines have 2 cores, so each station stands in for a machine of its own by being pinned
// to one core (taskset; its HandBrakeCLI and ffmpeg inherit it). (1) Four discs through one rip station pinned to core
// 0 that transcodes its own rips, against the same four discs through that station with no slots and a worker pinned
// to core 1: the wall time from the first insert until every file is transcoded, and the ratio. (2) The queue's own
// overhead: one title's transcode through the farm (hand-off to delivered, the station leasing its own rip back)
// against the same ffmpeg transcode and checks run straight on the same rip, on the same core.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate, type TranscodeTaskRecord } from '../shared/index.js';
import { openDatabase } from '../hub/store/database.js';
import { TranscodeQueue } from '../hub/transcodes/transcode-queue.js';
import { HubFiles } from '../agent/farm/hub-files.js';
import { TASK_FILES_PATH } from '../shared/index.js';
import { TOKEN, silentLogger, startHub } from '../test/hub/helpers.js';
import { ROOT, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable, waitFor } from '../test/e2e/harness.js';
import { report } from './report.js';

const skip = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffmpeg', 'ffprobe', 'taskset');
if (skip) console.warn(`Skipping the transcode farm benchmarks: ${skip}`);
const DISCS = 4;
const TITLE = ['--title', '60:2', '--size', '720x480'];

/** Puts the discs through the station one after another (the next once the drive is free), until all are transcoded. */
async function throughStation(station: Station, discs: readonly string[]): Promise<number> {
  const tasksOf = async () => (await station.get<{ tasks: TranscodeTaskRecord[] }>('/api/transcodes')).tasks;
  const start = performance.now();
  for (const [index, disc] of discs.entries()) {
    station.drive.insert(disc);
    // The drive is free once its rips are handed to the queue.
    await waitFor(async () => (await tasksOf()).length >= index + 1, 300_000, `disc ${index + 1} handed to the queue`);
    await station.ejectAndWait();
  }
  // A job completes once its last result is in place: until then, not every file is transcoded.
  const jobsOf = async () => (await station.get<{ jobs: { state: JobUpdate['state']; error_message?: string }[] }>('/api/jobs')).jobs;
  await waitFor(async () => (await jobsOf()).filter((job) => FINISHED_JOB_STATES.has(job.state)).length === discs.length, 1_200_000, 'every job ended');
  const seconds = (performance.now() - start) / 1000;
  const bad = (await jobsOf()).find((job) => job.state !== 'completed');
  if (bad) throw new Error(`a farm benchmark job ended ${bad.state}: ${bad.error_message}`);
  return seconds;
}

describe.skipIf(skip !== undefined)('transcode farm', () => {
  it('four discs: one station alone, against the station and a worker (each pinned to its own core)', async () => {
    const discs = Array.from({ length: DISCS }, (_, i) => makeDisc(`bench-farm-${i + 1}`, ['--label', `FARM_${i + 1}`, ...TITLE]));
    const common = { DISCBRIDGE_TRANSCODE: 'h264', DISCBRIDGE_KEEP_RIP: 'false', DISCBRIDGE_LOG_LEVEL: 'info' };

    const alone = new Station(VirtualDrive.reserve(), { name: 'bench-farm-alone', cpus: '0', agentEnv: { ...common, DISCBRIDGE_TRANSCODE_SLOTS: '1' } });
    let aloneSeconds: number;
    try {
      await alone.start();
      aloneSeconds = await throughStation(alone, discs);
    } finally {
      await alone.stop();
    }

    const library = mkdtempSync(join(tmpdir(), 'bench-farm-library-'));
    mkdirSync(join(library, 'nas'));
    const mount = (who: string) => {
      symlinkSync(join(library, 'nas'), join(library, who));
      return join(library, who);
    };
    const station = new Station(VirtualDrive.reserve(), {
      name: 'bench-farm-pair', cpus: '0',
      agentEnv: { ...common, DISCBRIDGE_TRANSCODE_SLOTS: '0', DISCBRIDGE_LIBRARY_DIR: mount('station'), DISCBRIDGE_OUTPUT_DIR: join(library, 'station', 'rips') },
    });
    let pairSeconds: number;
    try {
      await station.start();
      await station.startExtraAgent({ name: 'worker', drives: [], command: 'worker', cpus: '1', agentEnv: { DISCBRIDGE_LIBRARY_DIR: mount('worker'), DISCBRIDGE_TRANSCODE_SLOTS: '1', DISCBRIDGE_LOG_LEVEL: 'info' } });
      pairSeconds = await throughStation(station, discs);
    } finally {
      await station.stop();
      rmSync(library, { recursive: true, force: true });
    }
    report(`Four 60 s 720x480 discs ripped (HandBrake) and transcoded (ffmpeg h264), wall seconds`, [
      { setup: 'one rip station on core 0, transcoding its own rips', seconds: aloneSeconds, ratio: 1 },
      { setup: 'the same station (no slots) and a worker on core 1', seconds: pairSeconds, ratio: pairSeconds / aloneSeconds },
    ]);
  }, 1_800_000);

  it('one transcode through the farm, against the same transcode run straight', async () => {
    const disc = makeDisc('bench-farm-1', ['--label', 'FARM_1', ...TITLE]);
    const station = new Station(VirtualDrive.reserve(), {
      name: 'bench-farm-one', cpus: '0', agentEnv: { DISCBRIDGE_TRANSCODE: 'h264', DISCBRIDGE_KEEP_RIP: 'true', DISCBRIDGE_LOG_LEVEL: 'info' },
    });
    const out = mkdtempSync(join(tmpdir(), 'bench-farm-straight-'));
    try {
      await station.start();
      const dashboard = await station.dashboard();
      station.drive.insert(disc);
      const handedOff = await dashboard.waitFor((m) => m.type === 'job_log' && m.lines.some((line) => /Handed 1 title/.test(line.text)), 300_000);
      const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 600_000);
      if (done.state !== 'completed') throw new Error(`the farm transcode ended ${done.state}: ${done.error_message}`);
      const farm = (dashboard.receivedAt(done) - dashboard.receivedAt(handedOff)) / 1000;
      const rip = join(station.outputDir, 'FARM_1', 'FARM_1_t01.mkv');
      // The station's own transcoder (the same arguments and ffprobe checks), run straight from a script on core 0.
      const script = `import { FfmpegTranscoder } from ${JSON.stringify(join(ROOT, 'dist/agent/transcoders/ffmpeg/ffmpeg-transcoder.js'))};
        import { BUILTIN_PROFILES } from ${JSON.stringify(join(ROOT, 'dist/agent/transcoders/transcoder.js'))};
        const start = performance.now();
        await new FfmpegTranscoder({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' }).transcode({ input: ${JSON.stringify(rip)}, output: ${JSON.stringify(join(out, 'x.mkv'))},
          durationSeconds: 60, profile: BUILTIN_PROFILES.h264, signal: new AbortController().signal, onProgress: () => {} });
        console.log((performance.now() - start) / 1000);`;
      const straight = Number(execFileSync('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
      report('One 60 s 720x480 title transcoded with ffmpeg h264 on core 0, seconds', [
        { path: 'straight: the station\'s transcoder on the rip', seconds: straight, ratio: 1 },
        { path: 'through the farm: hand-off to completed', seconds: farm, ratio: farm / straight },
        { path: 'the farm\'s overhead', seconds: farm - straight, ratio: (farm - straight) / straight },
      ]);
    } finally {
      await station.stop();
      rmSync(out, { recursive: true, force: true });
    }
  }, 900_000);
});

describe('transcode queue in SQLite', () => {
  it('leases, renewals and results a second, with 10,000 tasks queued', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-queue-'));
    const db = openDatabase(join(dir, 'hub.sqlite'));
    try {
      const queue = new TranscodeQueue(db);
      const enqueueStart = performance.now();
      db.transaction(() => {
        for (let i = 1; i <= 10_000; i++) {
          queue.enqueue({ agentId: 'rip-a', jobId: i, titleId: 1, profile: 'h264', source: `D${i}/t01.mkv`, output: `D${i}/t01.h264.mkv`, root: 'library', durationSeconds: 5400, keepRip: true }, i);
        }
      })();
      const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
      // Each task's life as a worker lives it: picked from the head of the queue, leased, 10 reports, done, delivered.
      const cycles = 1000;
      const start = performance.now();
      for (let i = 0; i < cycles; i++) {
        const [task] = queue.queued(1);
        const lease = queue.lease(task!.id, 'worker-b', i, 60_000) as string;
        for (let r = 0; r < 10; r++) queue.renew(task!.id, lease, 'worker-b', r * 10, i, 60_000);
        queue.complete(task!.id, lease, 'worker-b', i);
        queue.delivered(task!.id, lease, 'worker-b', i);
      }
      const seconds = (performance.now() - start) / 1000;
      const sweepStart = performance.now();
      queue.expireLeases(Date.now());
      const sweepMs = performance.now() - sweepStart;
      report('Transcode queue on SQLite (synchronous=FULL), 10,000 tasks queued', [
        { measure: 'enqueue 10,000 (one transaction)', value: enqueueSeconds * 1000, unit: 'ms' },
        { measure: 'task lives (pick, lease, 10 renewals, done, delivered) a second', value: cycles / seconds, unit: '/s' },
        { measure: 'queue statements a second', value: (cycles * 14) / seconds, unit: '/s' },
        { measure: 'one lease sweep', value: sweepMs, unit: 'ms' },
      ]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('streamed task files through the hub', () => {
  it('a 512 MB rip sent to the hub and fetched from it (checked at each end), against a plain copy on the same disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-stream-'));
    const hub = await startHub(join(dir, 'hub'));
    try {
      const size = 512 * 1024 * 1024;
      const rip = join(dir, 'rip.mkv');
      const block = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) % 251;
      writeFileSync(rip, Buffer.concat(Array.from({ length: size / block.length }, () => block)));
      const farm = hub.hub.transcodes!;
      farm.requested({
        type: 'transcode_request', agent_id: 'rip-a', job_id: 1, profile: 'h264', keep_rip: true, root: 'output',
        titles: [{ title_id: 1, source: 'D/D_t01.mkv', output: 'D/D_t01.h264.mkv', duration_seconds: 60 }],
      });
      const task = farm.tasks.tasksOfJob('rip-a', 1)[0]!;
      const files = (agentId: string) => new HubFiles({ hubUrl: `ws://127.0.0.1:${hub.port}`, token: TOKEN, agentId, tls: {}, logger: silentLogger });
      const signal = new AbortController().signal;
      const timed = async (work: () => unknown): Promise<number> => {
        const start = performance.now();
        await work();
        return (performance.now() - start) / 1000;
      };
      const copy = await timed(() => copyFileSync(rip, join(dir, 'copy.mkv')));
      const upload = await timed(() => files('rip-a').upload(`${TASK_FILES_PATH}/${task.id}/source`, rip, signal));
      const staged = farm.tasks.get(task.id)!.staged!;
      const lease = farm.tasks.lease(task.id, 'worker-b', Date.now(), 600_000, true)!;
      const download = await timed(() => files('worker-b').download(`${TASK_FILES_PATH}/${task.id}/source?lease=${lease}`, join(dir, 'fetched.part'), staged.sha256, staged.bytes, signal));
      const mb = size / 1024 / 1024;
      report('Streamed task files on loopback (512 MB, SHA-256 checked at both ends)', [
        { measure: 'plain copy on the same disk', seconds: copy, 'MB/s': mb / copy, ratio: 1 },
        { measure: 'station to hub (PUT, hashed before and at the hub)', seconds: upload, 'MB/s': mb / upload, ratio: upload / copy },
        { measure: 'hub to worker (GET, hashed as it arrives)', seconds: download, 'MB/s': mb / download, ratio: download / copy },
      ]);
    } finally {
      await hub.hub.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
