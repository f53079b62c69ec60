// `discbridge service install | uninstall | start | stop | status [agent|hub]` on Linux: the units in
// scripts/systemd, installed to run this very install of discbridge (its node and its script), the discbridge user
// in the cdrom group (the drives' group), /etc/discbridge with a settings file to fill in, and the rips folder.
// `--root DIR` does the same inside DIR without starting anything (systemctl --root, useradd --root): for images,
// and for the tests, on machines that do not boot systemd.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

type Side = 'agent' | 'hub';

const USAGE = 'Usage: discbridge service install | uninstall | start | stop | status [agent|hub] [--root DIR]';
const USER = 'discbridge';
const RIPS = '/srv/discbridge/rips';
const ENV_TEMPLATES: Record<Side, string> = {
  agent: [
    '# Settings of the discbridge agent (see discbridge --help). At least the hub and this station\'s token',
    '# (from "discbridge station add ID" on the hub), then: systemctl restart discbridge-agent',
    'DISCBRIDGE_HUB_URL=ws://localhost:8000',
    'DISCBRIDGE_TOKEN=',
    '',
  ].join('\n'),
  hub: ['# Settings of the discbridge hub (see discbridge --help), then: systemctl restart discbridge-hub', '#DISCBRIDGE_PORT=8000', ''].join('\n'),
};

/** The package's root: dist/cli/ of a build, or cli/ of the sources. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, '..', 'scripts', 'systemd')) ? join(here, '..') : join(here, '..', '..');
}

export async function linuxServiceCommand(args: readonly string[], out: (line: string) => void): Promise<number> {
  const action = args[0];
  const rootAt = args.indexOf('--root');
  const root = rootAt >= 0 ? args[rootAt + 1] : undefined;
  const sides = args.slice(1).filter((arg, i) => arg !== '--root' && args[i] !== '--root');
  const side: Side | undefined = sides.length === 0 ? 'agent' : sides[0] === 'agent' || sides[0] === 'hub' ? sides[0] : undefined;
  if (!side || sides.length > 1 || (rootAt >= 0 && !root) || !['install', 'uninstall', 'start', 'stop', 'status'].includes(action ?? '')) {
    out(USAGE);
    return 2;
  }
  const unit = `discbridge-${side}.service`;
  const at = (path: string) => (root ? join(resolve(root), path) : path);
  const systemctl = async (...systemctlArgs: string[]) => {
    const result = await execa('systemctl', [...(root ? [`--root=${resolve(root)}`] : []), ...systemctlArgs], { reject: false, stdin: 'ignore' });
    return { ok: result.exitCode === 0, text: `${result.stdout}\n${result.stderr}`.trim() };
  };
  if ((action === 'install' || action === 'uninstall') && process.getuid?.() !== 0) {
    out(`Run this as root (sudo discbridge service ${action} ${side}): it adds a user and system units`);
    return 1;
  }
  switch (action) {
    case 'install': {
      const uid = await ensureUser(at('/etc/passwd'), root);
      if (uid === undefined) {
        out(`Could not add the user ${USER} (useradd failed): add it yourself with useradd --system --groups cdrom ${USER}`);
        return 1;
      }
      mkdirSync(at('/etc/discbridge'), { recursive: true, mode: 0o755 });
      const envFile = at(`/etc/discbridge/${side}.env`);
      if (!existsSync(envFile)) {
        // Tokens go in here: readable by root and the service's group only.
        writeFileSync(envFile, ENV_TEMPLATES[side], { mode: 0o640 });
        chownSync(envFile, 0, uid.gid);
      }
      if (side === 'agent') {
        mkdirSync(at(RIPS), { recursive: true, mode: 0o750 });
        chownSync(at(dirname(RIPS)), uid.uid, uid.gid);
        chownSync(at(RIPS), uid.uid, uid.gid);
      }
      // The unit runs this install of discbridge: this node, this script.
      const script = join(packageRoot(), 'dist', 'cli', 'discbridge.js');
      const template = readFileSync(join(packageRoot(), 'scripts', 'systemd', unit), 'utf8');
      mkdirSync(at('/etc/systemd/system'), { recursive: true });
      writeFileSync(at(`/etc/systemd/system/${unit}`), template.replace(/^ExecStart=\/usr\/bin\/env discbridge /m, `ExecStart=${process.execPath} ${script} `));
      chmodSync(at(`/etc/systemd/system/${unit}`), 0o644);
      if (!root) await systemctl('daemon-reload');
      const enabled = await systemctl('enable', ...(root ? [] : ['--now']), unit);
      if (!enabled.ok) {
        out(`Installed ${unit}, but systemctl could not enable it: ${enabled.text}`);
        return 1;
      }
      out(`Installed and enabled ${unit}${root ? ` under ${root}` : ', and started it'}. Settings: /etc/discbridge/${side}.env${side === 'agent' ? `; rips go to ${RIPS}` : ''}; log: journalctl -u discbridge-${side}`);
      return 0;
    }
    case 'uninstall': {
      const disabled = await systemctl('disable', ...(root ? [] : ['--now']), unit);
      rmSync(at(`/etc/systemd/system/${unit}`), { force: true });
      if (!root) await systemctl('daemon-reload');
      out(disabled.ok
        ? `Removed ${unit}; the user ${USER}, /etc/discbridge and the data stay`
        : `Removed ${unit}, but systemctl could not disable it: ${disabled.text}`);
      return disabled.ok ? 0 : 1;
    }
    case 'start':
    case 'stop': {
      const result = await systemctl(action, unit);
      out(result.ok ? `${action === 'start' ? 'Started' : 'Stopped'} ${unit}` : `Could not ${action} ${unit}: ${result.text}`);
      return result.ok ? 0 : 1;
    }
    default: {
      const state = (await systemctl('is-active', unit)).text.split('\n')[0] ?? 'unknown';
      out(`${unit}: ${state}; log: journalctl -u discbridge-${side}`);
      return state === 'active' ? 0 : 3;
    }
  }
}

/** The discbridge user's uid and gid, adding it (a system user in the cdrom group) when it is not there. */
async function ensureUser(passwd: string, root: string | undefined): Promise<{ uid: number; gid: number } | undefined> {
  const find = () => {
    const line = readFileSync(passwd, 'utf8').split('\n').find((entry) => entry.startsWith(`${USER}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    return line ? { uid: Number(uid), gid: Number(gid) } : undefined;
  };
  const known = find();
  if (known) return known;
  const added = await execa('useradd', [
    ...(root ? ['--root', resolve(root)] : []), '--system', '--no-create-home', '--home-dir', '/var/lib/discbridge', '--shell', '/usr/sbin/nologin', '--groups', 'cdrom', USER,
  ], { reject: false, stdin: 'ignore' });
  return added.exitCode === 0 ? find() : undefined;
}
