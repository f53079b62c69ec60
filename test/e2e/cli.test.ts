// The discbridge command as people run it: help, bad settings, and `start` on a machine without the ripper.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DiscoveredTitle, DiscType, type JobUpdate } from '../../shared/index.js';
import { SETTINGS } from '../../cli/settings.js';
import { ROOT, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, makeMkvAgentEnv } from './harness.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist/cli/discbridge.js');

async function discbridge(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('discbridge command', () => {
  it('--help lists every setting', async () => {
    const { code, stdout } = await discbridge(['--help']);
    expect(code).toBe(0);
    for (const setting of Object.values(SETTINGS)) expect(stdout).toContain(setting.env);
    expect(stdout).toMatch(/discbridge start/);
  });

  it.each([
    [{ DISCBRIDGE_PORT: 'abc' }, 'Bad setting DISCBRIDGE_PORT="abc": expected a whole number from 0 to 65535'],
    [{ DISCBRIDGE_RIPPER: 'vlc' }, 'Bad setting DISCBRIDGE_RIPPER="vlc": expected one of handbrake, makemkv'],
    [{ DISCBRIDGE_DRIVES: 'sr0' }, 'Bad setting DISCBRIDGE_DRIVES="sr0": "sr0" is not an absolute device path such as /dev/sr0 (drive letters are for Windows)'],
  ])('stops on a bad setting and names it: %o', async (env, message) => {
    const { code, stderr } = await discbridge(['start'], env);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(message);
  });

  it('the README documents every setting', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const setting of Object.values(SETTINGS)) expect(readme, setting.env).toContain(`\`${setting.env}\``);
  });

  it('scan --json prints the disc as the MakeMKV backend sees it, in titles_discovered field names', async () => {
    const env = makeMkvAgentEnv({ info: 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt' });
    const { code, stdout } = await discbridge(['scan', '/dev/sr0', '--json'], env);
    expect(code).toBe(0);
    const printed = z.object({ device: z.string(), ripper: z.string(), disc_name: z.string(), disc_type: DiscType, titles: z.array(DiscoveredTitle) })
      .strict().parse(JSON.parse(stdout));
    expect(printed).toMatchObject({ device: '/dev/sr0', ripper: 'makemkv', disc_type: 'bluray' });
    expect(printed.disc_name).toMatch(/^Demon Slayer/);
    expect(printed.titles).toEqual([expect.objectContaining({ title_id: 0, duration_seconds: 5848, chapters: 21, expected_size_bytes: 31_843_694_592, selected: true })]);
  });

  it('scan without --json is a readable summary, and an unreadable disc is a short error', async () => {
    const good = await discbridge(['scan', '/dev/sr0'], makeMkvAgentEnv({ info: 'dvd_info_automakemkv_mrpoppers_v1.16.5.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt' }));
    expect(good.code).toBe(0);
    expect(good.stdout.split('\n')[0]).toBe('MR_POPPERS_PENGUINS — dvd disc in /dev/sr0, 8 title(s), read by makemkvcon');
    expect(good.stdout).toMatch(/#6 {2}rip {3}1:34:02 {2}24 ch {2}6.0 GB/);
    const bad = await discbridge(['scan', '/dev/sr0'], makeMkvAgentEnv({ info: 'error_dvd_info_region-rpc_read-errors_rakemkv_v1.8.3.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt' }));
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr.trim()).toBe("The disc's region does not match the drive's region (RPC): use a drive set to the disc's region");
  });

  it('refuses an unknown command', async () => {
    const { code, stderr } = await discbridge(['rip-everything']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown command "rip-everything"/);
  });
});

const skipReason = loopDevicesUnavailable();
describe.skipIf(skipReason !== undefined)('a station without HandBrakeCLI', () => {
  let station: Station | undefined;
  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  it('starts, says once which tool is missing, and fails each disc with that message', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'no-handbrake', agentEnv: { DISCBRIDGE_HANDBRAKECLI: '/nonexistent/HandBrakeCLI' } });
    await station.startCombined();
    const dashboard = await station.dashboard();
    station.drive.insert(makeDisc('e2e-three-titles', ['--label', 'E2E_MOVIE', '--title', '40:4', '--title', '15:2', '--title', '4:1']));
    const failed = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'failed', 20_000);
    expect(failed.error_message).toMatch(/^HandBrakeCLI was not found at "\/nonexistent\/HandBrakeCLI": install it with "sudo apt-get install handbrake-cli"/);

    const missing = station.hub!.records().filter((r) => r.level === 50 && /HandBrakeCLI was not found/.test(String(r.msg)));
    expect(missing).toHaveLength(1);
    expect(String(missing[0]?.msg)).toMatch(/The station runs, but video discs cannot be ripped until it is installed/);
    expect((await fetch(`${station.baseUrl}/health`)).status).toBe(200);
  }, 60_000);
});
