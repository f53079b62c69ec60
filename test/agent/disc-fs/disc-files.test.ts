import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discHasFile, volumeInfo } from '../../../agent/disc-fs/disc-files.js';
import { budgetedRead, cachedRead, foldName, MAX_READ_BYTES, openReadAt, readAtBuffer, splitDiscPath, type ReadAt } from '../../../agent/disc-fs/read-at.js';
import { genisoimage, isoinfoVolumeBytes, makeTestDisc, missingTools, tempDir, withImage, writeTree } from './test-images.js';

const B = 2048;
const skipAll = missingTools(['ffmpeg', 'ffmpeg'], ['dvdauthor', 'dvdauthor'], ['genisoimage', 'genisoimage'], ['isoinfo', 'genisoimage'], ['node', 'nodejs'], ['udfinfo', 'udftools']);


describe('openReadAt and the shared path rules', () => {
  const temp = tempDir('read-at');
  afterAll(() => temp.remove());

  it('reads at an offset, returns a short buffer at the end and an empty one past it', async () => {
    const file = join(temp.dir, 'bytes.bin');
    writeFileSync(file, Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff)));
    const disc = await openReadAt(file);
    expect([...(await disc.read(4096, 4))]).toEqual([0, 1, 2, 3]);
    expect((await disc.read(4990, 100)).length).toBe(10);
    expect((await disc.read(10_000, 100)).length).toBe(0);
    await expect(disc.read(-1, 1)).rejects.toThrow(RangeError);
    await expect(disc.read(0, MAX_READ_BYTES + 1)).rejects.toThrow(RangeError);
    await expect(disc.read(0.5, 1)).rejects.toThrow(RangeError);
    await disc.close();
    await disc.close(); // twice is fine
    await expect(disc.read(0, 1)).rejects.toThrow(/closed/);
  });

  it('throws when the path cannot be opened', async () => {
    await expect(openReadAt(join(temp.dir, 'missing.iso'))).rejects.toThrow(/ENOENT/);
  });

  it('caps what one look-up may read', async () => {
    const read = budgetedRead(readAtBuffer(Buffer.alloc(10)), 100, 3);
    await read(0, 50);
    await read(0, 50);
    await expect(read(0, 1)).rejects.toThrow(/budget/);
    await expect(budgetedRead(readAtBuffer(Buffer.alloc(10)), 1000, 1)(0, 1).then(() => undefined)).resolves.toBeUndefined();
  });

  it('serves repeated reads of a range from memory, up to a limit, and forgets failed ones', async () => {
    let reads = 0;
    let fail = true;
    const counting: ReadAt = async (offset, length) => {
      reads += 1;
      if (offset === 999 && fail) throw new Error('EIO');
      return Buffer.alloc(length, offset & 0xff);
    };
    const read = cachedRead(counting, 100);
    expect((await read(1, 40))[0]).toBe(1);
    await read(1, 40);
    expect(reads).toBe(1);
    await read(2, 40);
    await read(3, 40); // over the limit: read, not kept
    await read(3, 40);
    expect(reads).toBe(4);
    await expect(read(999, 1)).rejects.toThrow('EIO');
    fail = false;
    expect((await read(999, 1))[0]).toBe(999 & 0xff);
  });

  it('splits paths and folds names the way both readers compare them', () => {
    expect(splitDiscPath('/VIDEO_TS/VIDEO_TS.IFO;1')).toEqual(['VIDEO_TS', 'VIDEO_TS.IFO']);
    expect(splitDiscPath('BDMV\\index.bdmv')).toEqual(['BDMV', 'index.bdmv']);
    expect(splitDiscPath('./a//b/')).toEqual(['a', 'b']);
    expect(splitDiscPath('')).toBeUndefined();
    expect(splitDiscPath('a/../b')).toBeUndefined();
    expect(splitDiscPath('x/'.repeat(65))).toBeUndefined();
    expect(foldName('README.;1')).toBe(foldName('readme'));
    expect(foldName('INDEX.BDMV')).toBe(foldName('index.bdmv'));
    expect(foldName('ΩMEGA')).toBe('ωmega');
    expect(foldName('Cafe\u0301')).toBe(foldName('CAFÉ')); // NFC
  });
});

