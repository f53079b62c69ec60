// Issue #3 figure: the agent's CPU time per second of a MakeMKV rip while it parses makemkvcon's robot output,
// measured from /proc on the real agent process, next to the same agent idle for the same time.
import { describe, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../shared/index.js';
import { Station, VirtualDrive, cpuSeconds, loopDevicesUnavailable, makeDisc, makeMkvAgentEnv } from '../test/e2e/harness.js';
import { report } from './report.js';

const skip = loopDevicesUnavailable();

describe.skipIf(skip !== undefined)('MakeMKV parsing cost', () => {
  it('agent CPU per second of rip', async () => {
    const disc = makeDisc('e2e-makemkv-trigger', ['--label', 'E2E_BD', '--title', '12:1', '--size', '352x240']);
    const rows: Record<string, string | number>[] = [];
    for (const saveSeconds of [20, 4]) {
      const station = new Station(VirtualDrive.reserve(), {
        name: `bench-makemkv-${saveSeconds}`,
        agentEnv: {
          ...makeMkvAgentEnv({ info: 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt', saveSeconds }),
          DISCBRIDGE_MIN_TITLE_SECONDS: '600', DISCBRIDGE_LOG_LEVEL: 'info',
        },
      });
      try {
        await station.start();
        const pid = station.agent!.child.pid!;
        const dashboard = await station.dashboard();
        // The same agent idle, as a baseline: heartbeats and drive polling only.
        const idleCpu0 = cpuSeconds(pid);
        const idleStart = performance.now();
        await new Promise((r) => setTimeout(r, saveSeconds * 1000));
        const idlePerSecond = (cpuSeconds(pid) - idleCpu0) / ((performance.now() - idleStart) / 1000);

        station.drive.insert(disc);
        await dashboard.waitFor((m) => m.type === 'title_update' && m.state === 'ripping', 30_000);
        const cpu0 = cpuSeconds(pid);
        const start = performance.now();
        await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 120_000);
        const wall = (performance.now() - start) / 1000;
        const cpu = cpuSeconds(pid) - cpu0;
        rows.push({
          'saving stage paced over': `${saveSeconds} s (1723 PRGV lines)`,
          'robot lines/s': Math.round(1723 / saveSeconds),
          'agent CPU ms per s of rip': (cpu / wall) * 1000,
          'idle agent CPU ms per s': idlePerSecond * 1000,
          'ratio rip/idle': idlePerSecond > 0 ? cpu / wall / idlePerSecond : 'idle ≈ 0',
          'agent CPU µs per robot line': ((cpu - idlePerSecond * wall) / 1856) * 1e6,
        });
      } finally {
        await station.stop();
      }
    }
    report('Agent CPU while parsing a replayed MakeMKV Blu-ray rip', rows);
  });
});
