// Whether this process can write the rips where it is told to: the second thing a container gets wrong after the
// drive (a folder mounted from the host keeps the host's owner, and the image's user is uid 990).
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { inContainer } from '../tools/container.js';

/** A sentence saying why rips cannot be written to `folder` and how to fix it, or undefined when they can. */
export async function outputFolderProblem(folder: string): Promise<string | undefined> {
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    const info = await stat(folder).catch(() => undefined);
    const uid = process.getuid?.();
    if (!info) return `The output folder ${folder} cannot be created: ${(error as Error).message}`;
    const fix = inContainer()
      ? `on the host, give the folder mounted there to uid ${uid ?? '?'} (sudo chown ${uid ?? '?'}:${uid ?? '?'} <folder>), or mount another`
      : `give it to this user (sudo chown ${uid ?? '?'} ${folder}), or set DISCBRIDGE_OUTPUT_DIR to a folder it owns`;
    return `The output folder ${folder} is owned by ${info.uid}:${info.gid} with mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, and this process (uid ${uid ?? '?'}) cannot write it, so no rip can be saved: ${fix}`;
  }
}
