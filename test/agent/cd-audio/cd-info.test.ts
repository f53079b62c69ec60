// cd-info's output parsed from captured runs (test/fixtures/cd-info/), then CdInfo reading make-test-cd images for real:
// a .cue and a .toc, with and without CD-Text, an enhanced CD, and the failures people see.
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdInfo, parseCdInfo } from '../../../agent/cd-audio/cd-info.js';
import type { CdToc } from '../../../agent/cd-audio/toc.js';
import { RipError } from '../../../agent/tools/rip-error.js';
import { makeTestCd, missingTools, type TestCd } from './test-cd.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/cd-info/${name}_libcdio-2.1.0.txt`, import.meta.url), 'utf8');

/** The default make-test-cd disc: 12 s, 7.3 s (547.5 sectors, padded to 548) and 5 s. */
const DEFAULT_TRACKS = [
  { number: 1, startLsn: 0, lengthSectors: 900, audio: true, title: 'Concert A', performer: 'The Sine Waves' },
  { number: 2, startLsn: 900, lengthSectors: 548, audio: true, title: 'Seven and a Bit', performer: 'The Sine Waves' },
  { number: 3, startLsn: 1448, lengthSectors: 375, audio: true, title: 'Five Seconds', performer: 'The Sine Waves' },
];
const DEFAULT_DISC: CdToc = {
  firstTrack: 1,
  lastTrack: 3,
  leadOutLsn: 1823,
  tracks: DEFAULT_TRACKS,
  album: 'Discbridge Test Tones',
  performer: 'The Sine Waves',
};
const withoutText = ({ title: _title, performer: _performer, ...track }: (typeof DEFAULT_TRACKS)[number]) => track;

describe('parseCdInfo', () => {
  it('reads the track list, the lead-out, the catalog number and CD-Text of a CUE image', () => {
    expect(parseCdInfo(fixture('cd-text_cue'))).toEqual({ ...DEFAULT_DISC, catalog: '0123456789012' });
  });

  it('reads a cdrdao TOC image the same way', () => {
    expect(parseCdInfo(fixture('cd-text_toc'))).toEqual({ ...DEFAULT_DISC, catalog: '0123456789012' });
  });

  it('leaves titles and performers out when the disc has no CD-Text', () => {
    expect(parseCdInfo(fixture('no-cd-text_cue'))).toEqual({
      firstTrack: 1,
      lastTrack: 3,
      leadOutLsn: 1823,
      tracks: DEFAULT_TRACKS.map(withoutText),
    });
  });

  it('marks the data track of an enhanced CD, and ignores the file system analysis after the CD-Text', () => {
    const toc = parseCdInfo(fixture('enhanced_cue'));
    expect(toc.tracks.map(({ number, startLsn, lengthSectors, audio }) => ({ number, startLsn, lengthSectors, audio }))).toEqual([
      { number: 1, startLsn: 0, lengthSectors: 900, audio: true },
      { number: 2, startLsn: 900, lengthSectors: 548, audio: true },
      // The 11400 sectors between the sessions count to the last audio track, as the TOC gives no other end.
      { number: 3, startLsn: 1448, lengthSectors: 11775, audio: true },
      { number: 4, startLsn: 13223, lengthSectors: 300, audio: false },
    ]);
    expect(toc.leadOutLsn).toBe(13523);
    expect(toc.tracks[3]).not.toHaveProperty('title');
    expect(toc.catalog).toBeUndefined();
  });

  it('keeps CD-Text as libcdio decodes it (ISO-8859-1 to UTF-8), odd characters included', () => {
    const toc = parseCdInfo(fixture('latin1_toc'));
    expect(toc.album).toBe('Café Ünïcode');
    expect(toc.performer).toBe('-rf --tag=X');
    expect(toc.tracks.map((track) => track.title)).toEqual(["Ça va? 'quoted' $HOME", 'Second']);
  });

  it('lists a data-only disc with no audio track', () => {
    expect(parseCdInfo(fixture('data-only_cue')).tracks).toEqual([{ number: 1, startLsn: 0, lengthSectors: 300, audio: false }]);
  });

  it('fails with a plain sentence when there is no track list (no disc, not a CD drive)', () => {
    expect(() => parseCdInfo(fixture('not-a-cd'))).toThrow(
      new RipError('cd-info found no table of contents on the disc', 'Disc mode is listed as: Error in getting information'),
    );
    expect(() => parseCdInfo(fixture('toc-wrong-cwd'))).toThrow(RipError);
  });

  it('rejects a table of contents that makes no sense', () => {
    const broken = fixture('cd-text_cue').replace('  2: 00:14:00  000900', '  2: 00:14:00  002000');
    expect(() => parseCdInfo(broken)).toThrow("The disc's table of contents makes no sense");
    const huge = fixture('cd-text_cue').replace('  3: 00:21:23  001448', '  3: 00:00:00  18446744073709551466');
    expect(() => parseCdInfo(huge)).toThrow("The disc's table of contents makes no sense");
  });

  it('takes the first CD-Text language only, and an all-zero catalog number as none', () => {
    const text = fixture('cd-text_cue')
      .replace('Media Catalog Number (MCN): 0123456789012', 'Media Catalog Number (MCN): 0000000000000')
      .concat("Language 1 'German':\nCD-TEXT for Disc:\n\tTITLE: Prüfton\n");
    const toc = parseCdInfo(text);
    expect(toc.album).toBe('Discbridge Test Tones');
    expect(toc.catalog).toBeUndefined();
  });
});

