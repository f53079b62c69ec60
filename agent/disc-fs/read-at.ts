// Random access to a disc without mounting it: read N bytes at an offset of a block device or image file, plus the
// byte budget and the path rules (components, case-insensitive names) that the ISO 9660 and UDF readers share.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Reads `length` bytes at `offset`; at the end of the medium it returns what is there (possibly nothing). */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/** No single read asks for more than this: every length on a disc is capped well below it before reading. */
export const MAX_READ_BYTES = 16 * 1024 * 1024;

export interface OpenedDisc {
  read: ReadAt;
  close(): Promise<void>;
}

/**
 * Opens a block device or image file read-only (no mount, no process). Throws when it cannot be opened. On Linux
 * with O_NONBLOCK, as blkid does: opening an `sr` drive without it may close an open tray (CDROM_AUTOCLOSE).
 */
export async function openReadAt(path: string): Promise<OpenedDisc> {
  const flags = process.platform === 'linux' ? constants.O_RDONLY | constants.O_NONBLOCK : 'r';
  const handle = await open(path, flags);
  let closed = false;
  const read: ReadAt = async (offset, length) => {
    if (closed) throw new Error('disc is closed');
    checkRange(offset, length);
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  };
  return {
    read,
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** A ReadAt over bytes in memory (an image read whole, a test's hand-made volume). */
export function readAtBuffer(bytes: Buffer): ReadAt {
  return async (offset, length) => {
    checkRange(offset, length);
    return offset >= bytes.length ? Buffer.alloc(0) : bytes.subarray(offset, Math.min(bytes.length, offset + length));
  };
}

function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) throw new RangeError(`bad length ${length}`);
  if (!Number.isSafeInteger(offset + length)) throw new RangeError(`offset ${offset} + length ${length} is too large`);
}

/**
 * Wraps a ReadAt so that one look-up reads at most `maxBytes` in all and at most `maxReads` times: a hostile image
 * (a thousand huge directories, a chain of extents) ends in an error, which the readers turn into "not found".
 */
export function budgetedRead(read: ReadAt, maxBytes = 64 * 1024 * 1024, maxReads = 4096): ReadAt {
  let bytes = 0;
  let reads = 0;
  return (offset, length) => {
    bytes += length;
    reads += 1;
    if (bytes > maxBytes || reads > maxReads) return Promise.reject(new Error('read budget exhausted'));
    return read(offset, length);
  };
}

/**
 * Wraps a ReadAt so that repeated reads of the same range (every look-up reads the anchor and descriptors again)
 * are served from memory, for as long as the wrapper lives; at most `maxBytes` are kept (then nothing more is).
 */
export function cachedRead(read: ReadAt, maxBytes = 4 * 1024 * 1024): ReadAt {
  const cache = new Map<string, Promise<Buffer>>();
  let kept = 0;
  return (offset, length) => {
    const key = `${offset}:${length}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const pending = read(offset, length);
    if (kept + length <= maxBytes) {
      kept += length;
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    return pending;
  };
}

/** The most path components a look-up follows (ISO 9660 allows 8 levels, Rock Ridge and UDF more). */
export const MAX_PATH_DEPTH = 64;

/** `BDMV/index.bdmv`, `/VIDEO_TS/VIDEO_TS.IFO;1` or `a\b` → its components; undefined when empty or too deep. */
export function splitDiscPath(path: string): string[] | undefined {
  const parts = path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.length > MAX_PATH_DEPTH || parts.includes('..')) return undefined;
  return parts.map(stripVersion);
}

/** A name as compared: ISO 9660's `;1` version and a bare trailing dot (`README.;1`) dropped, case folded. */
export function foldName(name: string): string {
  return stripVersion(name).normalize('NFC').toLowerCase();
}

function stripVersion(name: string): string {
  let stripped = name.replace(/;\d*$/, '');
  if (stripped.endsWith('.') && stripped.length > 1 && stripped !== '..') stripped = stripped.slice(0, -1);
  return stripped;
}
