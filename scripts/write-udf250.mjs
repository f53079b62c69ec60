#!/usr/bin/env node
// write-udf250.mjs SRC_DIR OUT_IMAGE LABEL, for make-test-disc --bluray (no Debian tool writes this layout): SRC_DIR
// as a UDF 2.50 image laid out
// like a pressed Blu-ray (block size 2048): VRS at 16-18, main and reserve
// volume descriptor sequences at 32 and 48 (PVD, IUVD, PD read-only, LVD with
// a type 1 map and a "*UDF Metadata Partition" map, USD, TD), LVID at 64,
// anchors at 256 and at the last block. The physical partition (from block
// 288) holds the metadata file and its mirror (Extended File Entries, file
// types 250/251, short_ad), the two copies of the metadata, then file data.
// In the metadata partition: the File Set Descriptor at 0, then for every
// folder its Extended File Entry and its File Identifier Descriptors (short_ad,
// so in the metadata partition), for every file an Extended File Entry whose
// long_ad points into the physical partition. Names in OSTA CS0 (8-bit when
// they fit, else 16-bit). Timestamps are fixed: the same tree gives the same
// bytes.
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [srcDir, outPath, label] = process.argv.slice(2);
if (!srcDir || !outPath || !label) throw new Error('usage: SRC_DIR OUT_IMAGE LABEL');

const B = 2048;
const REV = 0x0250;
const WHEN = new Date(Date.UTC(2024, 0, 1, 12, 0, 0)); // fixed, so the same tree gives the same image
const ALIGN = 32; // metadata allocation and alignment unit, in blocks
const MAIN_VDS = 32, RESERVE_VDS = 48, LVID = 64, ANCHOR = 256, PART_START = 288;
const META_START = 32; // first block of the metadata file, in the physical partition
const MAX_EXTENT = 0x40000000 - B; // the longest extent an allocation descriptor can hold, block-aligned

// ---- encoding helpers

const CRC = new Uint16Array(256).map((_, n) => {
  let c = n << 8;
  for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  return c;
});
const crc16 = (bytes) => bytes.reduce((c, b) => ((c << 8) & 0xffff) ^ CRC[((c >> 8) ^ b) & 0xff], 0);

/** Fills in a descriptor tag: identifier, version 3, serial 1, CRC over the rest of the descriptor, location. */
function tag(buf, ident, location) {
  buf.writeUInt16LE(ident, 0);
  buf.writeUInt16LE(3, 2);
  buf.writeUInt16LE(1, 6);
  buf.writeUInt16LE(crc16(buf.subarray(16)), 8);
  buf.writeUInt16LE(buf.length - 16, 10);
  buf.writeUInt32LE(location, 12);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += buf[i];
  buf[4] = sum & 0xff;
  return buf;
}

/** OSTA CS0: compression id 8 when every character fits a byte, else 16 (UCS-2 big-endian). */
function cs0(text) {
  if ([...text].every((ch) => ch.charCodeAt(0) < 256 && ch.length === 1)) return Buffer.concat([Buffer.from([8]), Buffer.from(text, 'latin1')]);
  const body = Buffer.from(text, 'utf16le');
  body.swap16();
  return Buffer.concat([Buffer.from([16]), body]);
}

function dstring(buf, offset, size, text) {
  let bytes = cs0(text);
  if (bytes.length > size - 1) bytes = bytes.subarray(0, bytes[0] === 16 ? 1 + Math.floor((size - 2) / 2) * 2 : size - 1);
  bytes.copy(buf, offset);
  buf[offset + size - 1] = bytes.length;
}

function regid(buf, offset, ident, suffix = []) {
  buf.write(ident, offset + 1, 23, 'latin1');
  Buffer.from(suffix).copy(buf, offset + 24);
}
const udfSuffix = [REV & 0xff, REV >> 8, 4, 5]; // UDF revision, OS class UNIX, OS Linux
const domainSuffix = [REV & 0xff, REV >> 8, 0];
const implementation = (buf, offset) => regid(buf, offset, '*discbridge', [4, 5]);

function charspec(buf, offset) {
  buf[offset] = 0;
  buf.write('OSTA Compressed Unicode', offset + 1, 'latin1');
}

function timestamp(buf, offset, date = WHEN) {
  buf.writeUInt16LE(0x1000, offset); // local time, UTC offset 0
  buf.writeInt16LE(date.getUTCFullYear(), offset + 2);
  buf[offset + 4] = date.getUTCMonth() + 1;
  buf[offset + 5] = date.getUTCDate();
  buf[offset + 6] = date.getUTCHours();
  buf[offset + 7] = date.getUTCMinutes();
  buf[offset + 8] = date.getUTCSeconds();
}

