// How every writer names a file while writing it ("title.mkv.part", "disc.iso.part"): the finished name appears only
// by a rename once it is whole, and after a crash recovery finds and removes what was left half-written. The rename
// is made durable before anyone is told: after a power cut a finished name never stands over a truncated file.
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export const PARTIAL_SUFFIX = '.part';

/** Renames a whole partial file to its finished name: its data is on disk first, and the rename before it returns. */
export async function finishPartial(partial: string, finished: string): Promise<void> {
  await syncFile(partial);
  await rename(partial, finished);
  await syncFolder(dirname(finished));
}

/** Waits until a file's data is on stable storage (fsync). */
export async function syncFile(file: string): Promise<void> {
  await fsync(file, 'r+');
}

/**
 * Waits until a folder's entries (files created, renamed or removed in it) are on stable storage. Windows cannot open
 * a folder to flush it, and NTFS journals its entries itself.
 */
export async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  await fsync(folder, 'r');
}

async function fsync(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
