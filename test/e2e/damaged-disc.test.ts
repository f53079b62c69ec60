// The damaged disc helper itself: bad ranges really fail with EIO on the loop device, and nothing outlives destroy().
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { damagedDiscsUnavailable, DamagedDisc, patternBytes, writePatternImage } from './damaged-disc.js';

const run = promisify(execFile);
const skipReason = damagedDiscsUnavailable();
if (skipReason) console.warn(`Skipping damaged disc tests: ${skipReason}`);
const IMAGE_BYTES = 4 << 20;

/** One O_DIRECT read of the device, as ddrescue -d does it: the bytes, or dd's error. */
async function readDirect(device: string, offset: number, length: number): Promise<Buffer | string> {
  try {
    const { stdout } = await run('dd', [`if=${device}`, 'iflag=direct,skip_bytes', `skip=${offset}`, `bs=${length}`, 'count=1', 'status=none'], {
      encoding: 'buffer',
    });
    return stdout;
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr);
  }
}

function backingFile(device: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${device.slice('/dev/'.length)}/loop/backing_file`, 'utf8').trim();
  } catch {
    return undefined; // detached
  }
}

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === path);
}

function processesWithArgument(argument: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(argument);
    } catch {
      return false; // gone meanwhile
    }
  });
}

describe.skipIf(skipReason !== undefined)('DamagedDisc', () => {
  let folder: string;
  let image: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'discbridge-damaged-disc-test-'));
    image = join(folder, 'disc.iso');
    await writePatternImage(image, IMAGE_BYTES);
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('fails O_DIRECT reads that touch a bad range, with EIO, and serves the rest unchanged', async () => {
    // The second range is not sector-aligned: the error covers every read that overlaps it.
    const disc = await DamagedDisc.create(image, [{ offset: 1 << 20, length: 65536 }, { offset: 2_000_100, length: 1000 }]);
    try {
      expect(disc.device).toMatch(/^\/dev\/loop\d+$/);
      expect(await readDirect(disc.device, (1 << 20) - 2048, 2048)).toEqual(patternBytes((1 << 20) - 2048, 2048));
      expect(await readDirect(disc.device, 1 << 20, 2048)).toMatch(/Input\/output error/);
      expect(await readDirect(disc.device, (1 << 20) + 65536 - 2048, 2048)).toMatch(/Input\/output error/);
      expect(await readDirect(disc.device, (1 << 20) + 65536, 2048)).toEqual(patternBytes((1 << 20) + 65536, 2048));
      // 2_000_100 lies in the 512-byte block [1_999_872, 2_000_384): the loop device's smallest read.
      expect(await readDirect(disc.device, 1_999_872 - 512, 512)).toEqual(patternBytes(1_999_872 - 512, 512));
      expect(await readDirect(disc.device, 1_999_872, 512)).toMatch(/Input\/output error/);
      expect(await readDirect(disc.device, 2_001_408, 512)).toEqual(patternBytes(2_001_408, 512));
    } finally {
      await disc.destroy();
    }
  });

  it('leaves no loop device, mount, folder or FUSE process behind', async () => {
    const disc = await DamagedDisc.create(image, [{ offset: 0, length: 2048 }]);
    const { device, file, mountpoint } = disc;
    await disc.destroy();
    await disc.destroy();
    expect(backingFile(device)).not.toBe(file);
    expect(mountedAt(mountpoint)).toBe(false);
    expect(existsSync(mountpoint)).toBe(false);
    // The daemon exits once unmounted; give it a moment.
    for (let wait = 0; wait < 20 && processesWithArgument(mountpoint).length > 0; wait++) await new Promise((r) => setTimeout(r, 50));
    expect(processesWithArgument(mountpoint)).toEqual([]);
  });

  it('cleans up after itself when it cannot mount', async () => {
    await expect(DamagedDisc.create(join(folder, 'missing.iso'), [], { parentFolder: folder })).rejects.toThrow();
    expect(readdirSync(folder)).toEqual(['disc.iso']);
  });
});
