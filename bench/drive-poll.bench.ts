// What watching the drives costs: the agent's CPU per poll of one drive holding a disc, idle otherwise, measured as
// the difference between polling every 50 ms and every 60 s over the same 15 s. Side by side: the Linux agent
// (sysfs size, a loop device) and the Windows agent from the zip under Wine (kernel32 through koffi, drive D: on a
// loop device). Wine's figure is Wine's: it says what the calls cost there, not on Windows.
import { describe, it } from 'vitest';
import { Station, VirtualDrive, cpuSeconds, loopDevicesUnavailable, makeDisc, type DashboardClient } from '../test/e2e/harness.js';
import { WindowsStation, buildWindowsZip, wineUnavailable } from '../test/e2e/wine/windows-station.js';
import { report } from './report.js';

const skip = loopDevicesUnavailable() ?? wineUnavailable();
const SAMPLE_SECONDS = 15;
const FAST_MS = 50;
const SLOW_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sampleCpu(pid: () => number): Promise<number> {
  await sleep(2000); // past start-up
  const before = cpuSeconds(pid());
  await sleep(SAMPLE_SECONDS * 1000);
  return cpuSeconds(pid()) - before;
}

const online = (id: string) => (m: { type: string; agent_id?: string; state?: string }) => m.type === 'agent_update' && m.agent_id === id && m.state === 'online';

describe.skipIf(skip !== undefined)('drive polling', () => {
  it('CPU per poll: the Linux agent against the Windows agent under Wine', async () => {
    const disc = makeDisc('e2e-data', ['--data', '--label', 'E2E_PHOTOS']);
    const rows: Record<string, string | number>[] = [];
    const perPoll = (fast: number, slow: number) => ((fast - slow) / ((SAMPLE_SECONDS * 1000) / FAST_MS)) * 1e6;

    const linuxCpu: number[] = [];
    for (const pollMs of [FAST_MS, SLOW_MS]) {
      const station = new Station(VirtualDrive.reserve(), { name: 'bench-poll-linux', agentEnv: { DISCBRIDGE_POLL_MS: String(pollMs), DISCBRIDGE_LOG_LEVEL: 'warn' } });
      try {
        station.drive.insert(disc);
        await station.start();
        linuxCpu.push(await sampleCpu(() => station.agent!.child.pid as number));
      } finally {
        await station.stop();
      }
    }
    rows.push({ agent: 'Linux (sysfs, a loop device)', [`CPU s in ${SAMPLE_SECONDS} s, poll ${FAST_MS} ms`]: linuxCpu[0] as number, [`… poll ${SLOW_MS / 1000} s`]: linuxCpu[1] as number, 'µs per poll': Math.round(perPoll(linuxCpu[0] as number, linuxCpu[1] as number)) });

    buildWindowsZip();
    const station = new Station(VirtualDrive.reserve(), { name: 'bench-poll-windows' });
    const windows = new WindowsStation(station.drive, station.logDir);
    const windowsCpu: number[] = [];
    try {
      await station.startHub();
      await windows.setUp();
      const dashboard: DashboardClient = await station.dashboard();
      await windows.insert(disc);
      for (const pollMs of [FAST_MS, SLOW_MS]) {
        const since = dashboard.received.length;
        windows.startAgent({ DISCBRIDGE_HUB_URL: `ws://127.0.0.1:${station.port}`, DISCBRIDGE_TOKEN: station.token, DISCBRIDGE_AGENT_ID: 'bench-windows', DISCBRIDGE_DRIVES: 'D:', DISCBRIDGE_POLL_MS: String(pollMs), DISCBRIDGE_LOG_LEVEL: 'warn' });
        await dashboard.waitFor(online('bench-windows'), 60_000, since);
        windowsCpu.push(await sampleCpu(() => windows.windowsProcesses('discbridge.mjs')[0] as number));
        await windows.killAgent();
      }
    } finally {
      await windows.tearDown();
      await station.stop();
    }
    rows.push({ agent: 'Windows under Wine (kernel32 via koffi)', [`CPU s in ${SAMPLE_SECONDS} s, poll ${FAST_MS} ms`]: windowsCpu[0] as number, [`… poll ${SLOW_MS / 1000} s`]: windowsCpu[1] as number, 'µs per poll': Math.round(perPoll(windowsCpu[0] as number, windowsCpu[1] as number)) });
    report(`Drive polling: agent CPU per poll of one drive with a disc (${SAMPLE_SECONDS} s at ${FAST_MS} ms against ${SLOW_MS / 1000} s)`, rows);
  });
});