const skip = await missingTools('cd-info');
if (skip) console.warn(`Skipping CdInfo runs: ${skip}`);

describe.skipIf(skip !== undefined)('CdInfo.readToc on make-test-cd images', () => {
  const cdInfo = new CdInfo({ binary: 'cd-info' });
  const signal = new AbortController().signal;
  let folder: string;
  let plain: TestCd;
  let bare: TestCd;
  let enhanced: TestCd;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-cd-info-test-'));
    [plain, bare, enhanced] = await Promise.all([
      makeTestCd(join(folder, 'plain'), ['--catalog', '0123456789012']),
      makeTestCd(join(folder, 'bare'), ['--no-cd-text', '--track', '4', '--track', '61.01']),
      makeTestCd(join(folder, 'enhanced'), ['--data-track']),
    ]);
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads a .cue and a .toc of the same disc alike, from any working directory', async () => {
    const expected = { ...DEFAULT_DISC, catalog: '0123456789012' };
    expect(await cdInfo.readToc({ source: plain.cue, signal })).toEqual(expected);
    expect(await cdInfo.readToc({ source: plain.toc, signal })).toEqual(expected);
  });

  it('gives lengths in whole sectors, a partial last sector padded', async () => {
    const toc = await cdInfo.readToc({ source: bare.toc, signal });
    // 61.01 s = 4575.75 sectors
    expect(toc.tracks).toEqual([
      { number: 1, startLsn: 0, lengthSectors: 300, audio: true },
      { number: 2, startLsn: 300, lengthSectors: 4576, audio: true },
    ]);
    expect(toc).not.toHaveProperty('album');
  });

  it('reads an image whose name begins with "-"', async () => {
    const odd = join(folder, 'odd');
    await mkdir(odd);
    await Promise.all([copyFile(plain.cue, join(odd, '-disc.cue')), copyFile(join(plain.folder, 'disc.bin'), join(odd, '-disc.bin'))]);
    expect((await cdInfo.readToc({ source: join(odd, '-disc.cue'), signal })).tracks).toHaveLength(3);
  });

  it('reads an enhanced CD: audio tracks, then the data track', async () => {
    const toc = await cdInfo.readToc({ source: enhanced.cue, signal });
    expect(toc.tracks.map((track) => track.audio)).toEqual([true, true, true, false]);
    expect(toc.tracks[3]!.startLsn).toBe(1823 + 11400);
  });

  it('fails with a plain sentence for a missing image, an unreadable one and a disc without audio', async () => {
    await expect(cdInfo.readToc({ source: join(folder, 'none', 'disc.cue'), signal })).rejects.toThrow(
      new RipError('The disc image disc.cue does not exist'),
    );

    const broken = join(folder, 'broken');
    await mkdir(broken);
    await copyFile(plain.toc, join(broken, 'disc.toc')); // its disc.bin is not there
    const unreadable = await cdInfo.readToc({ source: join(broken, 'disc.toc'), signal }).catch((error: unknown) => error);
    expect(unreadable).toBeInstanceOf(RipError);
    expect((unreadable as RipError).message).toBe('cd-info could not read the disc in disc.toc');
    expect((unreadable as RipError).detail).toContain("could not retrieve file info for `disc.bin'");

    const dataOnly = join(folder, 'data-only');
    await mkdir(dataOnly);
    await writeFile(join(dataOnly, 'disc.cue'), 'FILE "disc.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n');
    await copyFile(join(enhanced.folder, 'disc.bin'), join(dataOnly, 'disc.bin'));
    await expect(cdInfo.readToc({ source: join(dataOnly, 'disc.cue'), signal })).rejects.toThrow(
      new RipError('The disc in disc.cue has no audio tracks'),
    );
  });

  it('says how to install cd-info when it is missing', async () => {
    const missing = new CdInfo({ binary: '/nonexistent/cd-info' });
    expect(await missing.checkInstalled()).toMatch(/libcdio-utils.*DISCBRIDGE_CD_INFO/);
    await expect(missing.readToc({ source: plain.cue, signal })).rejects.toThrow(/libcdio-utils/);
    expect(await cdInfo.checkInstalled()).toBeUndefined();
  });
});
