import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findIsoEntry, readIsoVolume } from '../../../agent/disc-fs/iso9660.js';
import { readAtBuffer, type ReadAt } from '../../../agent/disc-fs/read-at.js';
import { genisoimage, isoinfoVolumeBytes, makeTestDisc, missingTools, tempDir, withImage, writeTree } from './test-images.js';

const SECTOR = 2048;
const skipDvd = missingTools(['ffmpeg', 'ffmpeg'], ['dvdauthor', 'dvdauthor'], ['genisoimage', 'genisoimage'], ['isoinfo', 'genisoimage']);
const skipIso = missingTools(['ffmpeg', 'ffmpeg'], ['genisoimage', 'genisoimage'], ['isoinfo', 'genisoimage']);


describe.skipIf(skipDvd)('ISO 9660 side of a make-test-disc DVD image (default titles)', () => {
  const temp = tempDir('iso-dvd');
  let image = '';
  beforeAll(() => {
    image = makeTestDisc(temp.dir, 'dvd.iso');
  }, 60_000);
  afterAll(() => temp.remove());

  it('reads the label and the volume size isoinfo -d reports (volume size × 2048)', async () => {
    const volume = await withImage(image, readIsoVolume);
    expect(volume?.label).toBe('DISCBRIDGE_TEST');
    expect(volume?.logicalBlockSize).toBe(SECTOR);
    expect(volume?.volumeBytes).toBe(isoinfoVolumeBytes(image));
  });

  it('finds VIDEO_TS/VIDEO_TS.IFO in any case, with or without ;1, with the size isoinfo extracts', async () => {
    const extracted = execFileSync('isoinfo', ['-i', image, '-x', '/VIDEO_TS/VIDEO_TS.IFO;1']);
    for (const path of ['VIDEO_TS/VIDEO_TS.IFO', '/video_ts/video_ts.ifo', 'Video_Ts/Video_Ts.Ifo;1', 'VIDEO_TS\\VIDEO_TS.IFO']) {
      const entry = await withImage(image, (read) => findIsoEntry(read, path));
      expect(entry, path).toMatchObject({ isDirectory: false, size: extracted.length });
    }
    expect(await withImage(image, (read) => findIsoEntry(read, 'VIDEO_TS'))).toMatchObject({ isDirectory: true });
  });

  it('does not find what is not there, or a file used as a folder', async () => {
    for (const path of ['BDMV/index.bdmv', 'VIDEO_TS/NOPE.IFO', 'VIDEO_TS/VIDEO_TS.IFO/x', '', '/', '../VIDEO_TS']) {
      expect(await withImage(image, (read) => findIsoEntry(read, path)), path).toBeUndefined();
    }
  });
});

