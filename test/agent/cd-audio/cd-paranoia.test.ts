// cd-paranoia's progress lines parsed from a captured rip (test/fixtures/cd-paranoia/), then CdParanoia ripping
// make-test-cd images for real: the PCM must be the authored track's, progress must rise to 1, and a cancel must
// leave no process and no file behind.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdInfo } from '../../../agent/cd-audio/cd-info.js';
import { CdParanoia, parseParanoiaProgress, type RipTrackRequest } from '../../../agent/cd-audio/cd-paranoia.js';
import type { CdToc, CdTrack } from '../../../agent/cd-audio/toc.js';
import { pcmMd5 } from '../../../agent/cd-audio/wav.js';
import { RipError } from '../../../agent/tools/rip-error.js';
import { makeTestCd, missingTools, processesNaming, type TestCd } from './test-cd.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/cd-paranoia/${name}_e_cd-paranoia-10.2.stderr.txt`, import.meta.url), 'utf8').split(/\r|\n/);

describe('parseParanoiaProgress', () => {
  // Track 2 of that disc starts at LSN 150 and ends at LSN 262 (113 sectors).
  const lines = fixture('rip-track2');
  const events = lines.flatMap((line) => parseParanoiaProgress(line) ?? []);

  it('reads every "##:" line and nothing else', () => {
    expect(events).toHaveLength(lines.filter((line) => line.startsWith('##:')).length);
    expect(parseParanoiaProgress('Ripping from sector     150 (track  2 [0:00.00])')).toBeUndefined();
    expect(parseParanoiaProgress('405: Option not supported by drive')).toBeUndefined();
  });

  it('gives sectors counted from the start of the disc, not of the track', () => {
    expect(events[0]).toEqual({ code: 0, stage: 'read', sector: 161 });
    const wrote = events.filter((event) => event.stage === 'wrote').map((event) => event.sector);
    expect(wrote[0]).toBe(150);
    expect(wrote.at(-1)).toBe(262);
    expect(wrote).toHaveLength(113);
    expect(events.at(-1)).toEqual({ code: 15, stage: 'finished', sector: 262 });
  });

  it('keeps stage names with spaces', () => {
    expect(parseParanoiaProgress('##: 12 [read error] @ 2352000')).toEqual({ code: 12, stage: 'read error', sector: 2000 });
  });
});

const skip = await missingTools('cd-info', 'cd-paranoia');
if (skip) console.warn(`Skipping CdParanoia rips: ${skip}`);

