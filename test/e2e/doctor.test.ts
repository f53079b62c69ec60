// `discbridge doctor` and the agent's drive check on a real loop device, run as an unprivileged user (setpriv), the
// way a container's user meets a drive: no drive node at all, a node its user cannot read (root:root 0600, as loop
// devices are here), the node as udev makes a real drive's (root:cdrom 0660) without and with the cdrom group.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, VirtualDrive, loopDevicesUnavailable, makeDisc } from './harness.js';

const CDROM_GID = 24;
/** These machines may themselves be containers; the doctor's sentences say so there, and the test expects those. */
const CONTAINER = existsSync('/.dockerenv') || existsSync('/run/.containerenv');
const NOBODY = 65534;
const skip = loopDevicesUnavailable() ?? (spawnSync('sh', ['-c', 'command -v setpriv']).status === 0 ? undefined : 'setpriv is not installed');

const fix = (group: string, gid: number) => (CONTAINER
  ? `add the group to the container's user (compose: group_add: ["${group}"]; the number must be the host's gid ${gid})`
  : `add the user to the group ${group} (usermod -aG ${group} <user>, then log in again)`);

let drive: VirtualDrive | undefined;
let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  drive?.release();
  drive = restore = undefined;
});

/** `discbridge doctor` as uid 65534 with these groups; only its lines about drives (or about `about`). */
function doctorAs(groups: number[], drives: string, output = '/tmp', about = '/dev/'): { status: number | null; lines: string[] } {
  const run = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
    process.execPath, join(ROOT, 'dist/cli/discbridge.js'), 'doctor'], {
    encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH, DISCBRIDGE_DRIVES: drives, DISCBRIDGE_RIPPER: 'makemkv', DISCBRIDGE_OUTPUT_DIR: output },
  });
  return { status: run.status, lines: `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.includes(about)) };
}

describe.skipIf(skip !== undefined)('discbridge doctor: what keeps the agent from its drives', () => {
  it('says when the output folder is not writable, and how to give it to the user', () => {
    const folder = mkdtempSync(join(tmpdir(), 'discbridge-doctor-rips-'));
    chmodSync(folder, 0o755);
    try {
      const { status, lines } = doctorAs([], '/dev/null', folder, folder);
      expect(status).toBe(1);
      expect(lines).toEqual([`PROBLEM  The output folder ${folder} is owned by 0:0 with mode 0755, and this process (uid ${NOBODY}) cannot write it, so no rip can be saved: ${CONTAINER
        ? `on the host, give the folder mounted there to uid ${NOBODY} (sudo chown ${NOBODY}:${NOBODY} <folder>), or mount another`
        : `give it to this user (sudo chown ${NOBODY} ${folder}), or set DISCBRIDGE_OUTPUT_DIR to a folder it owns`}`]);
      // A folder not there yet is judged by the one it would be made in, and the doctor makes nothing.
      const later = join(folder, 'rips');
      expect(doctorAs([], '/dev/null', later, later).lines).toEqual([`PROBLEM  The output folder ${later} does not exist yet, and ${folder}, where it would be made, is owned by 0:0 with mode 0755, and this process (uid ${NOBODY}) cannot write it, so no rip can be saved: ${CONTAINER
        ? `on the host, give the folder mounted there to uid ${NOBODY} (sudo chown ${NOBODY}:${NOBODY} <folder>), or mount another`
        : `give it to this user (sudo chown ${NOBODY} ${folder}), or set DISCBRIDGE_OUTPUT_DIR to a folder it owns`}`]);
      expect(existsSync(later)).toBe(false);
      chownSync(folder, NOBODY, NOBODY);
      expect(doctorAs([], '/dev/null', folder, folder).lines).toEqual([]);
      expect(doctorAs([], '/dev/null', later, later).lines).toEqual([]);
      expect(existsSync(later)).toBe(false);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('says when no drive node matches, and what to pass to a container', () => {
    const { status, lines } = doctorAs([], '/dev/discbridge-no-such-drive*');
    expect(status).toBe(1);
    expect(lines).toEqual([CONTAINER
      ? 'PROBLEM  No drive node matches /dev/discbridge-no-such-drive* in this container: pass the drive in (compose: devices: ["/dev/sr0:/dev/sr0"], and its /dev/sg node for MakeMKV; docker run --device /dev/sr0)'
      : 'PROBLEM  No drive node matches /dev/discbridge-no-such-drive*: is an optical drive attached (ls -l /dev/sr*), or is DISCBRIDGE_DRIVES wrong?']);
  });

  it('says which group a drive its user cannot read needs, and nothing once the user has it', () => {
    drive = VirtualDrive.reserve();
    drive.insert(makeDisc('e2e-data', ['--data', '--label', 'E2E_PHOTOS']));
    const device = drive.device;
    const before = statSync(device);
    restore = () => { chownSync(device, before.uid, before.gid); chmodSync(device, before.mode & 0o7777); };

    chownSync(device, 0, 0);
    chmodSync(device, 0o600);
    const closed = doctorAs([], device);
    expect(closed.status).toBe(1);
    expect(closed.lines).toEqual([`PROBLEM  ${device} is owned by 0:root with mode 0600, and this process (uid ${NOBODY}, groups ${NOBODY}) cannot read it: its group may not read it either, so no group helps: on the host, make it root:cdrom 0660 as udev does for optical drives (a udev rule, or chgrp cdrom ${device} && chmod 0660 ${device})`]);

    // As udev makes a real /dev/sr0.
    chownSync(device, 0, CDROM_GID);
    chmodSync(device, 0o660);
    const withoutGroup = doctorAs([], device);
    expect(withoutGroup.lines).toEqual([`PROBLEM  ${device} is owned by 0:cdrom with mode 0660, and this process (uid ${NOBODY}, groups ${NOBODY}) cannot read it: ${fix('cdrom', CDROM_GID)}`]);
    const withGroup = doctorAs([CDROM_GID], device);
    expect(withGroup.lines).toEqual([]);
  });
});
