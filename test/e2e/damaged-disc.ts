// Damaged discs for tests: a disc image served by test/tools/bad-sectors-fuse.py (reads of chosen byte ranges fail
// with EIO) and attached read-only to a loop device, so programs reading the device meet real I/O errors.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FUSE_SCRIPT = resolve(import.meta.dirname, '../tools/bad-sectors-fuse.py');
const SECTOR_BYTES = 2048;
const PATTERN_CHUNK_BYTES = 1 << 20;
// The PATH's python3 may be a pyenv or venv one that cannot see Debian's python3-fusepy in /usr/lib/python3.
const PYTHON_CANDIDATES = ['python3', '/usr/bin/python3'];
const IMPORT_FUSEPY = 'try:\n import fusepy as fuse\nexcept ImportError:\n import fuse\nfuse.FUSE';

export interface ByteRange {
  offset: number;
  length: number;
}

export interface DamagedDiscOptions {
  /** Seconds each failing read takes, as a real drive spends time on a bad sector: makes a rescue last long enough to cancel. */
  errorDelaySeconds?: number;
  /** Where its temporary folder goes; the system's temporary folder by default. */
  parentFolder?: string;
}

/** null until looked for: the look-up starts a python3 or two. */
let fusePython: string | undefined | null = null;

/** Why damaged discs cannot be made here, or undefined when they can. */
export function damagedDiscsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'damaged discs need Linux (FUSE and loop devices)';
  if (process.getuid?.() !== 0) return 'attaching a damaged disc to a loop device needs root (CI runs as root)';
  if (!existsSync('/dev/loop-control')) return 'this kernel has no loop device support (/dev/loop-control missing)';
  if (!existsSync('/dev/fuse')) return 'this kernel has no FUSE (/dev/fuse missing)';
  if (!commandRuns('fusermount3', ['-V'])) return 'fusermount3 is missing (apt-get install -y fuse3)';
  if (!commandRuns('losetup', ['--version'])) return 'losetup is missing (apt-get install -y mount)';
  if (findFusePython() === undefined) return 'python3-fusepy is missing (apt-get install -y fuse3 python3-fusepy)';
  return undefined;
}

export class DamagedDisc {
  private attached: string | undefined;

  private constructor(
    private readonly folder: string,
    /** The damaged copy of the image, inside the FUSE mount. */
    readonly file: string,
  ) {}

  /** Mounts `image` with `badRanges` failing and attaches it to a free loop device; cleans up itself if that fails. */
  static async create(image: string, badRanges: readonly ByteRange[], options: DamagedDiscOptions = {}): Promise<DamagedDisc> {
    const python = findFusePython();
    if (python === undefined) throw new Error(damagedDiscsUnavailable() ?? 'no python3 here can import fusepy');
    // The real path, as /proc/self/mountinfo and the loop device's backing_file name it.
    const folder = await realpath(await mkdtemp(join(options.parentFolder ?? tmpdir(), 'discbridge-damaged-')));
    const disc = new DamagedDisc(folder, join(folder, 'mnt', basename(image)));
    try {
      await mkdir(disc.mountpoint);
      await run(python, [FUSE_SCRIPT, image, disc.mountpoint, ...fuseArguments(badRanges, options)]);
      const { stdout } = await run('losetup', ['-f', '--show', '-r', disc.file]);
      disc.attached = stdout.trim();
      if (!disc.ownsDevice()) throw new Error(`losetup printed "${disc.attached}", which is not attached to ${disc.file}`);
      return disc;
    } catch (error) {
      await disc.destroy();
      throw error;
    }
  }

  /** The loop device, e.g. /dev/loop5. */
  get device(): string {
    if (this.attached === undefined) throw new Error('the damaged disc is not attached');
    return this.attached;
  }

  get mountpoint(): string {
    return join(this.folder, 'mnt');
  }

  /** Detaches the loop device, unmounts the file system and removes the folder. Safe to call twice. */
  async destroy(): Promise<void> {
    // Loop devices are shared by everything on the machine: detach only one still attached to our file.
    if (this.attached !== undefined && this.ownsDevice()) await run('losetup', ['-d', this.attached]);
    this.attached = undefined;
    if (isMounted(this.mountpoint)) await unmount(this.mountpoint);
    await rm(this.folder, { recursive: true, force: true });
  }

  private ownsDevice(): boolean {
    const name = basename(this.attached ?? '');
    try {
      return readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim() === this.file;
    } catch {
      return false; // not a loop device, or detached
    }
  }
}

/** A deterministic image: every 2048-byte sector holds its own number, so a byte in the wrong place shows. */
export async function writePatternImage(path: string, sizeBytes: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let offset = 0; offset < sizeBytes; offset += PATTERN_CHUNK_BYTES) {
      const chunk = patternBytes(offset, Math.min(PATTERN_CHUNK_BYTES, sizeBytes - offset));
      await file.write(chunk, 0, chunk.length, offset);
    }
  } finally {
    await file.close();
  }
}

/** The bytes writePatternImage puts at [offset, offset + length). */
export function patternBytes(offset: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let at = 0; at < length; at++) {
    const position = offset + at;
    bytes[at] = (Math.floor(position / SECTOR_BYTES) >>> (8 * (position % 4))) & 0xff;
  }
  return bytes;
}

function fuseArguments(badRanges: readonly ByteRange[], options: DamagedDiscOptions): string[] {
  const args = badRanges.flatMap((range) => ['--bad', `${range.offset}:${range.length}`]);
  if (options.errorDelaySeconds !== undefined) args.push('--error-delay', String(options.errorDelaySeconds));
  return args;
}

/**
 * Right after `losetup -d` the kernel (or a udev probe still holding the device) may keep the FUSE file open for a
 * moment, so the unmount is retried; a lazy unmount is the last resort, so that no mount outlives the test.
 */
async function unmount(mountpoint: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await run('fusermount3', ['-u', mountpoint]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await run('fusermount3', ['-u', '-z', mountpoint]);
}

function isMounted(path: string): boolean {
  // Field 5 of /proc/self/mountinfo is the mount point (paths from mkdtemp need no unescaping).
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === path);
}

function findFusePython(): string | undefined {
  if (fusePython === null) fusePython = PYTHON_CANDIDATES.find((python) => commandRuns(python, ['-c', IMPORT_FUSEPY]));
  return fusePython;
}

function commandRuns(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
