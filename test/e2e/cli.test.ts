// The discbridge command as people run it: help, bad settings, and `start` on a machine without the ripper.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobUpdate } from '../../shared/index.js';
import { SETTINGS } from '../../cli/settings.js';
import { ROOT, Station, VirtualDrive, loopDevicesUnavailable, makeDisc } from './harness.js';

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
    [{ DISCBRIDGE_DRIVES: 'sr0' }, 'Bad setting DISCBRIDGE_DRIVES="sr0": "sr0" is neither an absolute device path nor a drive letter'],
  ])('stops on a bad setting and names it: %o', async (env, message) => {
    const { code, stderr } = await discbridge(['start'], env);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(message);
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
    expect(String(missing[0]?.msg)).toMatch(/The station runs, but discs cannot be ripped until it is installed/);
    expect((await fetch(`${station.baseUrl}/health`)).status).toBe(200);
  }, 60_000);
});