describe.skipIf(skipAll)('discHasFile and volumeInfo on real images (DVD, --data, --bluray, UDF 1.02 bridge, plain ISO)', () => {
  const temp = tempDir('disc-files');
  const images: Record<string, string> = {};
  beforeAll(() => {
    images.dvd = makeTestDisc(temp.dir, 'dvd.iso'); // default titles, ~2 s
    images.data = makeTestDisc(temp.dir, 'data.iso', ['--data']);
    images.bluray = makeTestDisc(temp.dir, 'bluray.iso', ['--bluray']);
    const tree = writeTree(temp.dir, 'tree', { 'BDMV/index.bdmv': 'INDX0200', 'BDMV/PLAYLIST/00000.mpls': 'MPLS0200', 'notes.txt': 'x' });
    images.udfBridge = genisoimage(temp.dir, 'bridge.iso', tree, ['-udf', '-J', '-r', '-V', 'BD_ON_ISO']);
    images.plain = genisoimage(temp.dir, 'plain.iso', tree, ['-V', 'PLAIN_ISO']);
  }, 120_000);
  afterAll(() => temp.remove());

  it('tells a DVD (VIDEO_TS), a Blu-ray (BDMV) and data discs apart', async () => {
    const expected: Record<string, [videoTs: boolean, bdmv: boolean]> = {
      dvd: [true, false],
      data: [false, false],
      bluray: [false, true],
      udfBridge: [false, true],
      plain: [false, false], // ISO 9660 level 1 keeps 8.3 names: the file is INDEX.BDM;1 there
    };
    for (const [name, [videoTs, bdmv]] of Object.entries(expected)) {
      const image = images[name] as string;
      expect(await withImage(image, (read) => discHasFile(read, 'VIDEO_TS/VIDEO_TS.IFO')), name).toBe(videoTs);
      expect(await withImage(image, (read) => discHasFile(read, 'BDMV/index.bdmv')), name).toBe(bdmv);
    }
    // Folders and empty files are not "files on the disc".
    expect(await withImage(images.dvd!, (read) => discHasFile(read, 'VIDEO_TS'))).toBe(false);
    expect(await withImage(images.bluray!, (read) => discHasFile(read, 'BDMV/STREAM'))).toBe(false);
  });

  it('reports the file system, the label and the size from the volume descriptors', async () => {
    expect(await withImage(images.dvd!, volumeInfo)).toEqual({ fileSystem: 'udf', label: 'DISCBRIDGE_TEST', volumeBytes: isoinfoVolumeBytes(images.dvd!) });
    expect(await withImage(images.data!, volumeInfo)).toEqual({ fileSystem: 'iso9660', label: 'DISCBRIDGE_TEST', volumeBytes: isoinfoVolumeBytes(images.data!) });
    expect(await withImage(images.udfBridge!, volumeInfo)).toEqual({ fileSystem: 'udf', label: 'BD_ON_ISO', volumeBytes: isoinfoVolumeBytes(images.udfBridge!) });
    expect(await withImage(images.plain!, volumeInfo)).toEqual({ fileSystem: 'iso9660', label: 'PLAIN_ISO', volumeBytes: isoinfoVolumeBytes(images.plain!) });
    // UDF only: from the partition and the closing anchor, which the writer puts in the image's last block.
    expect(await withImage(images.bluray!, volumeInfo)).toEqual({ fileSystem: 'udf', label: 'DISCBRIDGE_TEST', volumeBytes: statSync(images.bluray!).size });
    expect(await volumeInfo(readAtBuffer(Buffer.alloc(64 * B)))).toEqual({ fileSystem: undefined });
  });

  /** Every call settles within 2 s and reads a bounded amount, whatever the image. */
  async function survives(image: Buffer): Promise<void> {
    let bytes = 0;
    const read: ReadAt = (offset, length) => {
      bytes += length;
      return readAtBuffer(image)(offset, length);
    };
    const started = performance.now();
    const results = [await discHasFile(read, 'VIDEO_TS/VIDEO_TS.IFO'), await discHasFile(read, 'BDMV/index.bdmv'), await discHasFile(read, 'photos/2024/summer/beach/IMG_0001.jpg')];
    const info = await volumeInfo(read);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(bytes).toBeLessThan(300 * 1024 * 1024);
    for (const result of results) expect(typeof result).toBe('boolean');
    expect(['udf', 'iso9660', undefined]).toContain(info.fileSystem);
  }

  it('settles on truncated images at every interesting cut and at random ones (fast-check, bounded)', async () => {
    for (const name of ['dvd', 'data', 'bluray', 'udfBridge']) {
      const whole = readFileSync(images[name] as string);
      const cuts = [0, 1, 16 * B - 1, 16 * B + 100, 17 * B, 19 * B, 256 * B - 1, 256 * B + 15, 257 * B, 300 * B, 320 * B + 7, whole.length - B, whole.length - 1];
      for (const cut of cuts) await survives(whole.subarray(0, Math.max(0, Math.min(whole.length, cut))));
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: Math.min(whole.length, 2 * 1024 * 1024) }), (cut) => survives(whole.subarray(0, cut))),
        { numRuns: 40, seed: 42 },
      );
    }
    // A Blu-ray cut off after its metadata still says BDMV: the look-up needs no file data.
    const bluray = readFileSync(images.bluray!);
    expect(await discHasFile(readAtBuffer(bluray.subarray(0, 500 * B)), 'BDMV/index.bdmv')).toBe(true);
    expect(await discHasFile(readAtBuffer(bluray.subarray(0, 300 * B)), 'BDMV/index.bdmv')).toBe(false);
  }, 120_000);

  it('settles on images with random bytes written over their first sectors (fast-check, bounded)', async () => {
    for (const name of ['dvd', 'data', 'bluray']) {
      const whole = readFileSync(images[name] as string).subarray(0, 3 * 1024 * 1024);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 16 * B, max: 600 * B }), fc.uint8Array({ minLength: 1, maxLength: 64 })), { minLength: 1, maxLength: 20 }),
          async (patches) => {
            const image = Buffer.from(whole);
            for (const [at, bytes] of patches) image.set(bytes.subarray(0, Math.max(0, image.length - at)), at);
            await survives(image);
          },
        ),
        { numRuns: 60, seed: 1234 },
      );
    }
  }, 120_000);

  it('finds nothing in random bytes, zeros or a read that always fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 700 * 1024 }), async (random) => {
        const read = readAtBuffer(Buffer.from(random));
        expect(await discHasFile(read, 'BDMV/index.bdmv')).toBe(false);
        expect(await discHasFile(read, 'VIDEO_TS/VIDEO_TS.IFO')).toBe(false);
      }),
      { numRuns: 25, seed: 99 },
    );
    expect(await discHasFile(readAtBuffer(Buffer.alloc(2 * 1024 * 1024)), 'BDMV/index.bdmv')).toBe(false);
    const failing: ReadAt = () => Promise.reject(new Error('EIO'));
    expect(await discHasFile(failing, 'BDMV/index.bdmv')).toBe(false);
    expect(await volumeInfo(failing)).toEqual({ fileSystem: undefined });
    const throwing: ReadAt = () => {
      throw new Error('synchronous failure');
    };
    expect(await discHasFile(throwing, 'BDMV/index.bdmv')).toBe(false);
    expect(await volumeInfo(throwing)).toEqual({ fileSystem: undefined });
  });
});
