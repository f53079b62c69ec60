// Issue #2 figures: (1) a rip's wall time through the agent against HandBrakeCLI run alone on the same image,
// alternating the two so machine noise hits both alike; (2) insert → drive_event at a dashboard client, with the
// defaults and with shorter intervals (a disc that reads is told at once, so the poll interval is what is left).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc } from '../test/e2e/harness.js';
import { median, report } from './report.js';

const skip = loopDevicesUnavailable();
if (skip) console.warn(`Skipping the rip-station benchmarks: ${skip}`);
const PRESET = 'Very Fast 480p30';
const ROUNDS = 3;
const INSERTS = 10;

describe.skipIf(skip !== undefined)('rip station', () => {
  it('rip wall time: agent vs HandBrakeCLI alone', async () => {
    const image = makeDisc('bench-90s', ['--label', 'BENCH', '--title', '90:6']);
    const alone: number[] = [];
    const viaAgent: number[] = [];
    const ripPhase: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const out = mkdtempSync(join(tmpdir(), 'bench-hb-'));
      const start = performance.now();
      execFileSync('HandBrakeCLI', ['-i', image, '-t', '1', '-o', join(out, 'x.mkv'), '--format', 'av_mkv', '--preset', PRESET, '--markers', '--min-duration', '0'], { stdio: 'ignore' });
      alone.push((performance.now() - start) / 1000);
      rmSync(out, { recursive: true, force: true });

      const station = new Station(VirtualDrive.reserve(), { name: `bench-rip-${round}`, agentEnv: { DISCBRIDGE_HANDBRAKE_PRESET: PRESET, DISCBRIDGE_LOG_LEVEL: 'info' } });
      try {
        await station.start();
        const dashboard = await station.dashboard();
        const inserted = Date.now();
        station.drive.insert(image);
        const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ripping', 60_000);
        const ripStart = dashboard.receivedAt(ripping);
        const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 300_000);
        if (done.state !== 'completed') throw new Error(`bench rip ended ${done.state}: ${done.error_message}`);
        const end = dashboard.receivedAt(done);
        viaAgent.push((end - inserted) / 1000);
        ripPhase.push((end - ripStart) / 1000);
      } finally {
        await station.stop();
      }
    }
    const hb = median(alone);
    report('Rip wall time, one 90 s DVD title (seconds, median of 3)', [
      { measure: 'HandBrakeCLI alone', seconds: hb, ratio: 1 },
      { measure: 'agent: ripping → completed', seconds: median(ripPhase), ratio: median(ripPhase) / hb },
      { measure: 'agent: insert → completed', seconds: median(viaAgent), ratio: median(viaAgent) / hb },
    ]);
  });

  it('insert → drive_event at a dashboard', async () => {
    const image = makeDisc('bench-small', ['--label', 'BENCH_SMALL', '--title', '12:1', '--size', '352x240']);
    const rows: Record<string, string | number>[] = [];
    for (const [label, env] of [
      ['defaults (poll 500 ms, debounce 1000 ms)', {}],
      ['poll 200 ms, debounce 400 ms', { DISCBRIDGE_POLL_MS: '200', DISCBRIDGE_DEBOUNCE_MS: '400' }],
    ] as const) {
      const station = new Station(VirtualDrive.reserve(), {
        name: 'bench-insert',
        // No title is long enough: no rip competes with the measurement.
        agentEnv: { DISCBRIDGE_POLL_MS: '500', DISCBRIDGE_DEBOUNCE_MS: '1000', DISCBRIDGE_MIN_TITLE_SECONDS: '3600', DISCBRIDGE_LOG_LEVEL: 'info', ...env },
      });
      const latencies: number[] = [];
      try {
        await station.start();
        const dashboard = await station.dashboard();
        const pollMs = Number(env.DISCBRIDGE_POLL_MS ?? 500);
        for (let i = 0; i < INSERTS; i++) {
          // A person inserts at any moment of the poll cycle; right after the last removal (itself seen on a poll)
          // would always land just after a poll and measure the whole interval.
          await new Promise((resolve) => setTimeout(resolve, ((i + 0.5) / INSERTS) * pollMs));
          const before = dashboard.received.length;
          const at = Date.now();
          station.drive.insert(image);
          const event = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 10_000, before);
          latencies.push(dashboard.receivedAt(event) - at);
          await dashboard.waitFor((m) => m.type === 'job_update' && m.state === 'failed', 20_000, before);
          station.drive.eject();
          await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000, before);
        }
      } finally {
        await station.stop();
      }
      rows.push({ settings: label, 'median ms': median(latencies), 'min ms': Math.min(...latencies), 'max ms': Math.max(...latencies) });
    }
    report(`Insert to drive_event at a dashboard client (loop device, ${INSERTS} inserts each)`, rows);
  });
});
