// The SHA-256 of a file read back from disk (or of its first bytes), continuing a hash already fed with what comes
// before when given: one reader for the agent's images and transfers and for the hub's spool.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileHashing {
  file: string;
  /** Hash these bytes of the file: from `from` (default 0) up to `to` (exclusive; default its end). */
  from?: number;
  to?: number;
  /** A hash that already holds the bytes before `from`. */
  hash?: Hash;
  signal?: AbortSignal;
  onProgress?: (bytesHashed: number) => void;
}

/** The hash fed with the bytes, not yet digested: to go on with what comes after them. */
export async function hashInto(hashing: FileHashing): Promise<Hash> {
  const hash = hashing.hash ?? createHash('sha256');
  const end = hashing.to ?? Number.POSITIVE_INFINITY;
  if (end <= (hashing.from ?? 0)) return hash;
  const handle = await open(hashing.file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = hashing.from ?? 0; position < end;) {
      hashing.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, end - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      hashing.onProgress?.(position);
    }
  } finally {
    await handle.close();
  }
  return hash;
}

/** Lower-case hex, as `sha256sum` prints it. */
export async function hashFile(hashing: FileHashing): Promise<string> {
  return (await hashInto(hashing)).digest('hex');
}
