// What the agent asks of a disc's file system, answered by reading it (no mount, no process): does a file exist
// (UDF first, then ISO 9660), and the volume's label, file system and size. Never throws; broken means "no".
import { findIsoEntry, readIsoVolume } from './iso9660.js';
import type { ReadAt } from './read-at.js';
import { findUdfEntry, readUdfVolume } from './udf.js';

export type DiscFileSystem = 'iso9660' | 'udf';

export interface VolumeInfo {
  label?: string;
  fileSystem: DiscFileSystem | undefined;
  /** Bytes to copy for the whole volume: ISO 9660's volume space size × block size, else the UDF volume's end. */
  volumeBytes?: number;
}

/**
 * True when `path` (`VIDEO_TS/VIDEO_TS.IFO`, `BDMV/index.bdmv`; any case, `;1` optional) is a non-empty regular
 * file in the disc's UDF file system or, failing that, its ISO 9660 one.
 */
export async function discHasFile(read: ReadAt, path: string): Promise<boolean> {
  try {
    const udf = await findUdfEntry(read, path);
    if (udf) return !udf.isDirectory && udf.size > 0;
    const iso = await findIsoEntry(read, path);
    return iso !== undefined && !iso.isDirectory && iso.size > 0;
  } catch {
    return false;
  }
}

/** Label, file system (UDF when there is one, as blkid says for bridge discs) and volume size. */
export async function volumeInfo(read: ReadAt): Promise<VolumeInfo> {
  try {
    const iso = await readIsoVolume(read);
    const isoBytes = iso && iso.volumeBytes > 0 ? iso.volumeBytes : undefined;
    // A bridge disc's size comes from its ISO 9660 side: no need to look for the UDF volume's end.
    const udf = await readUdfVolume(read, { volumeSize: isoBytes === undefined });
    const volumeBytes = isoBytes ?? udf?.volumeBytes;
    const label = udf ? udf.label : iso?.label;
    return {
      fileSystem: udf ? 'udf' : iso ? 'iso9660' : undefined,
      ...(label !== undefined ? { label } : {}),
      ...(volumeBytes !== undefined ? { volumeBytes } : {}),
    };
  } catch {
    return { fileSystem: undefined };
  }
}
