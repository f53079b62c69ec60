// An audio CD image through the agent (import folder → FLAC, checked) against cd-paranoia then flac run by hand on
// the same image, rounds alternated in one run: what the agent's reading, progress, checks and link cost.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../shared/index.js';
import { makeTestCd } from '../test/agent/cd-audio/test-cd.js';
import { Station, VirtualDrive, loopDevicesUnavailable } from '../test/e2e/harness.js';
import { median, report } from './report.js';

const run = promisify(execFile);
const skip = loopDevicesUnavailable();
if (skip) console.warn(`Skipping the audio CD benchmark: ${skip}`);
const ROUNDS = 3;
const TRACK_SECONDS = [600, 600, 600];

describe.skipIf(skip !== undefined)('audio CD', () => {
  it('rip speed: agent vs cd-paranoia + flac by hand', async () => {
    const work = mkdtempSync(join(tmpdir(), 'bench-cd-'));
    const cd = await makeTestCd(join(work, 'cd'), TRACK_SECONDS.flatMap((seconds, i) => ['--track', `${seconds}:Part ${i + 1}`]));
    const audioSeconds = TRACK_SECONDS.reduce((sum, s) => sum + s, 0);
    const byHand: number[] = [];
    const agent: number[] = [];
    const importDir = join(work, 'import');
    const station = new Station(VirtualDrive.reserve(), { name: 'bench-cd', agentEnv: { DISCBRIDGE_IMPORT_DIR: importDir, DISCBRIDGE_LOG_LEVEL: 'info' } });
    try {
      await station.start();
      const dashboard = await station.dashboard();
      for (let round = 0; round < ROUNDS; round++) {
        const out = mkdtempSync(join(work, 'hand-'));
        const start = performance.now();
        for (const track of TRACK_SECONDS.keys()) {
          const wav = join(out, `${track + 1}.wav`);
          await run('cd-paranoia', ['-e', '-d', './disc.cue', '-w', '--', String(track + 1), wav], { cwd: cd.folder, maxBuffer: 1 << 30 });
          await run('flac', ['-f', '--silent', '-o', join(out, `${track + 1}.flac`), wav]);
          await run('metaflac', ['--show-md5sum', join(out, `${track + 1}.flac`)]);
        }
        byHand.push((performance.now() - start) / 1000);
        rmSync(out, { recursive: true, force: true });

        const before = dashboard.received.length;
        copyFileSync(join(cd.folder, 'disc.bin'), join(importDir, `round${round}.bin`));
        // libcdio reads the BIN named like the sheet: the copy's FILE line follows its new name.
        writeFileSync(join(importDir, `round${round}.cue`), readFileSync(cd.cue, 'utf8').replace('"disc.bin"', `"round${round}.bin"`));
        const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ripping', 30_000, before);
        const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 300_000, before);
        if (done.state !== 'completed') throw new Error(`bench job ended ${done.state}: ${done.error_message}`);
        agent.push((dashboard.receivedAt(done) - dashboard.receivedAt(ripping)) / 1000);
        rmSync(station.outputDir, { recursive: true, force: true });
      }
    } finally {
      await station.stop();
      rmSync(work, { recursive: true, force: true });
    }
    const base = median(byHand);
    report(`Audio CD image, ${TRACK_SECONDS.length} tracks, ${audioSeconds} s of audio (seconds, median of ${ROUNDS})`, [
      { rip: 'cd-paranoia, flac, metaflac by hand', seconds: base, '× real time': audioSeconds / base, ratio: 1 },
      { rip: 'agent: ripping → completed (import folder)', seconds: median(agent), '× real time': audioSeconds / median(agent), ratio: median(agent) / base },
    ]);
  });
});