const extentAd = (buf, offset, length, location) => (buf.writeUInt32LE(length, offset), buf.writeUInt32LE(location, offset + 4));
function longAd(buf, offset, length, block, partition, uniqueId = 0) {
  buf.writeUInt32LE(length, offset);
  buf.writeUInt32LE(block, offset + 4);
  buf.writeUInt16LE(partition, offset + 8);
  buf.writeUInt32LE(uniqueId >>> 0, offset + 12); // ADImpUse: flags (2 bytes), then the UDF unique id
}
const blocksOf = (bytes) => Math.ceil(bytes / B);
const roundUp = (n, unit) => Math.ceil(n / unit) * unit;

// ---- the tree and where everything goes

function scan(path, name) {
  const st = statSync(path);
  if (st.isDirectory()) {
    const children = readdirSync(path).sort().map((child) => scan(join(path, child), child));
    return { name, path, isDir: true, children };
  }
  if (!st.isFile()) throw new Error(`${path}: only files and folders can go on the disc`);
  return { name, path, isDir: false, size: st.size };
}

const root = scan(srcDir, '');
const nodes = [];
(function walk(node) {
  nodes.push(node);
  if (node.isDir) node.children.forEach(walk);
})(root);

const fidLength = (name) => roundUp(38 + (name === undefined ? 0 : cs0(name).length), 4);
let nextUniqueId = 16; // 0 is the root's; 1-15 are reserved (UDF 2.60 3.2.1.1)
let metaBlock = 2; // 0: File Set Descriptor, 1: its Terminating Descriptor
for (const node of nodes) {
  node.uniqueId = node === root ? 0 : nextUniqueId++;
  node.fe = metaBlock++;
  if (node.isDir) {
    node.dirBytes = fidLength(undefined) + node.children.reduce((sum, child) => sum + fidLength(child.name), 0);
    node.dirBlock = metaBlock;
    metaBlock += blocksOf(node.dirBytes);
  }
}
const metaBlocks = roundUp(metaBlock, ALIGN);
// The mirror follows the metadata at once (7-Zip then finds the closing anchor right after the last file's data).
const mirrorStart = META_START + metaBlocks;
let dataBlock = mirrorStart + metaBlocks;
for (const node of nodes) {
  if (node.isDir || node.size === 0) continue;
  node.data = dataBlock;
  dataBlock += blocksOf(node.size);
}
const partLength = dataBlock;
const lastBlock = PART_START + partLength; // the closing anchor
const files = nodes.filter((n) => !n.isDir).length;
const dirs = nodes.length - files;

// ---- descriptors

const out = openSync(outPath, 'w');
const put = (block, buf) => writeSync(out, buf, 0, buf.length, block * B);
const putMeta = (block, buf) => {
  // The metadata partition's block n is the metadata file's block n, and the mirror's.
  writeSync(out, buf, 0, buf.length, (PART_START + META_START + block) * B);
  writeSync(out, buf, 0, buf.length, (PART_START + mirrorStart + block) * B);
};

for (const [i, id] of ['BEA01', 'NSR03', 'TEA01'].entries()) {
  const vsd = Buffer.alloc(B);
  vsd.write(id, 1, 'latin1');
  vsd[6] = 1;
  put(16 + i, vsd);
}

