// The Linux services, offline (these machines do not boot systemd): the units pass systemd-analyze verify and score
// within their targets in systemd-analyze security; and the real hub notifies a test NOTIFY_SOCKET (a Unix datagram
// socket read by a small Python receiver, as systemd would read it): READY=1 once it serves, WATCHDOG=1 at the
// interval, STOPPING=1 on SIGTERM, and no WATCHDOG=1 while its event loop is stuck.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, freePort, waitFor } from './harness.js';

const UNITS = join(ROOT, 'scripts/systemd');
const skipAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0 ? undefined : 'systemd-analyze is not installed';
const skipNotify = spawnSync('python3', ['--version']).status === 0 ? undefined : 'python3 is not installed';

const RECEIVER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('listening', flush=True)
while True:
    data = s.recv(4096)
    print('%d %s' % (int(time.time() * 1000), data.decode().replace('\\n', '|')), flush=True)
`;

/** What systemd would read from NOTIFY_SOCKET: each datagram with when it came. */
class NotifySocket {
  readonly path: string;
  readonly received: { at: number; state: string }[] = [];
  private readonly receiver: ChildProcess;

  constructor(dir: string) {
    this.path = join(dir, 'notify.sock');
    this.receiver = spawn('python3', ['-c', RECEIVER, this.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    this.receiver.stdout?.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const space = line.indexOf(' ');
        if (line !== 'listening') this.received.push({ at: Number(line.slice(0, space)), state: line.slice(space + 1) });
        else this.listening = true;
      }
    });
  }

  listening = false;

  states(prefix: string): { at: number; state: string }[] {
    return this.received.filter((entry) => entry.state.startsWith(prefix));
  }

  close(): void {
    this.receiver.kill('SIGKILL');
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'discbridge-systemd-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function notifySocket(dir: string): Promise<NotifySocket> {
  const socket = new NotifySocket(dir);
  cleanups.push(() => socket.close());
  await waitFor(() => socket.listening, 5000, 'the notify socket');
  return socket;
}

describe.skipIf(skipAnalyze !== undefined)('the systemd units', () => {
  it.each([['discbridge-hub.service', 3.5], ['discbridge-agent.service', 4.5]])('%s passes systemd-analyze verify and scores at most %s', (unit, most) => {
    const verify = spawnSync('systemd-analyze', ['verify', join(UNITS, unit)], { encoding: 'utf8' });
    expect(verify.stderr.split('\n').filter((line) => line.includes(unit))).toEqual([]);
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', join(UNITS, unit)], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout)?.[1]);
    expect(score).toBeLessThanOrEqual(most);
  });
});

const skipInstall = process.getuid?.() !== 0 ? 'needs root (useradd, chown)'
  : spawnSync('sh', ['-c', 'command -v useradd && command -v systemctl']).status !== 0 ? 'useradd or systemctl is missing' : undefined;

describe.skipIf(skipInstall !== undefined)('discbridge service install on Linux (into a root folder, as for an image)', () => {
  it('adds the discbridge user in the cdrom group, the settings file and rips folder, and installs and enables the unit; uninstall removes it', () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    for (const file of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) {
      if (existsSync(`/etc/${file}`)) copyFileSync(`/etc/${file}`, join(root, 'etc', file));
    }
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/cli/discbridge.js'), 'service', ...args, '--root', root], { encoding: 'utf8' });
    const installed = cli('install', 'agent');
    expect(installed.stdout).toContain(`Installed and enabled discbridge-agent.service under ${root}`);
    expect(installed.status).toBe(0);
    const user = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((line) => line.startsWith('discbridge:'))?.split(':');
    expect(user?.[5]).toBe('/var/lib/discbridge');
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^cdrom:x:\d+:(.*,)?discbridge(,|$)/m);
    // The host's own user list is untouched.
    expect(readFileSync('/etc/passwd', 'utf8')).not.toMatch(/^discbridge:/m);
    const env = statSync(join(root, 'etc/discbridge/agent.env'));
    expect(env.mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'srv/discbridge/rips')).uid).toBe(Number(user?.[2]));
    const unit = readFileSync(join(root, 'etc/systemd/system/discbridge-agent.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${join(ROOT, 'dist/cli/discbridge.js')} agent`);
    const wanted = join(root, 'etc/systemd/system/multi-user.target.wants/discbridge-agent.service');
    expect(lstatSync(wanted).isSymbolicLink() && readlinkSync(wanted)).toBe('/etc/systemd/system/discbridge-agent.service');
    // A second install changes nothing it already made.
    expect(cli('install', 'agent').status).toBe(0);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8').match(/^discbridge:/gm)).toHaveLength(1);

    const removed = cli('uninstall', 'agent');
    expect(removed.stdout).toContain('Removed discbridge-agent.service');
    expect(existsSync(join(root, 'etc/systemd/system/discbridge-agent.service'))).toBe(false);
    expect(existsSync(wanted)).toBe(false);
  });

  it('refuses an unknown side with its usage', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'dist/cli/discbridge.js'), 'service', 'install', 'toaster'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain('Usage: discbridge service install | uninstall | start | stop | status [agent|hub] [--root DIR]');
  });
});

