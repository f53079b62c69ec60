// ISO 9660 (ECMA-119) read straight from the disc: the volume descriptor set from sector 16 (label, volume size)
// and case-insensitive path look-ups through the directory records, with Joliet and Rock Ridge names.
// Every length comes from the disc, so every one is bounded; anything malformed reads as "no ISO 9660" or "not found".
import { budgetedRead, foldName, splitDiscPath, type ReadAt } from './read-at.js';

const SECTOR = 2048;
const FIRST_DESCRIPTOR = 16;
/** Descriptors read at most before giving up on finding the terminator. */
const MAX_DESCRIPTORS = 32;
/** A directory larger than this is treated as unreadable (real ones are a few sectors). */
export const MAX_ISO_DIRECTORY_BYTES = 4 * 1024 * 1024;

export interface IsoDirectory {
  /** Byte offset of the directory's extent. */
  offset: number;
  /** Length of the directory in bytes, as recorded. */
  length: number;
}

export interface IsoVolume {
  /** Volume identifier of the Primary Volume Descriptor, trailing spaces trimmed. */
  label: string;
  /** The Joliet volume identifier, when there is a Joliet Supplementary Volume Descriptor. */
  jolietLabel?: string;
  logicalBlockSize: number;
  volumeBlocks: number;
  /** Volume space size × logical block size: what to copy, whatever the size of the device. */
  volumeBytes: number;
  root: IsoDirectory;
  jolietRoot?: IsoDirectory;
}

export interface IsoEntry {
  name: string;
  isDirectory: boolean;
  /** Data length of the entry in bytes (of its first extent, for a multi-extent file). */
  size: number;
  /** Byte offset of its data. */
  offset: number;
}

/** Reads the volume descriptor set; undefined when there is no valid Primary Volume Descriptor. */
export async function readIsoVolume(read: ReadAt): Promise<IsoVolume | undefined> {
  try {
    return await readVolume(budgetedRead(read, 1024 * 1024, MAX_DESCRIPTORS + 4));
  } catch {
    return undefined;
  }
}

