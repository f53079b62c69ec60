// Whether a failed write is down to a full disk: told as that (it is a person's to mend, and no retry helps), not as
// whatever the tool or the file system said about it.
import { statfs } from 'node:fs/promises';

/** Under this much free space a failed write is taken for a full disk. */
const FULL_DISK_BYTES = 64 * 1024 * 1024;

/** The megabytes free on the disk of `folder` when so few that a failed write there is taken for a full disk. */
export async function fullDiskMegabytes(folder: string | undefined): Promise<number | undefined> {
  if (folder === undefined) return undefined;
  const free = await statfs(folder).then((s) => s.bavail * s.bsize, () => undefined);
  return free !== undefined && free < FULL_DISK_BYTES ? Math.round(free / 1024 / 1024) : undefined;
}