describe.skipIf(skip !== undefined)('CdParanoia.ripTrack on make-test-cd images', () => {
  const paranoia = new CdParanoia({ binary: 'cd-paranoia' });
  const cdInfo = new CdInfo({ binary: 'cd-info' });
  let folder: string;
  let disc: TestCd;
  let toc: CdToc;
  let long: TestCd;
  let longToc: CdToc;
  let enhanced: TestCd;
  let runs = 0;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-cd-paranoia-test-'));
    [disc, long, enhanced] = await Promise.all([
      makeTestCd(join(folder, 'disc')),
      makeTestCd(join(folder, 'long'), ['--track', '300']),
      makeTestCd(join(folder, 'enhanced'), ['--data-track']),
    ]);
    const signal = new AbortController().signal;
    [toc, longToc] = await Promise.all([cdInfo.readToc({ source: disc.cue, signal }), cdInfo.readToc({ source: long.cue, signal })]);
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  function rip(source: string, track: CdTrack, overrides: Partial<RipTrackRequest> = {}) {
    runs += 1;
    const progress: number[] = [];
    const log: string[] = [];
    const output = join(folder, `out-${runs}.wav`);
    const done = paranoia.ripTrack({
      source,
      track,
      output,
      signal: new AbortController().signal,
      onProgress: ({ fraction }) => progress.push(fraction),
      onLog: (line) => log.push(line),
      ...overrides,
    });
    return { done, output, progress, log };
  }

  it.each(['cue', 'toc'] as const)('rips every track of a .%s image to exactly the authored samples, padding included', async (kind) => {
    for (const track of toc.tracks) {
      const run = rip(disc[kind], track);
      await run.done;
      expect(await pcmMd5(run.output)).toBe(disc.md5.get(track.number));
    }
  });

  it('reports progress over the track, rising to 1, and logs the 405 notice once and no banner', async () => {
    const run = rip(disc.cue, toc.tracks[1]!);
    await run.done;
    expect(run.progress.length).toBeGreaterThan(100);
    expect(run.progress[0]).toBeCloseTo(1 / 548);
    expect(run.progress.every((fraction, index) => index === 0 || fraction > run.progress[index - 1]!)).toBe(true);
    expect(run.progress.at(-1)).toBe(1);
    expect(run.log.filter((line) => line.includes('405: Option not supported by drive'))).toHaveLength(1);
    expect(run.log.some((line) => /Monty|Sending all callback/.test(line))).toBe(false);
    expect(run.log).toContain('Ripping from sector     900 (track  2 [0:00.00])');
  });

  it('rips the last audio track of an enhanced CD on to the data track, as an image has no sessions', async () => {
    const enhancedToc = await cdInfo.readToc({ source: enhanced.cue, signal: new AbortController().signal });
    const run = rip(enhanced.cue, enhancedToc.tracks[2]!);
    await run.done;
    expect(await pcmMd5(run.output)).toBe(enhanced.md5.get(3));
    const dataTrack = await rip(enhanced.cue, enhancedToc.tracks[3]!).done.catch((error: unknown) => error);
    expect(dataTrack).toBeInstanceOf(RipError);
    expect((dataTrack as RipError).message).toBe('Track 4 is a data track, not audio');
    expect((dataTrack as RipError).detail).toBe('405: Option not supported by drive\nSelected span contains non audio track at track 04.  Aborting.');
  });

  it('on cancel, kills cd-paranoia, removes the partial WAV and rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    const run = rip(long.cue, longToc.tracks[0]!, {
      signal: controller.signal,
      onProgress: ({ fraction }) => {
        run.progress.push(fraction);
        controller.abort(reason);
      },
    });
    await expect(run.done).rejects.toBe(reason);
    expect(run.progress.at(-1)).toBeLessThan(1);
    expect(existsSync(run.output)).toBe(false);
    expect(processesNaming(run.output)).toEqual([]);
  });

  it('fails with a plain sentence for a missing track or image, leaving no file', async () => {
    const missing = { number: 7, startLsn: 1823, lengthSectors: 75, audio: true };
    const run = rip(disc.cue, missing);
    const error = await run.done.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe('The disc has no track 7');
    expect((error as RipError).detail).toContain('Track #7 does not exist.');
    expect(existsSync(run.output)).toBe(false);
    await expect(rip(join(folder, 'nowhere', 'disc.cue'), toc.tracks[0]!).done).rejects.toThrow(/does not exist/);
  });

  it('fails when cd-paranoia exits 0 but leaves no WAV, or one without samples, and removes it', async () => {
    // A WAV header as cd-paranoia writes it (16-bit stereo, 44.1 kHz) with a data chunk of 0 bytes.
    const header = join(folder, 'header.wav');
    const bytes = Buffer.alloc(44);
    bytes.write('RIFF', 0, 'latin1');
    bytes.writeUInt32LE(36, 4);
    bytes.write('WAVEfmt ', 8, 'latin1');
    bytes.writeUInt32LE(16, 16);
    Buffer.from('0100020044ac000010b1020004001000', 'hex').copy(bytes, 20);
    bytes.write('data', 36, 'latin1');
    await writeFile(header, bytes);
    const fakeParanoia = async (name: string, body: string) => {
      const file = join(folder, name);
      await writeFile(file, `#!/bin/sh\n${body}\nexit 0\n`);
      await chmod(file, 0o755);
      return new CdParanoia({ binary: file });
    };
    const request = (output: string) => ({ source: disc.cue, track: toc.tracks[0]!, output, signal: new AbortController().signal, onProgress: () => {} });

    const writesNothing = await fakeParanoia('paranoia-writes-nothing', ': # "$7" is the output');
    await expect(writesNothing.ripTrack(request(join(folder, 'none.wav')))).rejects.toThrow('cd-paranoia finished track 1 but wrote no audio');
    const writesHeader = await fakeParanoia('paranoia-writes-header', `cat ${JSON.stringify(header)} > "$7"`);
    const empty = join(folder, 'empty.wav');
    await expect(writesHeader.ripTrack(request(empty))).rejects.toThrow('cd-paranoia finished track 1 but wrote no audio');
    expect(existsSync(empty)).toBe(false);
  });

  it('says how to install cd-paranoia when it is missing', async () => {
    const missing = new CdParanoia({ binary: '/nonexistent/cd-paranoia' });
    expect(await missing.checkInstalled()).toMatch(/package cd-paranoia.*DISCBRIDGE_CD_PARANOIA/);
    expect(await paranoia.checkInstalled()).toBeUndefined();
  });
});
