// The data-disc backend: backs a disc's volume up to an image file with its SHA-256. Our own block copy reads a
// healthy disc at full speed and hashes it on the way; at a read error GNU ddrescue, when installed, takes over
// from there (copy what reads, then retry the bad areas), and its map file lets a later try continue.
import { createHash, type Hash } from 'node:crypto';
import { access, rename, rm } from 'node:fs/promises';
import { PARTIAL_SUFFIX, finishPartial, syncFile } from '../../shared/files/partial-file.js';
import { RipError } from '../tools/rip-error.js';
import { DiscReadError, copyBlocks } from './block-copy.js';
import type { Ddrescue } from './ddrescue/ddrescue.js';
import { hashFile } from '../../shared/files/hash-file.js';

export interface ImageRequest {
  device: string;
  /** Bytes to copy: the volume's size from its descriptor. */
  sizeBytes: number;
  /** The finished image's path ("<label>.iso"). */
  image: string;
  signal: AbortSignal;
  /** Bytes copied so far, never going back. */
  onProgress: (bytesDone: number) => void;
  onLog?: (line: string) => void;
}

export type ImageResult =
  | { complete: true; sha256: string }
  /** Parts could not be read: the image and its map file stay, so the next try continues. */
  | { complete: false; unreadableBytes: number };

/** Where a rescue keeps its map: beside the image, so both are found together again. */
export function mapFileOf(image: string): string {
  return `${image}.map`;
}

export class DiscImager {
  /** @param ddrescue the rescuer for damaged discs, when installed */
  constructor(private readonly ddrescue: Ddrescue | undefined) {}

  /** Whether an earlier try left an image and map file here to continue from. */
  async hasUnfinishedRescue(image: string): Promise<boolean> {
    return this.ddrescue !== undefined && (await exists(image)) && (await exists(mapFileOf(image)));
  }

  async image(request: ImageRequest): Promise<ImageResult> {
    if (await this.hasUnfinishedRescue(request.image)) return this.continueRescue(request);
    const partial = request.image + PARTIAL_SUFFIX;
    const hash = createHash('sha256');
    try {
      await copyBlocks({ source: request.device, target: partial, sizeBytes: request.sizeBytes, hash, signal: request.signal, onProgress: request.onProgress });
    } catch (error) {
      if (!(error instanceof DiscReadError)) {
        await rm(partial, { force: true });
        throw error;
      }
      return this.afterReadError(request, partial, error, hash);
    }
    await finishPartial(partial, request.image);
    return { complete: true, sha256: hash.digest('hex') };
  }

  private async afterReadError(request: ImageRequest, partial: string, error: DiscReadError, hash: Hash): Promise<ImageResult> {
    const unread = request.sizeBytes - error.offset;
    if (!this.ddrescue) {
      await rm(partial, { force: true });
      throw new RipError(
        `${unread} bytes could not be read: the disc gave a read error at ${megabytes(error.offset)} MB. `
        + 'Install GNU ddrescue (Debian: gddrescue) to copy what reads and retry the rest',
        error.message,
        'unreadable',
      );
    }
    request.onLog?.(`Read error at ${megabytes(error.offset)} MB: ddrescue copies the rest and retries the bad areas`);
    // From here on the image is kept with its map: a crash or a failure leaves both for the next try.
    await rename(partial, request.image);
    return this.rescue(this.ddrescue, request, { offset: error.offset, hash });
  }

  private continueRescue(request: ImageRequest): Promise<ImageResult> {
    request.onLog?.('Continuing the rescue of the earlier try from its map file');
    return this.rescue(this.ddrescue as Ddrescue, request);
  }

  /**
   * Lets ddrescue fill in the image, then hashes it. `copied`: our own copy read the bytes before `offset` and
   * hashed them already, so ddrescue starts there and only the rest is read back for the hash.
   */
  private async rescue(ddrescue: Ddrescue, request: ImageRequest, copied?: { offset: number; hash: Hash }): Promise<ImageResult> {
    const { unreadableBytes } = await ddrescue.rescue({
      device: request.device, image: request.image, mapFile: mapFileOf(request.image), sizeBytes: request.sizeBytes,
      signal: request.signal, onProgress: request.onProgress,
      ...(copied ? { copiedBytes: copied.offset } : {}),
      ...(request.onLog ? { onLog: request.onLog } : {}),
    });
    if (unreadableBytes > 0) return { complete: false, unreadableBytes };
    const sha256 = await hashFile({ file: request.image, signal: request.signal, ...(copied ? { from: copied.offset, hash: copied.hash } : {}) });
    // The map goes only once the image is on disk: a power cut before that leaves both, and the next try continues.
    await syncFile(request.image);
    await rm(mapFileOf(request.image), { force: true });
    return { complete: true, sha256 };
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
