// A Windows station end to end under Wine: the zip's own node.exe runs `discbridge.cmd agent` (through cmd.exe)
// against a hub on Linux, with a loop device as drive D:. Real Win32 calls (koffi: GetLogicalDrives, GetDriveTypeW,
// GetVolumeInformationW), the agent's store on node:sqlite, its defaults under C:\ProgramData, the MakeMKV stand-in
// run by Windows Node. What Wine cannot show (ERROR_NOT_READY, eject) is in test/agent/drives/windows/.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, type DriveEvent, type JobUpdate } from '../../shared/index.js';
import { MAKEMKVCON_STANDIN, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, makeMkvAgentEnv, waitFor, type DashboardClient } from './harness.js';
import { WindowsStation, buildWindowsZip, windowsPath, wineUnavailable } from './wine/windows-station.js';

const skipReason = loopDevicesUnavailable() ?? wineUnavailable();
if (skipReason) console.warn(`Skipping the Windows end-to-end test: ${skipReason}`);

const BLURAY_INFO = 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt';
const BLURAY_RIP = 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt';
const AGENT_ID = 'e2e-windows';

describe.skipIf(skipReason !== undefined)('a Windows station under Wine', () => {
  let station: Station;
  let windows: WindowsStation;
  let dashboard: DashboardClient;
  let dataDisc: string;
  let videoDisc: string;
  let reservedDisc: string;

  beforeAll(async () => {
    dataDisc = makeDisc('e2e-data', ['--data', '--label', 'E2E_PHOTOS']);
    reservedDisc = makeDisc('e2e-windows-con', ['--data', '--label', 'CON', '--size-mb', '2']);
    videoDisc = makeDisc('e2e-makemkv-trigger', ['--label', 'E2E_BD', '--title', '12:1', '--size', '352x240']);
    buildWindowsZip();
    station = new Station(VirtualDrive.reserve(), { name: 'windows' });
    await station.startHub();
    windows = new WindowsStation(station.drive, station.logDir);
    await windows.setUp();
    dashboard = await station.dashboard();
  }, 180_000);

  // A failure under Wine is hard to read from the dashboard alone: the Windows agent's last words go with it.
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`The Windows agent's log, last 40 lines:\n${windows?.log().split('\n').slice(-40).join('\n')}`);
  });

  afterAll(async () => {
    await windows?.tearDown();
    await station?.stop();
  });

  function startAgent(scenario: Record<string, unknown> = {}): void {
    const standin = makeMkvAgentEnv({ info: BLURAY_INFO, mkv: BLURAY_RIP, saveSeconds: 8, ...scenario });
    windows.startAgent({
      // Only what a person puts in discbridge.json: data, rips and logs go to C:\ProgramData\discbridge by default.
      DISCBRIDGE_HUB_URL: `ws://127.0.0.1:${station.port}`, DISCBRIDGE_TOKEN: station.token, DISCBRIDGE_AGENT_ID: AGENT_ID,
      DISCBRIDGE_DRIVES: 'D:', DISCBRIDGE_POLL_MS: '250', DISCBRIDGE_DEBOUNCE_MS: '500', DISCBRIDGE_MIN_TITLE_SECONDS: '600',
      DISCBRIDGE_HEARTBEAT_MS: '1000', DISCBRIDGE_LOG_LEVEL: 'debug',
      DISCBRIDGE_RIPPER: 'makemkv', DISCBRIDGE_MAKEMKVCON: windowsPath(MAKEMKVCON_STANDIN),
      MAKEMKVCON_STANDIN_SCENARIO: windowsPath(standin.MAKEMKVCON_STANDIN_SCENARIO as string),
    });
  }

  /**
   * Takes the disc out, waits until the agent has counted the removal (the same disc back within one poll would be
   * no change at all), and puts `disc` in. Returns where the dashboard's messages since then begin.
   */
  async function changeDisc(disc: string): Promise<number> {
    const since = dashboard.received.length;
    await windows.eject();
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 20_000, since);
    await windows.insert(disc);
    return since;
  }

  /** A rip of the video disc that has begun and then gone silent (the stand-in's stallAtFraction), its tool still running. */
  async function stuckRip(): Promise<number> {
    const since = await changeDisc(videoDisc);
    await dashboard.waitFor((m) => m.type === 'title_update' && m.state === 'ripping' && (m.match_progress ?? 0) > 0, 60_000, since);
    // Stalled: nothing new for 1.5 s.
    for (let heard = -1; heard !== dashboard.received.length;) {
      heard = dashboard.received.length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    expect(windows.windowsProcesses('makemkvcon.mjs').length).toBeGreaterThan(0);
    return since;
  }

  const finished = (m: { type: string; state?: string }): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state as JobUpdate['state']);
  const online = (m: { type: string }) => m.type === 'agent_update' && (m as { agent_id?: string; state?: string }).agent_id === AGENT_ID && (m as { state?: string }).state === 'online';

  it('comes online, images a data disc, tells a swap as removed + inserted with the new label, rips it with MakeMKV, and names a disc labelled CON safely', async () => {
    startAgent();
    await dashboard.waitFor(online, 60_000);
    // Under load Wine may show D: only after the agent's first look; a drive that appears with a disc in it holds a
    // disc "already in the drive", which by design waits for "rip now". So the disc goes in once D: is watched.
    await waitFor(async () => (await station.get<{ drive_id: string }[]>('/api/drives')).some((d) => d.drive_id === 'D:'), 30_000, 'the agent to watch D:');
    await windows.insert(dataDisc);
    const data = await dashboard.waitFor(finished, 60_000);
    expect(data.state).toBe('completed');
    const dataJob = await station.get<{ state: string; disc_type: string; volume_label: string; drive_id: string; output_dir: string }>(`/api/jobs/${data.job_id}`);
    expect(dataJob).toMatchObject({ state: 'completed', disc_type: 'data', volume_label: 'E2E_PHOTOS', drive_id: 'D:' });
    const image = join(windows.programData, 'rips', dataJob.output_dir);
    expect(readdirSync(image).filter((name) => name.endsWith('.iso')).map((name) => statSync(join(image, name)).size)).toEqual([statSync(dataDisc).size]);

    const before = dashboard.received.length;
    await windows.eject();
    await windows.insert(videoDisc); // within one poll: only the other serial and label tell it apart
    const removed = await dashboard.waitFor((m): m is DriveEvent => m.type === 'drive_event' && m.event === 'removed', 20_000, before);
    const inserted = await dashboard.waitFor((m): m is DriveEvent => m.type === 'drive_event' && m.event === 'inserted', 20_000, before);
    expect(removed).toMatchObject({ agent_id: AGENT_ID, drive_id: 'D:' });
    expect(inserted).toMatchObject({ agent_id: AGENT_ID, drive_id: 'D:', volume_label: 'E2E_BD' });
    const rip = await dashboard.waitFor(finished, 90_000, before);
    expect(rip.state).toBe('completed');
    const ripJob = await station.get<{ disc_type: string; output_dir: string; titles: { state: string; output_filename: string; actual_size_bytes: number }[] }>(`/api/jobs/${rip.job_id}`);
    expect(ripJob.titles.filter((t) => t.state === 'completed')).toHaveLength(1);
    const [title] = ripJob.titles.filter((t) => t.state === 'completed');
    expect(statSync(join(windows.programData, 'rips', ripJob.output_dir, title?.output_filename as string)).size).toBe(title?.actual_size_bytes);
    expect(dashboard.contractViolations).toEqual([]);

    // CON is a valid ISO 9660 label and a name Windows reserves for the console: the rip must not be written "to" it.
    const next = await changeDisc(reservedDisc);
    const reserved = await dashboard.waitFor(finished, 60_000, next);
    const reservedJob = await station.get<{ state: string; volume_label: string; output_dir: string }>(`/api/jobs/${reserved.job_id}`);
    expect(reservedJob).toMatchObject({ state: 'completed', volume_label: 'CON', output_dir: '_CON' });
    expect(statSync(join(windows.programData, 'rips', '_CON', '_CON.iso')).size).toBe(statSync(reservedDisc).size);
    // The store on Windows is node:sqlite, in C:\ProgramData\discbridge\data.
    expect(existsSync(join(windows.programData, 'data', 'agent', 'agent.sqlite'))).toBe(true);
    expect(windows.log()).toContain('node:sqlite');
  }, 240_000);

  it('cancels a stuck rip and ends its tool; a job cut by SIGKILL of the agent is interrupted after a restart, no tool left running', async () => {
    // A stand-in that hangs silent mid-rip, as a stuck tool would: it never writes to a pipe it could find closed.
    // (Wine ends it with the agent even without the agent's job object, so this proves the outcome, not the means.)
    await windows.killAgent();
    startAgent({ stallAtFraction: 0.3 });
    await dashboard.waitFor(online, 60_000, dashboard.received.length);
    const before = await stuckRip();
    // Cancel first: the agent ends the tool's whole process tree (taskkill /T /F).
    const stuck = dashboard.messages('job_update').at(-1) as JobUpdate;
    expect((await station.post(`/api/jobs/${stuck.job_id}/cancel`)).status).toBe(200);
    const cancelled = await dashboard.waitFor((m): m is JobUpdate => finished(m) && m.job_id === stuck.job_id, 30_000, before);
    expect(cancelled.state).toBe('cancelled');
    await waitFor(() => windows.windowsProcesses('makemkvcon.mjs').length === 0, 10_000, 'the cancelled stand-in to end');

    // Then the same stuck rip again, and a SIGKILL of the agent in the middle of it.
    const again = await stuckRip();
    await windows.killAgent();
    await waitFor(() => windows.windowsProcesses('makemkvcon.mjs').length === 0, 10_000, 'the stand-in to end with the agent');
    startAgent();
    const ended = await dashboard.waitFor(finished, 60_000, again);
    expect(ended.state).toBe('interrupted');
  }, 180_000);

  it('runs as the Windows service discbridge-agent: install, start (online), status, stop (offline, cleanly), uninstall', async () => {
    await windows.killAgent();
    // A service gets no environment of ours: what it needs is in the settings file a person writes.
    windows.writeProgramDataFile('discbridge.json', JSON.stringify({
      hub_url: `ws://127.0.0.1:${station.port}`, token: station.token, agent_id: AGENT_ID, drives: 'D:', heartbeat_ms: 1000,
    }));
    const before = dashboard.received.length;
    const installed = await windows.discbridge(['service', 'install']);
    expect(installed.output).toContain('Installed and started the service discbridge-agent');
    expect(installed.status).toBe(0);
    await dashboard.waitFor(online, 60_000, before);
    const status = await windows.discbridge(['service', 'status']);
    expect(status.output).toMatch(/discbridge-agent: running; log: C:\\ProgramData\\discbridge\\logs/);
    expect(status.status).toBe(0);

    const running = dashboard.received.length;
    const stopped = await windows.discbridge(['service', 'stop']);
    expect(stopped.output).toContain('Stopped the service discbridge-agent');
    await dashboard.waitFor((m) => m.type === 'agent_update' && m.agent_id === AGENT_ID && m.state === 'offline', 30_000, running);
    // It got Ctrl+C (SIGINT) and closed itself, rather than being ended.
    const logs = readdirSync(join(windows.programData, 'logs')).map((name) => readFileSync(join(windows.programData, 'logs', name), 'utf8')).join('');
    writeFileSync(join(station.logDir, 'windows-service.log'), logs);
    expect(logs).toMatch(/"signal":"SIGINT".*"msg":"Shutting down"/);

    const removed = await windows.discbridge(['service', 'uninstall']);
    expect(removed.output).toContain('Removed the service discbridge-agent');
    const gone = await windows.discbridge(['service', 'status']);
    expect(gone.output).toContain('is not installed');
    expect(gone.status).toBe(3);
  }, 180_000);
});
