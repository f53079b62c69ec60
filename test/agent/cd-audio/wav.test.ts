// The MD5 of a WAV's samples: found by walking its chunks (extra chunks before and after the audio, odd sizes), and
// the WAV files that are not whole.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPcm, pcmMd5 } from '../../../agent/cd-audio/wav.js';
import { RipError } from '../../../agent/tools/rip-error.js';

function chunk(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body, Buffer.alloc(body.length & 1)]);
}

function wav(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), ...chunks]);
  return Buffer.concat([chunk('RIFF', body).subarray(0, 8), body]);
}

// 16-bit stereo at 44.1 kHz, what cd-paranoia writes.
const FORMAT = Buffer.from('0100020044ac000010b1020004001000', 'hex');
const SAMPLES = Buffer.from(Array.from({ length: 4 * 588 * 3 }, (_, index) => (index * 7) & 0xff));
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

describe('pcmMd5', () => {
  let folder: string;
  let files = 0;
  const write = async (bytes: Buffer) => {
    const file = join(folder, `${(files += 1)}.wav`);
    await writeFile(file, bytes);
    return file;
  };

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-wav-test-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('hashes the samples of a plain 44-byte-header WAV', async () => {
    const file = await write(wav(chunk('fmt ', FORMAT), chunk('data', SAMPLES)));
    expect(await findPcm(file)).toEqual({ offset: 44, length: SAMPLES.length });
    expect(await pcmMd5(file)).toBe(md5(SAMPLES));
  });

  it('finds the samples after other chunks, odd-sized ones padded, and ignores chunks after them', async () => {
    const file = await write(
      wav(chunk('fmt ', FORMAT), chunk('junk', Buffer.from('abc')), chunk('LIST', Buffer.alloc(26, 1)), chunk('data', SAMPLES), chunk('id3 ', Buffer.alloc(9, 2))),
    );
    expect(await findPcm(file)).toEqual({ offset: 12 + 24 + 12 + 34 + 8, length: SAMPLES.length });
    expect(await pcmMd5(file)).toBe(md5(SAMPLES));
  });

  it('hashes an empty data chunk as nothing', async () => {
    expect(await pcmMd5(await write(wav(chunk('fmt ', FORMAT), chunk('data', Buffer.alloc(0)))))).toBe(md5(Buffer.alloc(0)));
  });

  it('refuses files that are not whole WAVs', async () => {
    const notWav = await write(Buffer.from('ID3 not a wave file at all'));
    await expect(pcmMd5(notWav)).rejects.toThrow(new RipError(`${files}.wav is not a WAV file`));
    const whole = wav(chunk('fmt ', FORMAT), chunk('data', SAMPLES));
    const cutShort = await write(whole.subarray(0, whole.length - 100));
    await expect(pcmMd5(cutShort)).rejects.toThrow(/is cut short/);
    const noData = await write(wav(chunk('fmt ', FORMAT)));
    await expect(pcmMd5(noData)).rejects.toThrow(/holds no audio/);
    await expect(pcmMd5(join(folder, 'missing.wav'))).rejects.toThrow(/ENOENT/);
  });
});
