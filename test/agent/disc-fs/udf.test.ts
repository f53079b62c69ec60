import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIsoVolume } from '../../../agent/disc-fs/iso9660.js';
import { readAtBuffer, type ReadAt } from '../../../agent/disc-fs/read-at.js';
import { findUdfEntry, readUdfVolume } from '../../../agent/disc-fs/udf.js';
import { onPath } from '../../tools/on-path.js';
import { genisoimage, makeTestDisc, missingTools, mkudffs, retag, tagOf, tempDir, udfinfo, withImage, writeTree } from './test-images.js';

const B = 2048;
const skipBluray = missingTools(['ffmpeg', 'ffmpeg'], ['node', 'nodejs'], ['udfinfo', 'udftools']);
const skipGenisoimage = missingTools(['genisoimage', 'genisoimage'], ['udfinfo', 'udftools']);
const skipMkudffs = missingTools(['mkudffs', 'udftools'], ['udfinfo', 'udftools']);


/** Runs `work` and checks it settles within 2 s: a hostile image must never make a look-up hang. */
async function quickly<T>(work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  expect(performance.now() - started).toBeLessThan(2000);
  return result;
}

describe.skipIf(skipBluray)('UDF 2.50 with a metadata partition: a make-test-disc --bluray image', () => {
  const temp = tempDir('udf-bluray');
  let image = '';
  let bytes: Buffer;
  beforeAll(() => {
    image = makeTestDisc(temp.dir, 'bluray.iso', ['--bluray', '--label', 'My Movie']);
    bytes = readFileSync(image);
  }, 60_000);
  afterAll(() => temp.remove());

  /** Block numbers of the blocks holding a valid descriptor with this identifier (and ICB file type). */
  const blocksWith = (image: Buffer, ident: number, fileType?: number): number[] => {
    const found: number[] = [];
    for (let block = 0; (block + 1) * B <= image.length; block++) {
      const data = image.subarray(block * B, (block + 1) * B);
      if (tagOf(data)?.ident === ident && (fileType === undefined || data[27] === fileType)) found.push(block);
    }
    return found;
  };

  it('is UDF 2.50 with no ISO 9660 side, as udfinfo and blkid say', async () => {
    const info = udfinfo(image);
    expect(info.status).toBe(0);
    expect(info.stderr).toBe('');
    expect(info.props).toMatchObject({ udfrev: '2.50', lvid: 'My Movie', vid: 'My Movie', accesstype: 'readonly', integrity: 'closed' });
    expect(bytes.toString('latin1', 16 * B + 1, 16 * B + 6)).toBe('BEA01');
    expect(await withImage(image, readIsoVolume)).toBeUndefined();
    if (onPath('blkid')) {
      const blkid = spawnSync('blkid', ['-p', '-o', 'export', image], { encoding: 'utf8' }).stdout;
      expect(blkid).toMatch(/^TYPE=udf$/m);
      expect(blkid).toMatch(/^VERSION=2\.50$/m);
    }
  });

  it('reads the volume: label, revision 2.50, a physical and a metadata partition map, the whole size', async () => {
    const volume = await withImage(image, readUdfVolume);
    expect(volume).toMatchObject({
      label: 'My Movie',
      volumeId: 'My Movie',
      revision: 0x0250,
      blockSize: B,
      partitionMaps: [
        { kind: 'physical', partitionNumber: 0 },
        { kind: 'metadata', partitionNumber: 0 },
      ],
    });
    expect(volume?.volumeBytes).toBe(statSync(image).size);
    expect(await withImage(image, (read) => readUdfVolume(read, { volumeSize: false }))).not.toHaveProperty('volumeBytes');
  });

  it('finds the BDMV files in any case, through the metadata partition', async () => {
    const files = {
      'BDMV/index.bdmv': 120,
      'bdmv/INDEX.BDMV': 120,
      'BDMV/MovieObject.bdmv': 90,
      'BDMV/PLAYLIST/00000.mpls': 160,
      'BDMV/CLIPINF/00000.clpi': 300,
      'BDMV/BACKUP/PLAYLIST/00000.mpls': 160,
      'certificate/backup/ID.BDMV': 104,
    };
    for (const [path, size] of Object.entries(files)) {
      expect(await withImage(image, (read) => findUdfEntry(read, path)), path).toMatchObject({ isDirectory: false, size });
    }
    const stream = await withImage(image, (read) => findUdfEntry(read, 'BDMV/STREAM/00000.m2ts'));
    expect(stream).toMatchObject({ name: '00000.m2ts', isDirectory: false });
    expect(stream!.size).toBeGreaterThan(500_000);
    expect(stream!.size % 192).toBe(0); // 192-byte M2TS packets
    for (const dir of ['BDMV', 'CERTIFICATE', 'BDMV/JAR', 'BDMV/BACKUP/BDJO']) {
      expect(await withImage(image, (read) => findUdfEntry(read, dir)), dir).toMatchObject({ isDirectory: true });
    }
    for (const missing of ['VIDEO_TS/VIDEO_TS.IFO', 'BDMV/index.bdmv/x', 'BDMV/STREAM/00001.m2ts', 'BDMV/JAR/anything']) {
      expect(await withImage(image, (read) => findUdfEntry(read, missing)), missing).toBeUndefined();
    }
  });

  it('reads the metadata through the mirror when the metadata file is broken, and nothing when both are', async () => {
    const [main] = blocksWith(bytes, 266, 250);
    const [mirror] = blocksWith(bytes, 266, 251);
    expect(main).toBeDefined();
    expect(mirror).toBeDefined();
    const image = Buffer.from(bytes);
    // Break the metadata file's entry and wipe the copy it points at: only the mirror is left.
    const start = main! - image.readUInt32LE(main! * B + 12); // partition start: the entry's block − its location
    const mainCopy = image.readUInt32LE(main! * B + 216 + 4);
    const copyBlocks = Math.ceil((image.readUInt32LE(main! * B + 216) & 0x3fffffff) / B);
    image.fill(0, (start + mainCopy) * B, (start + mainCopy + copyBlocks) * B);
    image.writeUInt8(image.readUInt8(main! * B + 100) ^ 0xff, main! * B + 100); // the CRC no longer matches
    expect(await findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv')).toMatchObject({ size: 120 });
    image.writeUInt8(image.readUInt8(mirror! * B + 100) ^ 0xff, mirror! * B + 100);
    expect(await quickly(() => findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv'))).toBeUndefined();
    expect(await readUdfVolume(readAtBuffer(image))).toMatchObject({ label: 'My Movie' });
  });

  /** The metadata-partition block of the root directory's entry, and the image block of its first copy. */
  function rootEntry(image: Buffer): { location: number; block: number } {
    const [fsd] = blocksWith(image, 256);
    const location = image.readUInt32LE(fsd! * B + 400 + 4);
    const block = blocksWith(image, 266, 4).find((b) => image.readUInt32LE(b * B + 12) === location);
    return { location, block: block! };
  }

  /** The last block of the first metadata copy (padding: the metadata is rounded up to 32 blocks), as both numbers. */
  function spareMetadataBlock(image: Buffer, root: { location: number; block: number }): { location: number; block: number } {
    const [main] = blocksWith(image, 266, 250);
    const blocks = Math.ceil((image.readUInt32LE(main! * B + 216) & 0x3fffffff) / B);
    const spare = { location: blocks - 1, block: root.block - root.location + blocks - 1 };
    expect(image.subarray(spare.block * B, (spare.block + 1) * B).every((byte) => byte === 0)).toBe(true);
    return spare;
  }

  /** Turns the block at `at` into an Indirect Entry whose ICB is metadata block `target`. */
  function indirectEntry(image: Buffer, at: { location: number; block: number }, target: number): void {
    const entry = image.subarray(at.block * B, (at.block + 1) * B);
    entry.fill(0);
    entry.writeUInt16LE(3, 2);
    entry.writeUInt16LE(4, 16 + 4); // ICB tag: strategy 4
    entry.writeUInt16LE(1, 16 + 8);
    entry[16 + 11] = 3; // file type 3: indirect entry
    entry.writeUInt32LE(B, 36); // indirect ICB: long_ad into the metadata partition (reference 1)
    entry.writeUInt32LE(target, 40);
    entry.writeUInt16LE(1, 44);
    retag(entry, 259, at.location, 52);
  }

  it('follows an indirect entry to the root directory, and gives up on one pointing at itself', async () => {
    const image = Buffer.from(bytes);
    const root = rootEntry(image);
    const spare = spareMetadataBlock(image, root);
    // The root's entry moves to the spare block; an indirect entry where it was leads there.
    image.copy(image, spare.block * B, root.block * B, (root.block + 1) * B);
    const moved = image.subarray(spare.block * B, (spare.block + 1) * B);
    retag(moved, 266, spare.location, 216 + moved.readUInt32LE(212));
    indirectEntry(image, root, spare.location);
    expect(await quickly(() => findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv'))).toMatchObject({ size: 120 });

    indirectEntry(image, root, root.location);
    expect(await quickly(() => findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv'))).toBeUndefined();
    expect(await quickly(() => readUdfVolume(readAtBuffer(image)))).toMatchObject({ revision: 0x0250 });
  });

  it('reads allocation descriptors continued in an extent descriptor, and gives up on one continuing into itself', async () => {
    const image = Buffer.from(bytes);
    const root = rootEntry(image);
    const spare = spareMetadataBlock(image, root);
    const entry = image.subarray(root.block * B, (root.block + 1) * B);
    const original = Buffer.from(entry.subarray(216, 224)); // the directory's one short_ad
    entry.writeUInt32LE(((3 << 30) | B) >>> 0, 216); // short_ad type 3: the ADs go on in an extent descriptor
    entry.writeUInt32LE(spare.location, 220);
    retag(entry, 266, root.location, 216 + 8);
    const aed = image.subarray(spare.block * B, (spare.block + 1) * B);
    aed.writeUInt16LE(3, 2);
    aed.writeUInt32LE(8, 20);
    original.copy(aed, 24);
    retag(aed, 258, spare.location, 32);
    expect(await quickly(() => findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv'))).toMatchObject({ size: 120 });

    aed.writeUInt32LE(((3 << 30) | B) >>> 0, 24); // now it goes on in itself
    aed.writeUInt32LE(spare.location, 28);
    retag(aed, 258, spare.location, 32);
    expect(await quickly(() => findUdfEntry(readAtBuffer(image), 'BDMV/index.bdmv'))).toBeUndefined();
  });

  it('treats a directory claiming 2^40 bytes, or a FID claiming 64 kB of implementation use, as unreadable', async () => {
    const huge = Buffer.from(bytes);
    const root = rootEntry(huge);
    const entry = huge.subarray(root.block * B, (root.block + 1) * B);
    entry.writeUInt32LE(0x100, 60); // information length 2^40
    retag(entry, 266, root.location, 216 + entry.readUInt32LE(212));
    expect(await quickly(() => findUdfEntry(readAtBuffer(huge), 'BDMV/index.bdmv'))).toBeUndefined();

    const fidLie = Buffer.from(bytes);
    const dirBlock = fidLie.readUInt32LE(root.block * B + 216 + 4);
    const fids = fidLie.subarray((root.block + dirBlock - root.location) * B);
    const second = Math.ceil((38 + fids.readUInt16LE(36) + (fids[19] as number)) / 4) * 4; // after the parent FID
    fids.writeUInt16LE(0xffff, second + 36);
    retag(fids.subarray(second), 257, dirBlock, 40);
    expect(await quickly(() => findUdfEntry(readAtBuffer(fidLie), 'BDMV/index.bdmv'))).toBeUndefined();
  });

  it('survives descriptors with random bytes that still carry valid tags (fast-check, bounded)', async () => {
    const tagged: number[] = [];
    for (let block = 0; (block + 1) * B <= bytes.length; block++) if (tagOf(bytes.subarray(block * B, (block + 1) * B))) tagged.push(block);
    expect(tagged.length).toBeGreaterThan(40);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...tagged),
        fc.array(fc.tuple(fc.integer({ min: 16, max: 511 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        async (block, changes) => {
          const image = Buffer.from(bytes);
          const descriptor = image.subarray(block * B, (block + 1) * B);
          for (const [at, value] of changes) descriptor[at] = value;
          const crcLength = Math.min(descriptor.readUInt16LE(10) + 16, B);
          retag(descriptor, descriptor.readUInt16LE(0), descriptor.readUInt32LE(12), Math.max(16, crcLength));
          let read = 0;
          const counting: ReadAt = (offset, length) => {
            read += length;
            return readAtBuffer(image)(offset, length);
          };
          const started = performance.now();
          await findUdfEntry(counting, 'BDMV/PLAYLIST/00000.mpls');
          await findUdfEntry(counting, 'BDMV/STREAM/00000.m2ts');
          await readUdfVolume(counting);
          expect(performance.now() - started).toBeLessThan(2000);
          expect(read).toBeLessThan(200 * 1024 * 1024);
        },
      ),
      { numRuns: 150, seed: 20240101 },
    );
  }, 120_000);
});

describe.skipIf(skipGenisoimage)('UDF 1.02: genisoimage -udf bridge image', () => {
  const temp = tempDir('udf-102');
  let image = '';
  beforeAll(() => {
    const tree = writeTree(temp.dir, 'tree', {
      'BDMV/index.bdmv': 'INDX0200',
      'BDMV/PLAYLIST/00000.mpls': 'MPLS0200',
      'deep/a/b/c/d/Mixed.Case.TXT': 'deep\n',
      '日本語のファイル.txt': 'sixteen-bit name\n',
      'lower.txt': 'x',
      'EMPTY.TXT': '',
      'emptydir/': '',
    });
    image = genisoimage(temp.dir, 'bridge.iso', tree, ['-udf', '-J', '-r', '-V', 'UDF_BRIDGE']);
  });
  afterAll(() => temp.remove());

  it('agrees with udfinfo on revision and label', async () => {
    expect(udfinfo(image).props).toMatchObject({ udfrev: '1.02', lvid: 'UDF_BRIDGE' });
    expect(await withImage(image, readUdfVolume)).toMatchObject({ revision: 0x0102, label: 'UDF_BRIDGE', partitionMaps: [{ kind: 'physical' }] });
  });

  it('finds files by 8-bit and 16-bit (OSTA CS0) names, in any case, deep or not', async () => {
    const cases: [string, object][] = [
      ['bdmv/INDEX.BDMV', { name: 'index.bdmv', size: 8 }],
      ['BDMV/playlist/00000.MPLS', { name: '00000.mpls', size: 8 }],
      ['DEEP/A/B/C/D/mixed.case.txt', { name: 'Mixed.Case.TXT', size: 5 }],
      ['日本語のファイル.TXT', { name: '日本語のファイル.txt', size: 17 }],
      ['LOWER.TXT', { name: 'lower.txt', size: 1 }],
      ['empty.txt', { name: 'EMPTY.TXT', size: 0 }],
      ['emptydir', { isDirectory: true }],
    ];
    for (const [path, expected] of cases) expect(await withImage(image, (read) => findUdfEntry(read, path)), path).toMatchObject(expected);
    expect(await withImage(image, (read) => findUdfEntry(read, 'emptydir/x'))).toBeUndefined();
  });
});

describe.skipIf(skipMkudffs)('empty UDF volumes from mkudffs: 1.02 to 2.50, physical, sparable and virtual partitions', () => {
  const temp = tempDir('udf-mkudffs');
  afterAll(() => temp.remove());
  const SIZE = 24 * 1024 * 1024;
  const variants: [string, string[], number, string[]][] = [
    ['hd 1.02', ['--media-type=hd', '--udfrev=1.02'], 0x0102, ['physical']],
    ['hd 1.50', ['--media-type=hd', '--udfrev=1.50'], 0x0150, ['physical']],
    ['hd 2.01', ['--media-type=hd', '--udfrev=2.01'], 0x0201, ['physical']],
    ['hd 2.01, 512-byte blocks, file entries', ['--media-type=hd', '--udfrev=2.01', '--blocksize=512', '--noefe'], 0x0201, ['physical']],
    ['cdrw 2.01 (sparable)', ['--media-type=cdrw', '--udfrev=2.01'], 0x0201, ['sparable']],
    ['dvdrw 1.50 (sparable)', ['--media-type=dvdrw', '--udfrev=1.50'], 0x0150, ['sparable']],
    ['bdr 2.50 (VAT)', ['--media-type=bdr', '--udfrev=2.50'], 0x0250, ['physical', 'virtual']],
  ];
  for (const [name, args, revision, kinds] of variants) {
    it(`${name}: label, revision, partition maps, size; the empty root holds nothing`, async () => {
      const image = mkudffs(temp.dir, `${name.replace(/\W+/g, '_')}.img`, SIZE, [...args, '--label=MK TEST']);
      expect(udfinfo(image).props.udfrev).toBe(`${revision >> 8}.${(revision & 0xff).toString(16).padStart(2, '0')}`);
      const volume = await quickly(() => withImage(image, readUdfVolume));
      expect(volume).toMatchObject({ label: 'MK TEST', revision });
      expect(volume?.partitionMaps.map((map) => map.kind)).toEqual(kinds);
      expect(volume?.volumeBytes).toBe(SIZE);
      expect(await quickly(() => withImage(image, (read) => findUdfEntry(read, 'BDMV/index.bdmv')))).toBeUndefined();
    });
  }
});

// udfclient (Debian package udfclient) writes files into a UDF image from user space; not in scripts/install-deps,
// so these run where it happens to be installed.
describe.skipIf(skipMkudffs ?? (onPath('udfclient') ? undefined : 'needs udfclient (apt-get install udfclient) to put files into mkudffs images'))(
  'mkudffs volumes populated with udfclient: embedded, short_ad and long_ad directories, FE and EFE',
  () => {
    const temp = tempDir('udf-udfclient');
    let tree = '';
    beforeAll(() => {
      tree = writeTree(temp.dir, 'tree', { 'BDMV/index.bdmv': Buffer.alloc(5000, 7), 'BDMV/PLAYLIST/00000.mpls': 'MPLS0200', 'Deep/Er/Still/Leaf.Txt': 'leaf\n' });
    });
    afterAll(() => temp.remove());
    const variants: [string, string[]][] = [
      ['in-ICB (2.01)', ['--media-type=hd', '--udfrev=2.01', '--ad=inicb']],
      ['short_ad (1.02)', ['--media-type=hd', '--udfrev=1.02', '--ad=short']],
      ['long_ad, file entries, 512-byte blocks (1.50)', ['--media-type=hd', '--udfrev=1.50', '--ad=long', '--noefe', '--blocksize=512']],
    ];
    for (const [name, args] of variants) {
      it(name, async () => {
        const image = mkudffs(temp.dir, `${name.replace(/\W+/g, '_')}.img`, 24 * 1024 * 1024, [...args, '--label=POPULATED']);
        const listing = execFileSync('udfclient', [image], { input: 'ls\nquit\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
        const volumeDir = /^d\S*\s+\S+\s+\S+\s+\S+\s+(\S+)$/m.exec(listing)?.[1];
        expect(volumeDir).toBeDefined();
        execFileSync('udfclient', ['-W', image], { cwd: tree, input: `cd ${volumeDir}\nmput BDMV Deep\nsync\nquit\n`, stdio: ['pipe', 'ignore', 'ignore'] });
        expect(await withImage(image, (read) => findUdfEntry(read, 'bdmv/index.BDMV'))).toMatchObject({ size: 5000, isDirectory: false });
        expect(await withImage(image, (read) => findUdfEntry(read, 'deep/er/still/leaf.txt'))).toMatchObject({ name: 'Leaf.Txt', size: 5 });
        expect(await withImage(image, (read) => findUdfEntry(read, 'Deep/Er/Nope'))).toBeUndefined();
      });
    }
  },
);

describe('UDF on images that are not UDF at all', () => {
  it('finds no volume in zeros, random bytes, an empty or a tiny image', async () => {
    expect(await readUdfVolume(readAtBuffer(Buffer.alloc(0)))).toBeUndefined();
    expect(await readUdfVolume(readAtBuffer(Buffer.alloc(300 * B)))).toBeUndefined();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 * 1024 }), async (random) => {
        const read = readAtBuffer(Buffer.from(random));
        expect(await readUdfVolume(read)).toBeUndefined();
        expect(await findUdfEntry(read, 'BDMV/index.bdmv')).toBeUndefined();
      }),
      { numRuns: 30, seed: 7 },
    );
  });

  it('turns a read error into "not found"', async () => {
    const failing: ReadAt = () => Promise.reject(new Error('EIO'));
    expect(await readUdfVolume(failing)).toBeUndefined();
    expect(await findUdfEntry(failing, 'BDMV/index.bdmv')).toBeUndefined();
  });

  it('rejects paths it must not walk: empty, .., deeper than 64', async () => {
    const never: ReadAt = () => Promise.reject(new Error('should not read'));
    for (const path of ['', '/', 'a/../b', `${'d/'.repeat(70)}f`]) expect(await findUdfEntry(never, path), path).toBeUndefined();
  });
});