const volumeSet = createHash('sha1').update(label).digest('hex').slice(0, 16).toUpperCase();
function volumeDescriptors(start) {
  const pvd = Buffer.alloc(512);
  pvd.writeUInt32LE(1, 16);
  dstring(pvd, 24, 32, label);
  pvd.writeUInt16LE(1, 56);
  pvd.writeUInt16LE(1, 58);
  pvd.writeUInt16LE(2, 60);
  pvd.writeUInt16LE(3, 62);
  pvd.writeUInt32LE(1, 64);
  pvd.writeUInt32LE(1, 68);
  dstring(pvd, 72, 128, `${volumeSet}${label}`);
  charspec(pvd, 200);
  charspec(pvd, 264);
  regid(pvd, 344, '*make-test-disc');
  timestamp(pvd, 376);
  implementation(pvd, 388);

  const iuvd = Buffer.alloc(512);
  iuvd.writeUInt32LE(2, 16);
  regid(iuvd, 20, '*UDF LV Info', udfSuffix);
  charspec(iuvd, 52);
  dstring(iuvd, 116, 128, label);
  implementation(iuvd, 352);

  const pd = Buffer.alloc(512);
  pd.writeUInt32LE(3, 16);
  pd.writeUInt16LE(1, 20); // allocated
  pd.writeUInt16LE(0, 22); // partition number 0
  regid(pd, 24, '+NSR03');
  pd.writeUInt32LE(1, 184); // access type: read-only
  pd.writeUInt32LE(PART_START, 188);
  pd.writeUInt32LE(partLength, 192);
  implementation(pd, 196);

  const lvd = Buffer.alloc(440 + 6 + 64);
  lvd.writeUInt32LE(4, 16);
  charspec(lvd, 20);
  dstring(lvd, 84, 128, label);
  lvd.writeUInt32LE(B, 212);
  regid(lvd, 216, '*OSTA UDF Compliant', domainSuffix);
  longAd(lvd, 248, 2 * B, 0, 1); // the File Set Descriptor: block 0 of the metadata partition (reference 1)
  lvd.writeUInt32LE(6 + 64, 264);
  lvd.writeUInt32LE(2, 268);
  implementation(lvd, 272);
  extentAd(lvd, 432, 2 * B, LVID);
  Buffer.from([1, 6, 1, 0, 0, 0]).copy(lvd, 440); // type 1: volume 1, partition 0
  const meta = lvd.subarray(446);
  meta[0] = 2;
  meta[1] = 64;
  regid(meta, 4, '*UDF Metadata Partition', udfSuffix);
  meta.writeUInt16LE(1, 36);
  meta.writeUInt16LE(0, 38);
  meta.writeUInt32LE(0, 40); // metadata file at block 0 of the physical partition
  meta.writeUInt32LE(1, 44); // its mirror at block 1
  meta.writeUInt32LE(0xffffffff, 48); // no bitmap file (read-only)
  meta.writeUInt32LE(ALIGN, 52);
  meta.writeUInt16LE(ALIGN, 56);
  meta[58] = 1; // duplicate metadata: the mirror has its own copy

  const usd = Buffer.alloc(24);
  usd.writeUInt32LE(5, 16);

  const td = Buffer.alloc(512);
  const ids = [[pvd, 1], [iuvd, 4], [pd, 5], [lvd, 6], [usd, 7], [td, 8]];
  ids.forEach(([buf, ident], i) => put(start + i, tag(buf, ident, start + i)));
}
volumeDescriptors(MAIN_VDS);
volumeDescriptors(RESERVE_VDS);

const lvid = Buffer.alloc(80 + 16 + 46);
timestamp(lvid, 16);
lvid.writeUInt32LE(1, 28); // closed
lvid.writeBigUInt64LE(BigInt(nextUniqueId), 40);
lvid.writeUInt32LE(2, 72);
lvid.writeUInt32LE(46, 76);
lvid.writeUInt32LE(0, 80); // free blocks: physical, metadata
lvid.writeUInt32LE(0, 84);
lvid.writeUInt32LE(partLength, 88); // sizes
lvid.writeUInt32LE(metaBlocks, 92);
implementation(lvid, 96);
lvid.writeUInt32LE(files, 128);
lvid.writeUInt32LE(dirs, 132);
lvid.writeUInt16LE(REV, 136);
lvid.writeUInt16LE(REV, 138);
lvid.writeUInt16LE(REV, 140);
put(LVID, tag(lvid, 9, LVID));
put(LVID + 1, tag(Buffer.alloc(512), 8, LVID + 1));

for (const location of [ANCHOR, lastBlock]) {
  const avdp = Buffer.alloc(512);
  extentAd(avdp, 16, 16 * B, MAIN_VDS);
  extentAd(avdp, 24, 16 * B, RESERVE_VDS);
  put(location, tag(avdp, 2, location));
}

// ---- file entries (Extended File Entries, as UDF 2.50 wants)

/** ad: 0 short_ad, 1 long_ad. */
function fileEntry({ location, fileType, uniqueId, length, blocks, links, ad, descriptors, dir }) {
  const efe = Buffer.alloc(216 + descriptors.length);
  efe.writeUInt16LE(4, 20); // strategy 4
  efe.writeUInt16LE(1, 24);
  efe[27] = fileType;
  efe.writeUInt16LE(ad, 34);
  efe.writeUInt32LE(0xffffffff, 36); // uid, gid: not recorded
  efe.writeUInt32LE(0xffffffff, 40);
  efe.writeUInt32LE(dir ? 0x14a5 : 0x1084, 44); // r-x (folders) / r-- (files) for everyone
  efe.writeUInt16LE(links, 48);
  efe.writeBigUInt64LE(BigInt(length), 56);
  efe.writeBigUInt64LE(BigInt(length), 64);
  efe.writeBigUInt64LE(BigInt(blocks), 72);
  for (const at of [80, 92, 104, 116]) timestamp(efe, at);
  efe.writeUInt32LE(1, 128);
  implementation(efe, 168);
  efe.writeBigUInt64LE(BigInt(uniqueId), 200);
  efe.writeUInt32LE(descriptors.length, 212);
  descriptors.copy(efe, 216);
  return tag(efe, 266, location);
}

