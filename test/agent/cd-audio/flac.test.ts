// FlacEncoder with the real flac and metaflac: tags as metaflac reads them back, the MD5 check passing and (with a
// flac that encodes another WAV than it is given) failing, hostile CD-Text, cancelling, and missing tools.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanTagValue, FlacEncoder, MAX_TAG_LENGTH, tagArguments } from '../../../agent/cd-audio/flac.js';
import { RipError } from '../../../agent/tools/rip-error.js';
import { missingTools, processesNaming } from './test-cd.js';

describe('tag values', () => {
  it('lose control characters, keep their words apart and stop at the length cap', () => {
    expect(cleanTagValue('Line one\nLine two\r\n\tand\u0000three\u2028four ')).toBe('Line one Line two and three four');
    expect(cleanTagValue('é'.repeat(5000))).toHaveLength(MAX_TAG_LENGTH);
    // A cut never splits a character made of two UTF-16 units.
    expect(Array.from(cleanTagValue('🎵'.repeat(1200)))).toHaveLength(MAX_TAG_LENGTH);
  });

  it('become one argument each, empty ones left out', () => {
    expect(tagArguments({ TITLE: '-o /tmp/x', ARTIST: '\n\n', ALBUM: 'A=B' })).toEqual(['--tag=TITLE=-o /tmp/x', '--tag=ALBUM=A=B']);
    expect(() => tagArguments({ 'TI=TLE': 'x' })).toThrow(/not a Vorbis comment name/);
  });
});

const skip = await missingTools('flac', 'metaflac');
if (skip) console.warn(`Skipping FlacEncoder runs: ${skip}`);

describe.skipIf(skip !== undefined)('FlacEncoder.encode with flac and metaflac', () => {
  const encoder = new FlacEncoder({ flac: 'flac', metaflac: 'metaflac' });
  const signal = new AbortController().signal;
  let folder: string;
  let wav: string;
  let otherWav: string;
  let longWav: string;

  /** A tone as cd-paranoia writes it: 16-bit stereo, 44.1 kHz. */
  const tone = (file: string, seconds: number, hertz: number, bits = 16) =>
    execa('sox', ['-n', '-R', '-r', '44100', '-b', String(bits), '-c', '2', file, 'synth', String(seconds), 'sine', String(hertz)]);
  const exportedTags = async (file: string) =>
    (await execa('metaflac', ['--no-utf8-convert', '--export-tags-to=-', file])).stdout.split('\n');

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-flac-test-'));
    [wav, otherWav, longWav] = [join(folder, 'track.wav'), join(folder, 'other.wav'), join(folder, 'long.wav')];
    await Promise.all([tone(wav, 3, 440), tone(otherWav, 3, 880), tone(longWav, 300, 440)]);
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('writes the tags metaflac reads back, and passes its MD5 check', async () => {
    const output = join(folder, 'tagged.flac');
    const progress: number[] = [];
    await encoder.encode({
      input: wav,
      output,
      tags: { TITLE: 'Café Ünïcode', ARTIST: 'The Sine Waves', TRACKNUMBER: '1', MUSICBRAINZ_DISCID: 'TqvKjMu7dMliSfmVEBtrL7sBSno-' },
      signal,
      onProgress: (fraction) => progress.push(fraction),
    });
    expect(await exportedTags(output)).toEqual([
      'TITLE=Café Ünïcode',
      'ARTIST=The Sine Waves',
      'TRACKNUMBER=1',
      'MUSICBRAINZ_DISCID=TqvKjMu7dMliSfmVEBtrL7sBSno-',
    ]);
    expect(progress).toEqual([1]);
  });

  it('checks the samples of a WAV whose header is not 44 bytes (24-bit, WAVE_FORMAT_EXTENSIBLE, a fact chunk)', async () => {
    const wide = join(folder, 'wide.wav');
    await tone(wide, 1, 440, 24);
    await encoder.encode({ input: wide, output: join(folder, 'wide.flac'), tags: {}, signal });
  });

  it('stores hostile CD-Text as plain text: newlines gone, 5000 characters capped, a leading "-" not an option', async () => {
    const output = join(folder, 'hostile.flac');
    const before = await readdir(folder);
    await encoder.encode({
      input: wav,
      output,
      tags: { TITLE: 'Evil\nARTIST=Injected\r\n', ALBUM: 'x'.repeat(5000), ARTIST: '-o /tmp/pwned.flac', COMMENT: '--tag=X=Y $(touch pwned)' },
      signal,
    });
    expect(await exportedTags(output)).toEqual([
      'TITLE=Evil ARTIST=Injected',
      `ALBUM=${'x'.repeat(MAX_TAG_LENGTH)}`,
      'ARTIST=-o /tmp/pwned.flac',
      'COMMENT=--tag=X=Y $(touch pwned)',
    ]);
    expect(existsSync('/tmp/pwned.flac') || existsSync('pwned')).toBe(false);
    expect((await readdir(folder)).filter((name) => !before.includes(name))).toEqual(['hostile.flac']);
  });

  it('fails with a plain sentence, and removes the file, when the FLAC does not hold the WAV it was given', async () => {
    // A flac that encodes another WAV than the one it is given: real flac, real MD5s, a real mismatch.
    const wrongFlac = join(folder, 'wrong-flac');
    await writeFile(wrongFlac, `#!/bin/bash\nargs=("$@")\nargs[$#-1]=${JSON.stringify(otherWav)}\nexec flac "\${args[@]}"\n`);
    await chmod(wrongFlac, 0o755);
    const output = join(folder, 'wrong.flac');
    const error = await new FlacEncoder({ flac: wrongFlac, metaflac: 'metaflac' })
      .encode({ input: wav, output, tags: {}, signal })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toMatch(
      /^The FLAC file wrong\.flac does not hold the ripped audio: its MD5 [0-9a-f]{32} differs from the WAV's [0-9a-f]{32}$/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it('fails with a plain sentence when flac cannot read the input', async () => {
    const notWav = join(folder, 'not.wav');
    await writeFile(notWav, 'not audio');
    const output = join(folder, 'not.flac');
    await expect(encoder.encode({ input: notWav, output, tags: {}, signal })).rejects.toThrow('flac could not encode not.wav (exit code 1)');
    expect(existsSync(output)).toBe(false);
  });

  it('on cancel, stops flac, removes the partial file and rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    const output = join(folder, 'cancelled.flac');
    const encoding = encoder.encode({ input: longWav, output, tags: {}, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 100);
    await expect(encoding).rejects.toBe(reason);
    expect(existsSync(output)).toBe(false);
    expect(processesNaming(output)).toEqual([]);
  });

  it('names the Debian package and both settings when a tool is missing', async () => {
    expect(await new FlacEncoder({ flac: 'flac', metaflac: '/nonexistent/metaflac' }).checkInstalled()).toMatch(
      /^metaflac was not found at "\/nonexistent\/metaflac": .*package flac.*DISCBRIDGE_FLAC and DISCBRIDGE_METAFLAC/,
    );
    expect(await encoder.checkInstalled()).toBeUndefined();
  });
});