/** Looks a path up (`VIDEO_TS/VIDEO_TS.IFO`, any case, `;1` optional): Joliet names first, then ISO/Rock Ridge names. */
export async function findIsoEntry(read: ReadAt, path: string): Promise<IsoEntry | undefined> {
  try {
    const parts = splitDiscPath(path);
    if (!parts) return undefined;
    const budget = budgetedRead(read);
    const volume = await readVolume(budget);
    if (!volume) return undefined;
    const roots = volume.jolietRoot ? [{ root: volume.jolietRoot, joliet: true }, { root: volume.root, joliet: false }] : [{ root: volume.root, joliet: false }];
    for (const { root, joliet } of roots) {
      const found = await walk(budget, volume, root, parts, joliet);
      if (found) return found;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

async function readVolume(read: ReadAt): Promise<IsoVolume | undefined> {
  let primary: Omit<IsoVolume, 'jolietRoot' | 'jolietLabel'> | undefined;
  let joliet: { label: string; root: IsoDirectory } | undefined;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const sector = await read((FIRST_DESCRIPTOR + i) * SECTOR, SECTOR);
    if (sector.length < SECTOR || sector.toString('latin1', 1, 6) !== 'CD001') break;
    const type = sector[0];
    if (type === 255) break; // Volume Descriptor Set Terminator
    if (type === 1 && !primary) {
      primary = parsePrimary(sector);
      if (!primary) return undefined;
    } else if (type === 2 && !joliet && isJolietEscape(sector)) {
      joliet = parseJoliet(sector, primary?.logicalBlockSize ?? sector.readUInt16LE(128));
    }
    // 0 boot record, 3 partition descriptor, other supplementary descriptors: skipped.
  }
  if (!primary) return undefined;
  return { ...primary, ...(joliet ? { jolietLabel: joliet.label, jolietRoot: joliet.root } : {}) };
}

function parsePrimary(sector: Buffer): Omit<IsoVolume, 'jolietRoot' | 'jolietLabel'> | undefined {
  if (sector[6] !== 1) return undefined; // descriptor version
  const logicalBlockSize = sector.readUInt16LE(128);
  if (!validBlockSize(logicalBlockSize)) return undefined;
  const volumeBlocks = sector.readUInt32LE(80);
  const root = parseRootRecord(sector, logicalBlockSize);
  if (!root) return undefined;
  const label = sector.toString('latin1', 40, 72).replace(/[ \0]+$/, '');
  return { label, logicalBlockSize, volumeBlocks, volumeBytes: volumeBlocks * logicalBlockSize, root };
}

function parseJoliet(sector: Buffer, logicalBlockSize: number): { label: string; root: IsoDirectory } | undefined {
  if (!validBlockSize(logicalBlockSize) || sector.readUInt16LE(128) !== logicalBlockSize) return undefined;
  const root = parseRootRecord(sector, logicalBlockSize);
  if (!root) return undefined;
  return { label: ucs2be(sector.subarray(40, 72)).replace(/[ \0]+$/, ''), root };
}

/** Joliet's escape sequences %/@, %/C or %/E (UCS-2 levels 1–3) at byte 88. */
function isJolietEscape(sector: Buffer): boolean {
  return sector[88] === 0x25 && sector[89] === 0x2f && (sector[90] === 0x40 || sector[90] === 0x43 || sector[90] === 0x45);
}

function validBlockSize(size: number): boolean {
  return size === 512 || size === 1024 || size === 2048 || size === 4096;
}

function parseRootRecord(sector: Buffer, blockSize: number): IsoDirectory | undefined {
  const record = sector.subarray(156, 156 + 34);
  if (record[0] !== 34) return undefined;
  if (((record[25] ?? 0) & 0x02) === 0) return undefined; // the root must be a directory
  return { offset: record.readUInt32LE(2) * blockSize, length: record.readUInt32LE(10) };
}

async function walk(read: ReadAt, volume: IsoVolume, root: IsoDirectory, parts: string[], joliet: boolean): Promise<IsoEntry | undefined> {
  let directory = root;
  for (let i = 0; i < parts.length; i++) {
    const wanted = foldName(parts[i] as string);
    const last = i === parts.length - 1;
    const entry = await findInDirectory(read, volume, directory, wanted, joliet);
    if (!entry) return undefined;
    if (last) return entry;
    if (!entry.isDirectory) return undefined;
    directory = { offset: entry.offset, length: entry.size };
  }
  return undefined;
}

async function findInDirectory(read: ReadAt, volume: IsoVolume, directory: IsoDirectory, wanted: string, joliet: boolean): Promise<IsoEntry | undefined> {
  if (directory.length === 0 || directory.length > MAX_ISO_DIRECTORY_BYTES) return undefined;
  const data = await read(directory.offset, directory.length);
  const block = volume.logicalBlockSize;
  let pos = 0;
  // Each step moves on by at least one byte (or to the next block), so this ends within data.length steps.
  while (pos < data.length) {
    const length = data[pos] ?? 0;
    const nextBlock = (Math.floor(pos / block) + 1) * block;
    if (length === 0) {
      // Records never cross a block boundary: the rest of this block is padding.
      pos = nextBlock;
      continue;
    }
    const nameLength = data[pos + 32] ?? 0;
    if (length < 34 || length < 33 + nameLength || pos + length > data.length || pos + length > nextBlock) {
      pos = nextBlock; // a broken record: skip the rest of its block
      continue;
    }
    const record = data.subarray(pos, pos + length);
    pos += length;
    const rawName = record.subarray(33, 33 + nameLength);
    if (nameLength === 1 && (rawName[0] === 0 || rawName[0] === 1)) continue; // "." and ".."
    const flags = record[25] ?? 0;
    const isDirectory = (flags & 0x02) !== 0;
    const entry = (name: string): IsoEntry => ({ name, isDirectory, size: record.readUInt32LE(10), offset: record.readUInt32LE(2) * block });
    if (joliet) {
      const name = ucs2be(rawName);
      if (foldName(name) === wanted) return entry(name);
      continue;
    }
    const isoName = rawName.toString('latin1');
    if (foldName(isoName) === wanted) return entry(isoName);
    const rockRidge = rockRidgeName(record, nameLength);
    if (rockRidge !== undefined && foldName(rockRidge) === wanted) return entry(rockRidge);
  }
  return undefined;
}

/** The Rock Ridge alternate name (NM entries of the System Use area), if the record has one. */
function rockRidgeName(record: Buffer, nameLength: number): string | undefined {
  let pos = 33 + nameLength + (nameLength % 2 === 0 ? 1 : 0);
  let name: string | undefined;
  while (pos + 4 <= record.length) {
    const length = record[pos + 2] ?? 0;
    if (length < 4 || pos + length > record.length) break;
    const signature = record.toString('latin1', pos, pos + 2);
    if (signature === 'ST') break; // SUSP terminator
    if (signature === 'NM' && length >= 5) {
      const flags = record[pos + 4] ?? 0;
      if ((flags & 0x06) === 0) name = (name ?? '') + record.toString('utf8', pos + 5, pos + length);
    }
    pos += length;
  }
  return name;
}

function ucs2be(bytes: Buffer): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  const swapped = Buffer.from(even);
  swapped.swap16();
  return swapped.toString('utf16le');
}
