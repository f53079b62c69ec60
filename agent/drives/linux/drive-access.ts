// What keeps this process from using the drives it is told to watch, each told as a sentence that says how to fix
// it: no drive node at all (in a container: the drive was not passed in), a node this user cannot read (its group,
// usually cdrom, is missing), and for MakeMKV the drive's SCSI generic node (/dev/sgN) missing or not writable.
// The most frequent "it does not see my drive" reports of containerised rippers are these three.
import { constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { inContainer } from '../../tools/container.js';
import { resolveBlockDevice } from './block-device.js';
import { folderOf } from './block-device-source.js';

export interface DriveAccessOptions {
  /** Whether the ripper talks to the drive through its SCSI generic node (MakeMKV does). */
  needsScsiGeneric: boolean;
}

/** Sentences, one per problem; none when every drive can be used. */
export async function driveAccessProblems(patterns: readonly string[], options: DriveAccessOptions): Promise<string[]> {
  const paths = await matchingPaths(patterns);
  const container = inContainer();
  if (paths.length === 0) {
    return [container
      ? `No drive node matches ${patterns.join(', ')} in this container: pass the drive in (compose: devices: ["/dev/sr0:/dev/sr0"], and its /dev/sg node for MakeMKV; docker run --device /dev/sr0)`
      : `No drive node matches ${patterns.join(', ')}: is an optical drive attached (ls -l /dev/sr*), or is DISCBRIDGE_DRIVES wrong?`];
  }
  const problems: string[] = [];
  for (const path of paths) {
    const device = await resolveBlockDevice(path);
    if (!device) {
      problems.push(`${path} is not a block device, so it cannot be a drive`);
      continue;
    }
    const unreadable = await refusal(path, constants.R_OK, container);
    if (unreadable) problems.push(unreadable);
    if (options.needsScsiGeneric && !device.isLoop) {
      const generic = scsiGenericOf(device.kernelName);
      if (!generic) continue; // the kernel has no sg driver loaded, or no SCSI layer for this drive: MakeMKV says so itself
      if (!existsSync(`/dev/${generic}`)) {
        problems.push(`MakeMKV needs /dev/${generic}, the SCSI generic node of ${path}, and it is missing${container ? ': pass it to the container too (devices: ["/dev/' + generic + ':/dev/' + generic + '"])' : ''}`);
        continue;
      }
      const cannot = await refusal(`/dev/${generic}`, constants.R_OK | constants.W_OK, container, 'read and write');
      if (cannot) problems.push(`${cannot} (MakeMKV needs it)`);
    }
  }
  return problems;
}

async function matchingPaths(patterns: readonly string[]): Promise<string[]> {
  const matches = picomatch([...patterns]);
  const found = new Set<string>();
  for (const folder of new Set(patterns.map(folderOf))) {
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      const path = join(folder, name);
      if (matches(path)) found.add(path);
    }
  }
  return [...found].sort();
}

/** Why this process may not use `path` that way, or undefined when it may. */
async function refusal(path: string, mode: number, container: boolean, what = 'read'): Promise<string | undefined> {
  try {
    await access(path, mode);
    return undefined;
  } catch {
    const info = await stat(path);
    const group = groupName(info.gid);
    const who = `this process (uid ${process.getuid?.() ?? '?'}, groups ${(process.getgroups?.() ?? []).join(',') || 'none'})`;
    const groupBits = mode & constants.W_OK ? 0o060 : 0o040;
    const groupMay = (info.mode & groupBits) === groupBits;
    const fix = !groupMay
      ? `its group may not ${what} it either, so no group helps: on the host, make it root:cdrom 0660 as udev does for optical drives (a udev rule, or chgrp cdrom ${path} && chmod 0660 ${path})`
      : container
        ? `add the group to the container's user (compose: group_add: ["${group ?? info.gid}"]; the number must be the host's gid ${info.gid})`
        : `add the user to the group ${group ?? info.gid} (usermod -aG ${group ?? info.gid} <user>, then log in again)`;
    return `${path} is owned by ${info.uid}:${group ?? info.gid} with mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, and ${who} cannot ${what} it: ${fix}`;
  }
}

/** The sg node of an sr drive, from sysfs (sr0 → sg0, or whatever the kernel numbered it). */
function scsiGenericOf(kernelName: string): string | undefined {
  try {
    return readdirSync(`/sys/block/${kernelName}/device/scsi_generic`)[0];
  } catch {
    return undefined;
  }
}

function groupName(gid: number): string | undefined {
  try {
    return readFileSync('/etc/group', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => Number(fields[2]) === gid)?.[0];
  } catch {
    return undefined;
  }
}
