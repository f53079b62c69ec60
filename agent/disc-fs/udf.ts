// UDF 1.02–2.60 (ECMA-167 with the OSTA profile) read straight from the disc: anchor, volume descriptor sequence,
// partition maps (physical, sparable, 2.50+ metadata), file set, (extended) file entries, allocation descriptors
// and file identifiers; case-insensitive path look-ups and the logical volume id. Every length and loop is bounded.
import { budgetedRead, foldName, splitDiscPath, type ReadAt } from './read-at.js';

/** A directory larger than this is treated as unreadable (a Blu-ray's biggest, STREAM, is tens of kB). */
export const MAX_UDF_DIRECTORY_BYTES = 4 * 1024 * 1024;
const ANCHOR_SECTOR = 256;
const BLOCK_SIZES = [2048, 512, 4096, 1024];
/** Blocks of one Volume Descriptor Sequence read at most, and Volume Descriptor Pointers followed at most. */
const MAX_VDS_BLOCKS = 64;
const MAX_VDS_POINTERS = 4;
/** Indirect entries followed at most to reach a file entry (the kernel allows 1024; real discs use 0 or 1). */
const MAX_ICB_HOPS = 8;
/** Allocation extent descriptors followed at most, and extents of one file read at most. */
const MAX_AD_CONTINUATIONS = 16;
const MAX_EXTENTS = 1024;

const TAG = {
  primaryVolume: 1,
  anchor: 2,
  pointer: 3,
  implementationUse: 4,
  partition: 5,
  logicalVolume: 6,
  unallocatedSpace: 7,
  terminating: 8,
  fileSet: 256,
  fileIdentifier: 257,
  allocationExtent: 258,
  indirectEntry: 259,
  fileEntry: 261,
  extendedFileEntry: 266,
} as const;

const FILE_TYPE_DIRECTORY = 4;
const FILE_TYPE_METADATA = 250;
const FILE_TYPE_METADATA_MIRROR = 251;

export type UdfPartitionKind = 'physical' | 'sparable' | 'metadata' | 'virtual' | 'unknown';

export interface UdfPartitionMap {
  kind: UdfPartitionKind;
  /** The Partition Descriptor's number this map refers to. */
  partitionNumber: number;
}

export interface UdfVolume {
  /** Logical volume identifier (what blkid shows as the label), else the primary volume identifier. */
  label: string;
  /** Primary volume identifier (at most 30 characters; DVD players show this one). */
  volumeId: string;
  /** UDF revision from the domain identifier, e.g. 0x0250; undefined when not recorded. */
  revision?: number;
  blockSize: number;
  partitionMaps: UdfPartitionMap[];
  /** Bytes from the start of the disc to the end of the volume (last anchor, partition or descriptor sequence). */
  volumeBytes?: number;
}

export interface UdfEntry {
  name: string;
  isDirectory: boolean;
  /** Information length of its file entry, in bytes. */
  size: number;
}

interface BlockAddress {
  partitionRef: number;
  block: number;
}

interface Extent {
  /** Bytes in the extent. */
  length: number;
  /** 0 recorded, 1 allocated but not recorded, 2 neither (both read as zeros), 3 next allocation extent. */
  type: number;
  at: BlockAddress;
}

interface MetadataMap {
  /** Where each run of the metadata partition lies in the physical partition. */
  runs: { start: number; blocks: number; physical: number }[];
}

interface Partition {
  kind: UdfPartitionKind;
  partitionNumber: number;
  /** Absolute start block and length in blocks of the Partition Descriptor this map lies on. */
  start?: number;
  length?: number;
  metadata?: MetadataMap;
}

interface Volume {
  info: UdfVolume;
  blockSize: number;
  partitions: Partition[];
  root: BlockAddress;
}

interface FileEntry {
  fileType: number;
  size: number;
  /** Data embedded in the ICB (allocation type 3). */
  embedded?: Buffer;
  extents: Extent[];
}

/**
 * Reads the volume structure; undefined when there is no (readable) UDF volume. With `volumeSize: false` it skips
 * the look for the closing anchor (one read of up to 512 blocks after the partition, on a real drive a seek to the
 * end of the disc), and `volumeBytes` is left out.
 */
export async function readUdfVolume(read: ReadAt, options: { volumeSize?: boolean } = {}): Promise<UdfVolume | undefined> {
  try {
    return (await openVolume(budgetedRead(read, 8 * 1024 * 1024, 512), options.volumeSize ?? true))?.info;
  } catch {
    return undefined;
  }
}