const shortAds = (length, block) => {
  const ads = Buffer.alloc(8);
  ads.writeUInt32LE(length, 0);
  ads.writeUInt32LE(block, 4);
  return ads;
};

// The metadata file and its mirror, in the physical partition.
for (const [location, fileType, start] of [[0, 250, META_START], [1, 251, mirrorStart]]) {
  const entry = fileEntry({ location, fileType, uniqueId: 0, length: metaBlocks * B, blocks: metaBlocks, links: 1, ad: 0, descriptors: shortAds(metaBlocks * B, start) });
  put(PART_START + location, entry);
}

// The File Set Descriptor and its terminator, at the start of the metadata partition.
const fsd = Buffer.alloc(512);
timestamp(fsd, 16);
fsd.writeUInt16LE(3, 28);
fsd.writeUInt16LE(3, 30);
fsd.writeUInt32LE(1, 32);
fsd.writeUInt32LE(1, 36);
charspec(fsd, 48);
dstring(fsd, 112, 128, label);
charspec(fsd, 240);
dstring(fsd, 304, 32, label);
longAd(fsd, 400, B, root.fe, 1);
regid(fsd, 416, '*OSTA UDF Compliant', domainSuffix);
putMeta(0, tag(fsd, 256, 0));
putMeta(1, tag(Buffer.alloc(512), 8, 1));

const parentOf = new Map();
for (const node of nodes) if (node.isDir) for (const child of node.children) parentOf.set(child, node);

for (const node of nodes) {
  if (node.isDir) {
    const parent = parentOf.get(node) ?? node;
    const data = Buffer.alloc(node.dirBytes);
    let pos = 0;
    const addFid = (name, characteristics, target) => {
      const nameBytes = name === undefined ? Buffer.alloc(0) : cs0(name);
      const fid = Buffer.alloc(fidLength(name));
      fid.writeUInt16LE(1, 16);
      fid[18] = characteristics;
      fid[19] = nameBytes.length;
      longAd(fid, 20, B, target.fe, 1, target.uniqueId);
      nameBytes.copy(fid, 38);
      tag(fid, 257, node.dirBlock + Math.floor(pos / B)).copy(data, pos);
      pos += fid.length;
    };
    addFid(undefined, 0x0a, parent); // parent, directory
    for (const child of node.children) addFid(child.name, child.isDir ? 0x02 : 0, child);
    for (let i = 0; i < blocksOf(data.length); i++) putMeta(node.dirBlock + i, data.subarray(i * B, (i + 1) * B));
    const links = 1 + node.children.filter((c) => c.isDir).length;
    putMeta(node.fe, fileEntry({ location: node.fe, fileType: 4, uniqueId: node.uniqueId, length: data.length, blocks: blocksOf(data.length), links, ad: 0, descriptors: shortAds(data.length, node.dirBlock), dir: true }));
  } else {
    const ads = [];
    for (let done = 0; done < node.size; done += MAX_EXTENT) {
      const ad = Buffer.alloc(16);
      longAd(ad, 0, Math.min(MAX_EXTENT, node.size - done), node.data + done / B, 0);
      ads.push(ad);
    }
    // Blu-ray streams are real-time files (type 249), as on pressed discs; everything else is a plain file.
    const fileType = /\.m2ts$/i.test(node.name) ? 249 : 5;
    putMeta(node.fe, fileEntry({ location: node.fe, fileType, uniqueId: node.uniqueId, length: node.size, blocks: blocksOf(node.size), links: 1, ad: 1, descriptors: Buffer.concat(ads) }));
    // The data itself, copied in 1 MiB pieces.
    const input = openSync(node.path, 'r');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let done = 0; done < node.size; ) {
      const n = readSync(input, chunk, 0, chunk.length, done);
      if (n === 0) throw new Error(`${node.path} shrank while being copied`);
      writeSync(out, chunk, 0, n, (PART_START + node.data) * B + done);
      done += n;
    }
    closeSync(input);
  }
}

ftruncateSync(out, (lastBlock + 1) * B);
closeSync(out);
process.stderr.write(`make-test-disc: UDF 2.50: ${files} files, ${dirs} folders, metadata ${metaBlocks} blocks, ${lastBlock + 1} blocks in all\n`);
