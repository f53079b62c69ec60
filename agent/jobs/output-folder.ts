// Whether this process can write the rips where it is told to: the second thing a container gets wrong after the
// drive (a folder mounted from the host keeps the host's owner, and the image's user is uid 990). Only looks: a
// folder not there yet is judged by the one it would be made in, so `sudo discbridge doctor` never leaves a root-owned
// rips folder behind for the agent's own user.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inContainer } from '../tools/container.js';

/** A sentence saying why rips cannot be written to `folder` and how to fix it, or undefined when they can. */
export async function outputFolderProblem(folder: string): Promise<string | undefined> {
  let existing = folder;
  let info = await stat(existing).catch(() => undefined);
  while (!info && dirname(existing) !== existing) {
    existing = dirname(existing);
    info = await stat(existing).catch(() => undefined);
  }
  if (!info) return `The output folder ${folder} cannot be created: none of the folders above it exists`;
  if (!info.isDirectory()) return `The output folder ${folder} cannot be ${existing === folder ? 'used' : 'created'}: ${existing} is a file, not a folder`;
  try {
    await access(existing, constants.W_OK | constants.X_OK);
    return undefined;
  } catch {
    const uid = process.getuid?.();
    const fix = inContainer()
      ? `on the host, give the folder mounted there to uid ${uid ?? '?'} (sudo chown ${uid ?? '?'}:${uid ?? '?'} <folder>), or mount another`
      : `give it to this user (sudo chown ${uid ?? '?'} ${existing}), or set DISCBRIDGE_OUTPUT_DIR to a folder it owns`;
    const what = existing === folder ? `The output folder ${folder}` : `The output folder ${folder} does not exist yet, and ${existing}, where it would be made,`;
    return `${what} is owned by ${info.uid}:${info.gid} with mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, and this process (uid ${uid ?? '?'}) cannot write it, so no rip can be saved: ${fix}`;
  }
}
