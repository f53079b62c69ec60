// The SHA-256 of a file read back from disk, continuing a hash already fed with its first bytes when given.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileHashing {
  file: string;
  /** Hash these bytes of the file: from `from` (default 0) to its end. */
  from?: number;
  /** A hash that already holds the bytes before `from`. */
  hash?: Hash;
  signal: AbortSignal;
  onProgress?: (bytesHashed: number) => void;
}

/** Lower-case hex, as `sha256sum` prints it. */
export async function hashFile(hashing: FileHashing): Promise<string> {
  const hash = hashing.hash ?? createHash('sha256');
  const handle = await open(hashing.file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = hashing.from ?? 0; ;) {
      hashing.signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      hashing.onProgress?.(position);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