describe.skipIf(skipNotify !== undefined)('sd_notify', () => {
  it('the hub says READY=1 once it serves, WATCHDOG=1 at half the interval, and STOPPING=1 on SIGTERM', async () => {
    const dir = tempDir();
    const socket = await notifySocket(dir);
    const port = await freePort();
    const hub = spawn(process.execPath, [join(ROOT, 'dist/cli/discbridge.js'), 'hub'], {
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', DISCBRIDGE_PORT: String(port), DISCBRIDGE_HOST: '127.0.0.1', DISCBRIDGE_DATA_DIR: join(dir, 'hub'), DISCBRIDGE_LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    cleanups.push(() => hub.kill('SIGKILL'));
    await waitFor(() => socket.states('READY=1').length === 1, 15_000, 'READY=1');
    // Ready means serving: the hub answers at once.
    expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
    expect(socket.states('READY=1')[0]?.state).toBe('READY=1|STATUS=discbridge hub running');
    await waitFor(() => socket.states('WATCHDOG=1').length >= 5, 5000, 'five WATCHDOG=1');
    const beats = socket.states('WATCHDOG=1').map((entry) => entry.at);
    const gaps = beats.slice(1).map((at, i) => at - (beats[i] as number));
    for (const gap of gaps) expect(gap).toBeLessThan(400); // 200 ms apart, within systemd's 400 ms
    hub.kill('SIGTERM');
    await waitFor(() => socket.states('STOPPING=1').length === 1, 10_000, 'STOPPING=1');
  });

  it('sends no WATCHDOG=1 while the event loop is stuck, and sends again once it turns', async () => {
    const dir = tempDir();
    const socket = await notifySocket(dir);
    // The notifier as the hub and the agent use it, in a process whose event loop is then stuck for 1.5 s.
    const script = `
      import pino from 'pino';
      import { SystemdNotifier } from ${JSON.stringify(join(ROOT, 'dist/cli/systemd-notify.js'))};
      new SystemdNotifier(pino({ level: 'silent' })).ready('test');
      setTimeout(() => { const until = Date.now() + 1500; while (Date.now() < until); }, 700);
      setTimeout(() => process.exit(0), 3000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT, env: { PATH: process.env.PATH, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '200000' }, stdio: 'ignore',
    });
    cleanups.push(() => child.kill('SIGKILL'));
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const beats = socket.states('WATCHDOG=1').map((entry) => entry.at);
    const gaps = beats.slice(1).map((at, i) => at - (beats[i] as number));
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1400);
    // Heartbeats before the stuck loop and after it.
    const stuck = gaps.indexOf(Math.max(...gaps));
    expect(stuck).toBeGreaterThanOrEqual(3);
    expect(gaps.length - stuck).toBeGreaterThanOrEqual(5);
  });
});
