// Disc images for the disc-fs tests, made on the fly by real tools in a temp folder: scripts/make-test-disc (DVD,
// --data, --bluray), genisoimage (ISO 9660 / Joliet / Rock Ridge / UDF 1.02 bridge) and mkudffs (empty UDF volumes),
// plus what isoinfo and udfinfo say about them, and a hand re-tagger for UDF descriptors the tests corrupt on purpose.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openReadAt, type ReadAt } from '../../../agent/disc-fs/read-at.js';
import { onPath } from '../../tools/on-path.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
const MAKE_TEST_DISC = join(ROOT, 'scripts/make-test-disc');


/** Why tests needing these tools cannot run here (with the Debian packages to install), or undefined. */
export function missingTools(...tools: [tool: string, debianPackage: string][]): string | undefined {
  const missing = tools.filter(([tool]) => !onPath(tool));
  if (missing.length === 0) return undefined;
  return `needs ${missing.map(([tool]) => tool).join(', ')} (apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}; scripts/install-deps does)`;
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `discbridge-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** scripts/make-test-disc OUT ARGS…; returns the image path. */
export function makeTestDisc(dir: string, name: string, args: string[] = []): string {
  const image = join(dir, name);
  execFileSync(MAKE_TEST_DISC, [image, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return image;
}

/** Writes a folder tree ({ 'a/b.txt': 'text' }; a key ending in / is an empty folder) under `dir/name`. */
export function writeTree(dir: string, name: string, files: Record<string, string | Buffer>): string {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) {
      mkdirSync(join(root, path), { recursive: true });
      continue;
    }
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** genisoimage -quiet -input-charset utf-8 ARGS -o IMAGE SRC. */
export function genisoimage(dir: string, name: string, src: string, args: string[]): string {
  const image = join(dir, name);
  execFileSync('genisoimage', ['-quiet', '-input-charset', 'utf-8', ...args, '-o', image, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  return image;
}

/** An empty UDF volume: mkudffs ARGS on a sparse image file of `bytes`. */
export function mkudffs(dir: string, name: string, bytes: number, args: string[]): string {
  const image = join(dir, name);
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', String(bytes), image]);
  execFileSync('mkudffs', [...args, image], { stdio: ['ignore', 'ignore', 'pipe'] });
  return image;
}

/** isoinfo -d: volume size × logical block size. */
export function isoinfoVolumeBytes(image: string): number {
  const text = execFileSync('isoinfo', ['-d', '-i', image], { encoding: 'utf8' });
  const size = /^Volume size is: (\d+)$/m.exec(text);
  const block = /^Logical block size is: (\d+)$/m.exec(text);
  if (!size || !block) throw new Error(`isoinfo -d printed no volume size:\n${text}`);
  return Number(size[1]) * Number(block[1]);
}

/** udfinfo's key=value lines, and whatever it said on stderr. */
export function udfinfo(image: string): { props: Record<string, string>; stderr: string; status: number | null } {
  const run = spawnSync('udfinfo', [image], { encoding: 'utf8' });
  const props: Record<string, string> = {};
  for (const line of run.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('start=')) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { props, stderr: run.stderr, status: run.status };
}

// ---- UDF descriptor tags, written independently of the reader under test

function crcItuT(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Rewrites a descriptor tag in place (ident, location, CRC over `length` bytes, checksum) so a reader accepts it. */
export function retag(block: Buffer, ident: number, location: number, length = block.length): void {
  block.writeUInt16LE(ident, 0);
  if (block.readUInt16LE(2) !== 2 && block.readUInt16LE(2) !== 3) block.writeUInt16LE(3, 2);
  block.writeUInt16LE(length - 16, 10);
  block.writeUInt16LE(crcItuT(block.subarray(16, length)), 8);
  block.writeUInt32LE(location, 12);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += block[i] as number;
  block[4] = sum & 0xff;
}

/** Tag identifier and location of a block holding a valid UDF descriptor tag (checksum only), or undefined. */
export function tagOf(block: Buffer): { ident: number; location: number } | undefined {
  if (block.length < 16) return undefined;
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += block[i] as number;
  if ((sum & 0xff) !== block[4] || block[5] !== 0) return undefined;
  const version = block.readUInt16LE(2);
  if (version !== 2 && version !== 3) return undefined;
  return { ident: block.readUInt16LE(0), location: block.readUInt32LE(12) };
}

/** Opens an image, lends its reader to `use`, and closes it again. */
export async function withImage<T>(image: string, use: (read: ReadAt) => Promise<T>): Promise<T> {
  const disc = await openReadAt(image);
  try {
    return await use(disc.read);
  } finally {
    await disc.close();
  }
}
