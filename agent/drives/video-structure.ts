// What a disc's own files say it is, on every platform: BDMV/index.bdmv makes a Blu-ray, VIDEO_TS/VIDEO_TS.IFO a
// DVD (a Blu-ray can carry both, and is a Blu-ray). Read in-process from its UDF or ISO 9660.
import { discHasFile } from '../disc-fs/disc-files.js';
import { cachedRead, openReadAt, type ReadAt } from '../disc-fs/read-at.js';

/** What the disc's own file system holds: the DVD-Video and Blu-ray entry files. */
export interface DiscStructure {
  videoTs: boolean;
  bdmv: boolean;
}

export async function readVideoStructure(read: ReadAt): Promise<DiscStructure> {
  return { videoTs: await discHasFile(read, 'VIDEO_TS/VIDEO_TS.IFO'), bdmv: await discHasFile(read, 'BDMV/index.bdmv') };
}

/** The video disc those files make, or undefined when they make none. */
export function videoDiscType(found: Partial<DiscStructure>): 'bluray' | 'dvd' | undefined {
  if (found.bdmv) return 'bluray';
  return found.videoTs ? 'dvd' : undefined;
}

/**
 * Reads the disc's UDF (else ISO 9660) file system directly, without mounting it or starting a process: whether
 * `VIDEO_TS/VIDEO_TS.IFO` and `BDMV/index.bdmv` are there (non-empty files, any case).
 * A device that cannot be opened (no medium, no permission) or read is simply neither.
 */
export async function readDiscStructure(devicePath: string): Promise<DiscStructure> {
  let disc;
  try {
    disc = await openReadAt(devicePath);
  } catch {
    return { videoTs: false, bdmv: false };
  }
  try {
    return await readVideoStructure(cachedRead(disc.read)); // both look-ups share the anchor, descriptors and root directory
  } finally {
    await disc.close().catch(() => undefined);
  }
}