/** Looks a path up (`BDMV/index.bdmv`, any case); undefined when it is not there or anything on the way is broken. */
export async function findUdfEntry(read: ReadAt, path: string): Promise<UdfEntry | undefined> {
  try {
    const parts = splitDiscPath(path);
    if (!parts) return undefined;
    const budget = budgetedRead(read);
    const volume = await openVolume(budget, false);
    if (!volume) return undefined;
    let directory = await readFileEntry(budget, volume, volume.root);
    for (let i = 0; i < parts.length; i++) {
      if (!directory || directory.fileType !== FILE_TYPE_DIRECTORY) return undefined;
      const wanted = foldName(parts[i] as string);
      const identifier = await findIdentifier(budget, volume, directory, wanted);
      if (!identifier) return undefined;
      const entry = await readFileEntry(budget, volume, identifier.icb);
      if (!entry) return undefined;
      const isDirectory = entry.fileType === FILE_TYPE_DIRECTORY;
      if (i === parts.length - 1) return { name: identifier.name, isDirectory, size: entry.size };
      directory = entry;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

// ---- Volume structure

async function openVolume(read: ReadAt, wantSize: boolean): Promise<Volume | undefined> {
  for (const blockSize of BLOCK_SIZES) {
    const anchor = await readDescriptor(read, ANCHOR_SECTOR * blockSize, blockSize, ANCHOR_SECTOR);
    if (!anchor || anchor.readUInt16LE(0) !== TAG.anchor) continue;
    const sequences = [extentAd(anchor, 16), extentAd(anchor, 24)];
    for (const sequence of sequences) {
      const descriptors = await readSequence(read, blockSize, sequence);
      const volume = descriptors && (await buildVolume(read, blockSize, descriptors));
      if (volume) {
        if (wantSize) {
          const ends = [...sequences.map((s) => s.location + Math.ceil(s.length / blockSize)), ANCHOR_SECTOR + 1];
          for (const p of volume.partitions) if (p.start !== undefined && p.length !== undefined) ends.push(p.start + p.length);
          const end = await findVolumeEnd(read, blockSize, Math.max(...ends));
          volume.info.volumeBytes = end * blockSize;
        }
        return volume;
      }
    }
    return undefined; // an anchor in this block size, but no usable volume behind it
  }
  return undefined;
}

interface Descriptors {
  primary?: Buffer;
  logicalVolume?: Buffer;
  partitions: Map<number, Buffer>;
}

async function readSequence(read: ReadAt, blockSize: number, extent: { length: number; location: number }): Promise<Descriptors | undefined> {
  const found: Descriptors = { partitions: new Map() };
  const sequenceNumbers = new Map<string, number>();
  let current = extent;
  let pointers = 0;
  let blocksRead = 0;
  next: for (;;) {
    const blocks = Math.min(Math.floor(current.length / blockSize), MAX_VDS_BLOCKS);
    for (let i = 0; i < blocks; i++) {
      if (++blocksRead > MAX_VDS_BLOCKS * 2) break next;
      const location = current.location + i;
      const descriptor = await readDescriptor(read, location * blockSize, blockSize, location);
      if (!descriptor) break next;
      const tag = descriptor.readUInt16LE(0);
      if (tag === TAG.terminating) break next;
      if (tag === TAG.pointer) {
        if (++pointers > MAX_VDS_POINTERS) break next;
        current = extentAd(descriptor, 20);
        continue next;
      }
      // Several copies of a descriptor: the one with the highest Volume Descriptor Sequence Number prevails.
      const sequenceNumber = descriptor.readUInt32LE(16);
      const keep = (key: string): boolean => {
        const seen = sequenceNumbers.get(key);
        if (seen !== undefined && seen > sequenceNumber) return false;
        sequenceNumbers.set(key, sequenceNumber);
        return true;
      };
      if (tag === TAG.primaryVolume && keep('pvd')) found.primary = descriptor;
      else if (tag === TAG.logicalVolume && keep('lvd')) found.logicalVolume = descriptor;
      else if (tag === TAG.partition) {
        const number = descriptor.readUInt16LE(22);
        if (keep(`pd${number}`)) found.partitions.set(number, descriptor);
      }
    }
    break;
  }
  return found.logicalVolume && found.partitions.size > 0 ? found : undefined;
}

async function buildVolume(read: ReadAt, blockSize: number, descriptors: Descriptors): Promise<Volume | undefined> {
  const lvd = descriptors.logicalVolume as Buffer;
  if (lvd.readUInt32LE(212) !== blockSize) return undefined;
  const domain = lvd.subarray(216, 248);
  const revision = domain.toString('latin1', 1, 20) === '*OSTA UDF Compliant' ? domain.readUInt16LE(24) : undefined;
  const mapTableLength = lvd.readUInt32LE(264);
  const mapCount = lvd.readUInt32LE(268);
  const table = lvd.subarray(440, Math.min(lvd.length, 440 + mapTableLength));

  const partitions: Partition[] = [];
  let pos = 0;
  for (let i = 0; i < mapCount && i < 64 && pos + 2 <= table.length; i++) {
    const type = table[pos] as number;
    const length = table[pos + 1] as number;
    if (length < 2 || pos + length > table.length) break;
    const map = table.subarray(pos, pos + length);
    pos += length;
    if (type === 1 && length >= 6) {
      partitions.push(physical(descriptors, 'physical', map.readUInt16LE(4)));
    } else if (type === 2 && length >= 64) {
      const ident = map.toString('latin1', 5, 28).replace(/\0+$/, '');
      const partitionNumber = map.readUInt16LE(38);
      if (ident === '*UDF Sparable Partition') {
        // The sparing table only matters for blocks that went bad on rewritable media: read the blocks where they are.
        partitions.push(physical(descriptors, 'sparable', partitionNumber));
      } else if (ident === '*UDF Metadata Partition') {
        const base = physical(descriptors, 'metadata', partitionNumber);
        const metadata = await readMetadataMap(read, blockSize, base, map.readUInt32LE(40), map.readUInt32LE(44));
        partitions.push({ ...base, ...(metadata ? { metadata } : {}) });
      } else if (ident === '*UDF Virtual Partition') {
        // The VAT sits at the end of the last written session, which only the drive knows: not read here.
        partitions.push({ kind: 'virtual', partitionNumber });
      } else {
        partitions.push({ kind: 'unknown', partitionNumber });
      }
    } else {
      partitions.push({ kind: 'unknown', partitionNumber: -1 });
    }
  }
  if (partitions.length === 0) return undefined;

  const volumeId = dstring(descriptors.primary?.subarray(24, 56));
  const logicalId = dstring(lvd.subarray(84, 212));
  const info: UdfVolume = {
    label: logicalId || volumeId,
    volumeId,
    ...(revision !== undefined ? { revision } : {}),
    blockSize,
    partitionMaps: partitions.map(({ kind, partitionNumber }) => ({ kind, partitionNumber })),
  };
  const volume: Volume = { info, blockSize, partitions, root: { partitionRef: 0, block: 0 } };

  // The File Set Descriptor (and with it the root directory) is where the LVD's contents use points.
  const fsd = longAd(lvd, 248);
  const root = await findRoot(read, volume, fsd);
  if (!root) return { ...volume, root: { partitionRef: -1, block: 0 } }; // the label is still worth having
  return { ...volume, root };
}

function physical(descriptors: Descriptors, kind: UdfPartitionKind, partitionNumber: number): Partition {
  const pd = descriptors.partitions.get(partitionNumber);
  if (!pd) return { kind, partitionNumber };
  return { kind, partitionNumber, start: pd.readUInt32LE(188), length: pd.readUInt32LE(192) };
}

async function readMetadataMap(read: ReadAt, blockSize: number, partition: Partition, fileBlock: number, mirrorBlock: number): Promise<MetadataMap | undefined> {
  // The metadata file (or, if it is unreadable, its mirror) lies in the physical partition; its extents map the
  // metadata partition onto that partition's blocks.
  for (const [block, wantedType] of [[fileBlock, FILE_TYPE_METADATA], [mirrorBlock, FILE_TYPE_METADATA_MIRROR]] as const) {
    if (partition.start === undefined || partition.length === undefined || block >= partition.length) continue;
    const physicalOnly: Volume = {
      info: { label: '', volumeId: '', blockSize, partitionMaps: [] },
      blockSize,
      partitions: [{ kind: 'physical', partitionNumber: partition.partitionNumber, start: partition.start, length: partition.length }],
      root: { partitionRef: 0, block: 0 },
    };
    const entry = await readFileEntry(read, physicalOnly, { partitionRef: 0, block });
    if (!entry || entry.fileType !== wantedType || entry.embedded) continue;
    const runs: MetadataMap['runs'] = [];
    let start = 0;
    for (const extent of entry.extents) {
      const blocks = Math.ceil(extent.length / blockSize);
      if (extent.type === 0) runs.push({ start, blocks, physical: extent.at.block });
      start += blocks;
    }
    if (runs.length > 0) return { runs };
  }
  return undefined;
}

async function findRoot(read: ReadAt, volume: Volume, fsd: Extent): Promise<BlockAddress | undefined> {
  // The file set descriptor sequence: the first File Set Descriptor within a few blocks, before any terminator.
  const blocks = Math.max(1, Math.min(8, Math.ceil(fsd.length / volume.blockSize)));
  for (let i = 0; i < blocks; i++) {
    const address = { partitionRef: fsd.at.partitionRef, block: fsd.at.block + i };
    const descriptor = await readBlockDescriptor(read, volume, address);
    if (!descriptor) return undefined;
    const tag = descriptor.readUInt16LE(0);
    if (tag === TAG.terminating) return undefined;
    if (tag === TAG.fileSet) return longAd(descriptor, 400).at;
  }
  return undefined;
}

/**
 * The end of the volume in blocks: the last anchor (at N, with another at N − 256) lies within 257 blocks after the
 * last partition or descriptor sequence; without one found there, the end of those structures.
 */
async function findVolumeEnd(read: ReadAt, blockSize: number, structuresEnd: number): Promise<number> {
  const window = 512;
  const bytes = await read(structuresEnd * blockSize, window * blockSize).catch(() => Buffer.alloc(0));
  let last: number | undefined;
  for (let i = 0; (i + 1) * blockSize <= bytes.length; i++) {
    const location = structuresEnd + i;
    const block = bytes.subarray(i * blockSize, (i + 1) * blockSize);
    if (validTag(block, location) && block.readUInt16LE(0) === TAG.anchor) last = location;
  }
  return last !== undefined ? last + 1 : structuresEnd;
}

// ---- Files and directories

/** Reads the (extended) file entry at an ICB, following indirect entries and strategy-4096 chains, bounded. */
async function readFileEntry(read: ReadAt, volume: Volume, icb: BlockAddress): Promise<FileEntry | undefined> {
  let address = icb;
  const seen = new Set<string>();
  for (let hop = 0; hop <= MAX_ICB_HOPS; hop++) {
    const key = `${address.partitionRef}:${address.block}`;
    if (seen.has(key)) return undefined; // an ICB that leads back to itself
    seen.add(key);
    const descriptor = await readBlockDescriptor(read, volume, address);
    if (!descriptor) return undefined;
    const tag = descriptor.readUInt16LE(0);
    if (tag === TAG.indirectEntry) {
      address = longAd(descriptor, 36).at;
      continue;
    }
    if (tag !== TAG.fileEntry && tag !== TAG.extendedFileEntry) return undefined;
    const strategy = descriptor.readUInt16LE(20);
    if (strategy === 4096) {
      // Strategy 4096: a newer entry may be reached through an indirect entry in the next block.
      const next = await readBlockDescriptor(read, volume, { partitionRef: address.partitionRef, block: address.block + 1 });
      if (next && next.readUInt16LE(0) === TAG.indirectEntry) {
        const target = longAd(next, 36);
        if (target.length > 0 && !seen.has(`${target.at.partitionRef}:${target.at.block}`)) {
          address = target.at;
          continue;
        }
      }
    }
    return parseFileEntry(read, volume, descriptor, tag === TAG.extendedFileEntry, address.partitionRef);
  }
  return undefined;
}

async function parseFileEntry(read: ReadAt, volume: Volume, entry: Buffer, extended: boolean, partitionRef: number): Promise<FileEntry | undefined> {
  const fileType = entry[27] as number;
  const adType = entry.readUInt16LE(34) & 7;
  // informationLength is 64-bit; anything past 2^53 is nonsense on a disc and read as "huge".
  const high = entry.readUInt32LE(60);
  const size = high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x100000000 + entry.readUInt32LE(56);
  const eaLength = entry.readUInt32LE(extended ? 208 : 168);
  const adLength = entry.readUInt32LE(extended ? 212 : 172);
  const adStart = (extended ? 216 : 176) + eaLength;
  if (adStart > entry.length || adLength > entry.length - adStart) return undefined;
  const area = entry.subarray(adStart, adStart + adLength);
  if (adType === 3) return { fileType, size, embedded: area, extents: [] };
  const extents = await readAllocationDescriptors(read, volume, area, adType, partitionRef);
  if (!extents) return undefined;
  return { fileType, size, extents };
}

async function readAllocationDescriptors(read: ReadAt, volume: Volume, first: Buffer, adType: number, partitionRef: number): Promise<Extent[] | undefined> {
  const size = adType === 0 ? 8 : adType === 1 ? 16 : adType === 2 ? 20 : 0;
  if (size === 0) return undefined;
  const extents: Extent[] = [];
  let area = first;
  const seen = new Set<string>();
  for (let continuation = 0; continuation <= MAX_AD_CONTINUATIONS; continuation++) {
    let next: BlockAddress | undefined;
    for (let pos = 0; pos + size <= area.length; pos += size) {
      const extent = adType === 0 ? shortAd(area, pos, partitionRef) : adType === 1 ? longAd(area, pos) : extendedAd(area, pos);
      if (extent.length === 0 && extent.type !== 3) return extents; // a zero length ends the list
      if (extent.type === 3) {
        next = extent.at;
        break;
      }
      extents.push(extent);
      if (extents.length > MAX_EXTENTS) return undefined;
    }
    if (!next) return extents;
    const key = `${next.partitionRef}:${next.block}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    const aed = await readBlockDescriptor(read, volume, next);
    if (!aed || aed.readUInt16LE(0) !== TAG.allocationExtent) return undefined;
    const length = aed.readUInt32LE(20);
    if (length > aed.length - 24) return undefined;
    area = aed.subarray(24, 24 + length);
  }
  return undefined;
}

async function findIdentifier(read: ReadAt, volume: Volume, directory: FileEntry, wanted: string): Promise<{ name: string; icb: BlockAddress } | undefined> {
  if (directory.size > MAX_UDF_DIRECTORY_BYTES) return undefined;
  const data = directory.embedded ? directory.embedded.subarray(0, directory.size) : await readExtents(read, volume, directory.extents, directory.size);
  if (!data) return undefined;
  let pos = 0;
  // Every step moves on by at least 40 bytes, so this ends within data.length / 40 steps.
  while (pos + 38 <= data.length) {
    const fid = data.subarray(pos);
    if (fid.readUInt16LE(0) !== TAG.fileIdentifier || !validChecksum(fid)) return undefined;
    const characteristics = fid[18] as number;
    const nameLength = fid[19] as number;
    const implementationUseLength = fid.readUInt16LE(36);
    const total = Math.ceil((38 + implementationUseLength + nameLength) / 4) * 4;
    if (pos + 38 + implementationUseLength + nameLength > data.length) return undefined;
    pos += total;
    const deleted = (characteristics & 0x04) !== 0;
    const parent = (characteristics & 0x08) !== 0;
    if (deleted || parent || nameLength === 0) continue;
    const name = cs0(fid.subarray(38 + implementationUseLength, 38 + implementationUseLength + nameLength));
    if (name === undefined || foldName(name) !== wanted) continue;
    return { name, icb: longAd(fid, 20).at };
  }
  return undefined;
}

/** The first `size` bytes of a file's extents (holes read as zeros); undefined when a block cannot be mapped. */
async function readExtents(read: ReadAt, volume: Volume, extents: Extent[], size: number): Promise<Buffer | undefined> {
  const wanted = Math.min(size, MAX_UDF_DIRECTORY_BYTES);
  const chunks: Buffer[] = [];
  let total = 0;
  for (const extent of extents) {
    if (total >= wanted) break;
    let remaining = Math.min(extent.length, wanted - total);
    if (extent.type !== 0) {
      chunks.push(Buffer.alloc(remaining));
      total += remaining;
      continue;
    }
    let block = extent.at.block;
    while (remaining > 0) {
      const run = mapBlock(volume, { partitionRef: extent.at.partitionRef, block });
      if (!run) return undefined;
      const bytes = Math.min(remaining, run.blocks * volume.blockSize);
      const chunk = await read(run.absolute * volume.blockSize, bytes);
      if (chunk.length < bytes) return undefined;
      chunks.push(chunk);
      total += bytes;
      remaining -= bytes;
      block += Math.ceil(bytes / volume.blockSize);
    }
  }
  return Buffer.concat(chunks, total);
}

// ---- Blocks and partitions

/** The absolute block of a logical block, and how many blocks after it are contiguous on the disc. */
function mapBlock(volume: Volume, address: BlockAddress): { absolute: number; blocks: number } | undefined {
  const partition = volume.partitions[address.partitionRef];
  if (!partition || partition.start === undefined || partition.length === undefined) return undefined;
  let block = address.block;
  let blocks: number;
  if (partition.kind === 'physical' || partition.kind === 'sparable') {
    if (block >= partition.length) return undefined;
    blocks = partition.length - block;
  } else if (partition.kind === 'metadata' && partition.metadata) {
    const run = partition.metadata.runs.find((r) => block >= r.start && block < r.start + r.blocks);
    if (!run) return undefined;
    blocks = run.start + run.blocks - block;
    block = run.physical + (block - run.start);
    if (block >= partition.length) return undefined;
    blocks = Math.min(blocks, partition.length - block);
  } else {
    return undefined;
  }
  return { absolute: partition.start + block, blocks };
}

/** One block holding a valid descriptor whose tag location is its logical block number. */
async function readBlockDescriptor(read: ReadAt, volume: Volume, address: BlockAddress): Promise<Buffer | undefined> {
  const mapped = mapBlock(volume, address);
  if (!mapped) return undefined;
  return readDescriptor(read, mapped.absolute * volume.blockSize, volume.blockSize, address.block);
}

async function readDescriptor(read: ReadAt, offset: number, blockSize: number, location: number): Promise<Buffer | undefined> {
  const block = await read(offset, blockSize);
  if (block.length < blockSize || !validTag(block, location)) return undefined;
  return block;
}

/** Checksum, version, location and (when it fits the block) CRC of a descriptor tag, as the kernel checks them. */
function validTag(block: Buffer, location: number): boolean {
  if (block.length < 16 || !validChecksum(block)) return false;
  const version = block.readUInt16LE(2);
  if (version !== 2 && version !== 3) return false;
  if (block.readUInt32LE(12) !== location) return false;
  const crcLength = block.readUInt16LE(10);
  if (16 + crcLength <= block.length && crc16(block.subarray(16, 16 + crcLength)) !== block.readUInt16LE(8)) return false;
  return true;
}

function validChecksum(tag: Buffer): boolean {
  if (tag.length < 16) return false;
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += tag[i] as number;
  return (sum & 0xff) === tag[4];
}

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[n] = crc;
  }
  return table;
})();

/** CRC-ITU-T (x^16 + x^12 + x^5 + 1, initial 0) as ECMA-167 7.2.6 defines it. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc;
}

// ---- Little structures

function extentAd(buffer: Buffer, offset: number): { length: number; location: number } {
  return { length: buffer.readUInt32LE(offset), location: buffer.readUInt32LE(offset + 4) };
}

function shortAd(buffer: Buffer, offset: number, partitionRef: number): Extent {
  const raw = buffer.readUInt32LE(offset);
  return { length: raw & 0x3fffffff, type: raw >>> 30, at: { partitionRef, block: buffer.readUInt32LE(offset + 4) } };
}

function longAd(buffer: Buffer, offset: number): Extent {
  const raw = buffer.readUInt32LE(offset);
  return { length: raw & 0x3fffffff, type: raw >>> 30, at: { block: buffer.readUInt32LE(offset + 4), partitionRef: buffer.readUInt16LE(offset + 8) } };
}

function extendedAd(buffer: Buffer, offset: number): Extent {
  const raw = buffer.readUInt32LE(offset);
  return { length: raw & 0x3fffffff, type: raw >>> 30, at: { block: buffer.readUInt32LE(offset + 12), partitionRef: buffer.readUInt16LE(offset + 16) } };
}

/** A fixed-size dstring: OSTA CS0 characters, with the used length in the last byte. */
function dstring(field: Buffer | undefined): string {
  if (!field || field.length < 2) return '';
  const used = field[field.length - 1] as number;
  if (used === 0 || used > field.length - 1) return '';
  return (cs0(field.subarray(0, used)) ?? '').replace(/\0+$/, '');
}

/** OSTA Compressed Unicode: compression id 8 (one byte a character) or 16 (UCS-2 big-endian); 254/255 alike. */
export function cs0(bytes: Buffer): string | undefined {
  const id = bytes[0];
  if (id === 8 || id === 254) return bytes.toString('latin1', 1);
  if (id === 16 || id === 255) {
    const body = Buffer.from(bytes.subarray(1, 1 + Math.floor((bytes.length - 1) / 2) * 2));
    body.swap16();
    return body.toString('utf16le');
  }
  return undefined;
}
