// Finds the PCM samples inside a WAV file and hashes them: the MD5 that FLAC stores of the audio it encoded, so a rip
// and its FLAC file can be compared. Walks the RIFF chunks, since a header is 44 bytes only when nothing else is there.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { RipError } from '../tools/rip-error.js';

export interface PcmRange {
  /** Byte offset of the first sample. */
  offset: number;
  length: number;
}

const CHUNK_HEADER_BYTES = 8;

/** Where the `data` chunk's samples are. Throws a RipError for a file that is not a whole WAV. */
export async function findPcm(wavFile: string): Promise<PcmRange> {
  const file = await open(wavFile, 'r');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(12);
    await file.read(header, 0, 12, 0);
    if (header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WAVE') {
      throw new RipError(`${basename(wavFile)} is not a WAV file`);
    }
    const chunk = Buffer.alloc(CHUNK_HEADER_BYTES);
    for (let position = 12; position + CHUNK_HEADER_BYTES <= size; ) {
      await file.read(chunk, 0, CHUNK_HEADER_BYTES, position);
      const length = chunk.readUInt32LE(4);
      const offset = position + CHUNK_HEADER_BYTES;
      if (chunk.toString('latin1', 0, 4) === 'data') {
        if (offset + length > size) throw new RipError(`${basename(wavFile)} is cut short: its audio ends before the WAV header says`);
        return { offset, length };
      }
      // Chunks are padded to an even length.
      position = offset + length + (length & 1);
    }
    throw new RipError(`${basename(wavFile)} holds no audio (no data chunk)`);
  } finally {
    await file.close();
  }
}

/** MD5 of the PCM sample bytes of a WAV file (lower-case hex), read as a stream. */
export async function pcmMd5(wavFile: string): Promise<string> {
  const { offset, length } = await findPcm(wavFile);
  const hash = createHash('md5');
  if (length > 0) {
    for await (const chunk of createReadStream(wavFile, { start: offset, end: offset + length - 1 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
