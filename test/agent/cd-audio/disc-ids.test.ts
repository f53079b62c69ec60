// Disc ids against published values (libdiscid's test vector; an enhanced CD whose ids MusicBrainz and EAC list) and
// against cdrdao's toc2cddb on make-test-cd TOC images read back through cd-info.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CdInfo } from '../../../agent/cd-audio/cd-info.js';
import { freedbDiscId, musicBrainzDiscId } from '../../../agent/cd-audio/disc-ids.js';
import type { CdToc } from '../../../agent/cd-audio/toc.js';
import { makeTestCd, missingTools } from './test-cd.js';

/** A TOC from offsets as disc-id documents give them: LBA, i.e. LSN + 150. */
function tocFromOffsets(offsets: number[], leadOut: number, dataTracks: number[] = []): CdToc {
  const starts = offsets.map((offset) => offset - 150);
  return {
    firstTrack: 1,
    lastTrack: offsets.length,
    leadOutLsn: leadOut - 150,
    tracks: starts.map((startLsn, index) => ({
      number: index + 1,
      startLsn,
      lengthSectors: (starts[index + 1] ?? leadOut - 150) - startLsn,
      audio: !dataTracks.includes(index + 1),
    })),
  };
}

describe('disc ids', () => {
  it('match the libdiscid / python-libdiscid test vector', () => {
    const toc = tocFromOffsets(
      [150, 17510, 33275, 45910, 57805, 78310, 94650, 109580, 132010, 149160, 165115, 177710, 203325, 215555, 235590],
      258725,
    );
    expect(musicBrainzDiscId(toc)).toBe('TqvKjMu7dMliSfmVEBtrL7sBSno-');
    expect(freedbDiscId(toc)).toBe('b60d770f');
  });

  // Recoil, "Liquid": 10 audio tracks and a data track (doc/data_track.md of github.com/arcctgx/ARver, with the disc
  // read by pycdio). MusicBrainz lists 9AQWqQ0eCCwktwPPrIUIYkUw2Uo- (its lead-out 270335 = 281735 - 11400); EAC and
  // dBpoweramp compute the freedb id 9e11600b from all 11 tracks and the real lead-out. (MusicBrainz shows 890e120a,
  // a freedb id of the audio session only, which freedb itself does not use.)
  it('count only the audio session of an enhanced CD for MusicBrainz, and every track for freedb', () => {
    const toc = tocFromOffsets(
      [150, 12767, 40487, 63225, 93410, 118115, 151865, 184340, 215260, 247455, 281735],
      333801,
      [11],
    );
    expect(musicBrainzDiscId(toc)).toBe('9AQWqQ0eCCwktwPPrIUIYkUw2Uo-');
    expect(freedbDiscId(toc)).toBe('9e11600b');
  });

  it('give 8 lower-case hex digits and 28 characters of MusicBrainz base64', () => {
    const toc = tocFromOffsets([150], 150 + 75 * 5);
    expect(freedbDiscId(toc)).toMatch(/^[0-9a-f]{8}$/);
    expect(musicBrainzDiscId(toc)).toMatch(/^[0-9A-Za-z._]{27}-$/);
  });
});

const skip = await missingTools('cd-info', 'toc2cddb');
if (skip) console.warn(`Skipping disc ids against toc2cddb: ${skip}`);

describe.skipIf(skip !== undefined)('freedb ids against toc2cddb (cdrdao) on make-test-cd TOC images', () => {
  const cdInfo = new CdInfo({ binary: 'cd-info' });
  const signal = new AbortController().signal;
  const layouts: Record<string, string[]> = {
    default: [],
    'one short track': ['--track', '1'],
    'odd lengths': ['--no-cd-text', '--track', '4.01', '--track', '59.99', '--track', '120.5', '--track', '2.333', '--track', '9'],
    'twelve tracks': Array.from({ length: 12 }, (_, index) => ['--track', (1 + index * 1.7).toFixed(1)]).flat(),
  };
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-disc-ids-test-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it.each(Object.entries(layouts))('%s', async (name, args) => {
    const cd = await makeTestCd(join(folder, name.replaceAll(' ', '-')), args);
    const { stdout } = await execa('toc2cddb', ['disc.toc'], { cwd: cd.folder });
    const expected = /^DISCID=([0-9a-f]{8})$/m.exec(stdout)?.[1];
    expect(expected).toBeDefined();
    expect(freedbDiscId(await cdInfo.readToc({ source: cd.toc, signal }))).toBe(expected);
  });
});
