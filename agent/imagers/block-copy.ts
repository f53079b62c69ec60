// Copies the first `sizeBytes` of a disc to a file in large aligned reads, hashing what it reads as it goes and
// overlapping each read with the previous write. Stops at the first read error, saying where: the caller decides
// whether to go on with ddrescue.
import type { Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** 4 MiB: large enough that per-call overhead vanishes, a whole number of 2048-byte sectors. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** The disc could not be read at `offset`; everything before it was copied. */
export class DiscReadError extends Error {
  override name = 'DiscReadError';
  constructor(readonly offset: number, readonly code: string) {
    super(`Read error at byte ${offset} (${code})`);
  }
}

export interface BlockCopy {
  source: string;
  target: string;
  sizeBytes: number;
  /** Updated with every byte read, in order. */
  hash: Hash;
  signal: AbortSignal;
  onProgress: (bytesCopied: number) => void;
}

/** Copies, then flushes the file to disk. Rejects with DiscReadError, the signal's reason, or a write error. */
export async function copyBlocks(copy: BlockCopy): Promise<void> {
  const source = await open(copy.source, 'r');
  try {
    const target = await open(copy.target, 'w');
    try {
      await pump(copy, source, target);
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

async function pump(copy: BlockCopy, source: FileHandle, target: FileHandle): Promise<void> {
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let writing: Promise<unknown> = Promise.resolve();
  for (let position = 0, turn = 0; position < copy.sizeBytes; turn ^= 1) {
    copy.signal.throwIfAborted();
    const buffer = buffers[turn] as Buffer;
    const wanted = Math.min(CHUNK_BYTES, copy.sizeBytes - position);
    let bytesRead: number;
    try {
      ({ bytesRead } = await source.read(buffer, 0, wanted, position));
    } catch (error) {
      await writing;
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EIO' || code === 'ENOMEDIUM' || code === 'ENXIO') throw new DiscReadError(position, code);
      throw error;
    }
    if (bytesRead === 0) {
      await writing;
      throw new DiscReadError(position, 'EOF');
    }
    copy.hash.update(buffer.subarray(0, bytesRead));
    // The other buffer's write must be done before that buffer is read into again.
    await writing;
    const at = position;
    writing = target.write(buffer, 0, bytesRead, at);
    position += bytesRead;
    const done = position;
    void writing.then(() => copy.onProgress(done), () => undefined);
  }
  await writing;
}
