// A data disc's backup against dd on the same loop device in the same run, rounds alternated and the page cache
// dropped before each, so every copy reads the image from disk: dd alone, dd then sha256sum of its copy (what the
// agent does: copy with a checksum, then read the file back to verify), and the agent from ripping to completed.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc } from '../test/e2e/harness.js';
import { median, report } from './report.js';

const run = promisify(execFile);
const skip = loopDevicesUnavailable();
if (skip) console.warn(`Skipping the data-disc benchmark: ${skip}`);
const ROUNDS = 3;
const SIZE_MB = 600;

function dropCaches(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** Wall time of `work`; asynchronous, so this process keeps answering the hub's pings meanwhile. */
async function seconds(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

describe.skipIf(skip !== undefined)('data disc', () => {
  it('backup speed: agent vs dd', async () => {
    const image = makeDisc(`bench-data-${SIZE_MB}`, ['--data', '--label', 'BENCH_DATA', '--size-mb', String(SIZE_MB)]);
    const volumeBytes = Number(/Volume size is: (\d+)/.exec(execFileSync('isoinfo', ['-d', '-i', image], { encoding: 'utf8' }))?.[1]) * 2048;
    const dd: number[] = [];
    const ddSha: number[] = [];
    const agent: number[] = [];
    const agentCopy: number[] = [];
    const station = new Station(VirtualDrive.reserve(), { name: 'bench-data', agentEnv: { DISCBRIDGE_LOG_LEVEL: 'info', DISCBRIDGE_EJECT_WHEN_DONE: 'true' } });
    try {
      await station.start();
      const dashboard = await station.dashboard();
      for (let round = 0; round < ROUNDS; round++) {
        // The agent's job (eject when done detaches the image, so each round inserts it again).
        dropCaches();
        const before = dashboard.received.length;
        station.drive.insert(image);
        const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ripping', 30_000, before);
        const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 300_000, before);
        if (done.state !== 'completed') throw new Error(`bench job ended ${done.state}: ${done.error_message}`);
        agent.push((dashboard.receivedAt(done) - dashboard.receivedAt(ripping)) / 1000);
        // The copy alone, from the job's own log: "Copying …" to "Copied: SHA-256 …" (station clock, ms).
        const { lines } = await station.get<{ lines: { at: number; text: string }[] }>(`/api/jobs/${done.job_id}/log`);
        const at = (prefix: string) => lines.find((line) => line.text.startsWith(prefix))?.at ?? NaN;
        agentCopy.push((at('Copied:') - at('Copying ')) / 1000);
        await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000, before);
        rmSync(station.outputDir, { recursive: true, force: true });

        // dd reads the same image through a loop device of its own, which no agent watches (a free device losetup
        // picks could be the station's own drive, empty between rounds).
        const ddDrive = VirtualDrive.reserve();
        ddDrive.insert(image);
        const device = ddDrive.device;
        const out = mkdtempSync(join(tmpdir(), 'bench-dd-'));
        try {
          const target = join(out, 'copy.iso');
          const ddArgs = [`if=${device}`, `of=${target}`, 'bs=4M', 'iflag=count_bytes', `count=${volumeBytes}`, 'conv=fsync', 'status=none'];
          dropCaches();
          dd.push(await seconds(() => run('dd', ddArgs)));
          dropCaches();
          ddSha.push(await seconds(async () => {
            await run('dd', ddArgs);
            await run('sha256sum', [target]);
          }));
        } finally {
          rmSync(out, { recursive: true, force: true });
          ddDrive.release();
        }
      }
    } finally {
      await station.stop();
    }
    const mb = volumeBytes / 1e6;
    const base = median(dd);
    report(`Data disc backup, a ${Math.round(mb)} MB ISO 9660 image on a loop device, page cache dropped (seconds, median of ${ROUNDS})`, [
      { copy: 'dd bs=4M conv=fsync', seconds: base, 'MB/s': mb / base, ratio: 1 },
      { copy: 'dd, then sha256sum of the copy', seconds: median(ddSha), 'MB/s': mb / median(ddSha), ratio: median(ddSha) / base },
      { copy: 'agent: the copy with its SHA-256', seconds: median(agentCopy), 'MB/s': mb / median(agentCopy), ratio: median(agentCopy) / base },
      { copy: 'agent: ripping → completed (copy with SHA-256, verify)', seconds: median(agent), 'MB/s': mb / median(agent), ratio: median(agent) / base },
    ]);
  });
});