describe.skipIf(skipIso)('ISO 9660 + Joliet + Rock Ridge: a make-test-disc --data image and genisoimage variants', () => {
  const temp = tempDir('iso-data');
  let data = '';
  let tree = '';
  beforeAll(() => {
    data = makeTestDisc(temp.dir, 'data.iso', ['--data', '--size-mb', '4', '--label', 'HOLIDAY_2024']);
    tree = writeTree(temp.dir, 'tree', {
      'README.TXT': 'read me\n',
      'Documents/Notes for the Trip.txt': 'notes\n',
      'Documents/lowercase.txt': 'lower\n',
      'a/b/c/d/e/f/g/Deep File.txt': 'deep\n',
      'VIDEO_TS/VIDEO_TS.IFO': Buffer.alloc(4096, 1),
      'empty.bin': '',
    });
  }, 60_000);
  afterAll(() => temp.remove());

  it('reads the --data image: label, isoinfo volume size, no VIDEO_TS', async () => {
    const volume = await withImage(data, readIsoVolume);
    expect(volume).toMatchObject({ label: 'HOLIDAY_2024', jolietLabel: 'HOLIDAY_2024', logicalBlockSize: SECTOR });
    expect(volume?.volumeBytes).toBe(isoinfoVolumeBytes(data));
    expect(await withImage(data, (read) => findIsoEntry(read, 'VIDEO_TS/VIDEO_TS.IFO'))).toBeUndefined();
  });

  it('finds a deep path and names with spaces in lower and upper case', async () => {
    const paths = ['photos/2024/summer/beach/IMG_0004.jpg', 'PHOTOS/2024/SUMMER/BEACH/img_0004.JPG', 'Documents/Notes for the Trip.txt', 'documents/LOWERCASE.TXT', 'readme.txt'];
    for (const path of paths) {
      expect(await withImage(data, (read) => findIsoEntry(read, path)), path).toMatchObject({ isDirectory: false });
    }
    const photo = await withImage(data, (read) => findIsoEntry(read, 'photos/2024/summer/beach/IMG_0004.jpg'));
    expect(photo?.size).toBe(execFileSync('isoinfo', ['-J', '-i', data, '-x', '/photos/2024/summer/beach/IMG_0004.jpg']).length);
  });

  it('reads Rock Ridge names when there is no Joliet tree (genisoimage -r)', async () => {
    const image = genisoimage(temp.dir, 'rr.iso', tree, ['-r', '-V', 'RR_ONLY']);
    const volume = await withImage(image, readIsoVolume);
    expect(volume?.jolietRoot).toBeUndefined();
    expect(await withImage(image, (read) => findIsoEntry(read, 'Documents/Notes for the Trip.txt'))).toMatchObject({ name: 'Notes for the Trip.txt' });
    expect(await withImage(image, (read) => findIsoEntry(read, 'a/b/c/d/e/f/g/deep file.TXT'))).toMatchObject({ isDirectory: false });
  });

  it('reads plain ISO 9660 level 1 names (README.TXT;1) without Joliet or Rock Ridge', async () => {
    const image = genisoimage(temp.dir, 'plain.iso', tree, ['-V', 'PLAIN']);
    expect(await withImage(image, readIsoVolume)).toMatchObject({ label: 'PLAIN', volumeBytes: isoinfoVolumeBytes(image) });
    expect(await withImage(image, (read) => findIsoEntry(read, 'readme.txt'))).toMatchObject({ name: 'README.TXT;1' });
    expect(await withImage(image, (read) => findIsoEntry(read, 'video_ts/video_ts.ifo'))).toMatchObject({ size: 4096 });
    expect(await withImage(image, (read) => findIsoEntry(read, 'empty.bin'))).toMatchObject({ size: 0 });
  });

  it('keeps the volume size of the descriptor, not of the image, when the image is padded', async () => {
    const padded = join(temp.dir, 'padded.iso');
    copyFileSync(data, padded);
    appendFileSync(padded, Buffer.alloc(5 * 1024 * 1024));
    expect((await withImage(padded, readIsoVolume))?.volumeBytes).toBe(isoinfoVolumeBytes(data));
  });

  it('reads the ISO side of a genisoimage -udf bridge image', async () => {
    const image = genisoimage(temp.dir, 'bridge.iso', tree, ['-udf', '-J', '-r', '-V', 'BRIDGE']);
    expect(await withImage(image, (read) => findIsoEntry(read, 'VIDEO_TS/VIDEO_TS.IFO'))).toMatchObject({ size: 4096 });
    expect((await withImage(image, readIsoVolume))?.volumeBytes).toBe(isoinfoVolumeBytes(image));
  });

  describe('hostile images', () => {
    /** The directory records of the directory at `offset`: where each starts, its name, extent and length fields. */
    function records(image: Buffer, offset: number, length: number): { at: number; name: string }[] {
      const found: { at: number; name: string }[] = [];
      for (let pos = 0; pos < length; ) {
        const len = image[offset + pos] ?? 0;
        if (len === 0) {
          pos = (Math.floor(pos / SECTOR) + 1) * SECTOR;
          continue;
        }
        const nameLength = image[offset + pos + 32] ?? 0;
        found.push({ at: offset + pos, name: image.toString('latin1', offset + pos + 33, offset + pos + 33 + nameLength) });
        pos += len;
      }
      return found;
    }
    /** The primary tree's root directory (Rock Ridge image: no Joliet to fall back on). */
    function rootOf(image: Buffer): { offset: number; length: number } {
      const pvd = 16 * SECTOR;
      return { offset: image.readUInt32LE(pvd + 156 + 2) * SECTOR, length: image.readUInt32LE(pvd + 156 + 10) };
    }
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work();
      expect(performance.now() - started).toBeLessThan(2000);
      return result;
    };
    let rr: Buffer;
    beforeAll(() => {
      rr = readFileSync(genisoimage(temp.dir, 'hostile.iso', tree, ['-r', '-V', 'HOSTILE']));
    });

    it('skips the rest of a block after a record of length 0, and a record longer than its block', async () => {
      const root = rootOf(rr);
      const docs = records(rr, root.offset, root.length).find((r) => r.name.startsWith('DOCUMENT'));
      expect(docs).toBeDefined();
      // 0 ends the block's records; 1 and 33 are too short to be a record (the rest of the block is skipped).
      for (const length of [0, 1, 33]) {
        const image = Buffer.from(rr);
        image[docs!.at] = length;
        expect(await timed(() => findIsoEntry(readAtBuffer(image), 'Documents/lowercase.txt'))).toBeUndefined();
        expect(await timed(() => findIsoEntry(readAtBuffer(image), 'README.TXT'))).toBeUndefined(); // after it
        expect(await timed(() => findIsoEntry(readAtBuffer(image), 'a/b/c/d/e/f/g/Deep File.txt'))).toBeDefined(); // before it
        expect(await timed(() => readIsoVolume(readAtBuffer(image)))).toMatchObject({ label: 'HOSTILE' });
      }
      // 255 swallows the records after it in its block (or runs past the block, then the block is skipped).
      for (const length of [255, 200]) {
        const image = Buffer.from(rr);
        image[docs!.at] = length;
        await timed(() => findIsoEntry(readAtBuffer(image), 'Documents/lowercase.txt'));
        await timed(() => findIsoEntry(readAtBuffer(image), 'README.TXT'));
        expect(await timed(() => findIsoEntry(readAtBuffer(image), 'a/b/c/d/e/f/g/Deep File.txt'))).toBeDefined();
      }
    });

    it('treats a directory whose length is huge or zero, or whose extent lies past the end, as not there', async () => {
      const root = rootOf(rr);
      const docs = records(rr, root.offset, root.length).find((r) => r.name.startsWith('DOCUMENT'))!;
      for (const [field, value] of [[10, 0xffffffff], [10, 0], [2, 0xffffffff], [2, 0x7fffffff]] as const) {
        const image = Buffer.from(rr);
        image.writeUInt32LE(value, docs.at + field);
        expect(await timed(() => findIsoEntry(readAtBuffer(image), 'Documents/lowercase.txt'))).toBeUndefined();
      }
      const image = Buffer.from(rr);
      image.writeUInt32LE(0xffffffff, 16 * SECTOR + 156 + 10); // the root itself
      expect(await timed(() => findIsoEntry(readAtBuffer(image), 'README.TXT'))).toBeUndefined();
    });

    it('follows a directory that contains itself only as deep as the path asks, and no deeper than 64', async () => {
      const image = Buffer.from(rr);
      const root = rootOf(image);
      const docs = records(image, root.offset, root.length).find((r) => r.name.startsWith('DOCUMENT'))!;
      // "DOCUMENTS" now points at the root: Documents/Documents/…/README.TXT resolves, level after level.
      image.writeUInt32LE(root.offset / SECTOR, docs.at + 2);
      image.writeUInt32LE(root.length, docs.at + 10);
      const deep = (n: number) => `${'Documents/'.repeat(n)}README.TXT`;
      expect(await timed(() => findIsoEntry(readAtBuffer(image), deep(40)))).toMatchObject({ isDirectory: false });
      expect(await timed(() => findIsoEntry(readAtBuffer(image), deep(100)))).toBeUndefined();
    });

    it('gives up on a descriptor set without a terminator, and on sectors that are not ISO 9660', async () => {
      const image = Buffer.from(rr.subarray(0, 200 * SECTOR));
      for (let i = 17; i < 200; i++) image.copy(image, i * SECTOR, 17 * SECTOR, 17 * SECTOR + 7); // "\x02CD001\x01"…
      for (let i = 17; i < 200; i++) image[i * SECTOR] = 2;
      expect(await timed(() => readIsoVolume(readAtBuffer(image)))).toMatchObject({ label: 'HOSTILE' });
      expect(await readIsoVolume(readAtBuffer(Buffer.alloc(40 * SECTOR)))).toBeUndefined();
      expect(await readIsoVolume(readAtBuffer(Buffer.alloc(0)))).toBeUndefined();
      const badBlockSize = Buffer.from(rr);
      badBlockSize.writeUInt16LE(3000, 16 * SECTOR + 128);
      expect(await readIsoVolume(readAtBuffer(badBlockSize))).toBeUndefined();
    });

    it('turns a failing read (an unreadable sector) into "not found"', async () => {
      const failing: ReadAt = async (offset, length) => {
        if (offset >= 18 * SECTOR) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        return readAtBuffer(rr)(offset, length);
      };
      expect(await findIsoEntry(failing, 'README.TXT')).toBeUndefined();
      expect(await readIsoVolume(failing)).toMatchObject({ label: 'HOSTILE' });
    });
  });
});
