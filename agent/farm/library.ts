// The folders a transcode task's paths are relative to on this station, and whether it can use the shared library
// it names (DISCBRIDGE_LIBRARY_DIR): it must be there (a NAS not mounted yet shows as a missing or empty folder) and
// writable, or every task leased here fails. Only looks.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { TaskRoot } from '../../shared/index.js';
import { pathInside } from '../jobs/naming.js';

/** This station's folders that a task's `root` names. */
export interface TaskFolders {
  libraryDir?: string | undefined;
  outputDir: string;
}

/** A task's file on this station, from its root and its path relative to it; throws for one outside its root, or no library. */
export function taskFile(folders: TaskFolders, root: TaskRoot, relative: string): string {
  const folder = root === 'library' ? folders.libraryDir : folders.outputDir;
  if (!folder) throw new Error('This station has no shared library (DISCBRIDGE_LIBRARY_DIR)');
  return pathInside(folder, ...relative.split('/'));
}

/** A sentence saying why the library cannot be used and what to do, or undefined when it can. */
export async function libraryProblem(folder: string): Promise<string | undefined> {
  const info = await stat(folder).catch(() => undefined);
  if (!info) return `The shared library ${folder} (DISCBRIDGE_LIBRARY_DIR) is not there: mount the NAS there, or point DISCBRIDGE_LIBRARY_DIR at its mount point`;
  if (!info.isDirectory()) return `The shared library ${folder} (DISCBRIDGE_LIBRARY_DIR) is a file, not a folder`;
  try {
    await access(folder, constants.W_OK | constants.X_OK);
    return undefined;
  } catch {
    const uid = process.getuid?.();
    return `The shared library ${folder} (DISCBRIDGE_LIBRARY_DIR) is owned by ${info.uid}:${info.gid} with mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, and this process (uid ${uid ?? '?'}) cannot write it, so no transcode can be saved there: give this user write access on the NAS`;
  }
}
