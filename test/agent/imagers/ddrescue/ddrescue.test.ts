// Real ddrescue on real damaged loop devices (test/e2e/damaged-disc.ts): what it rescues, continuing our own copy
// and its own cancelled run, cancelling, and a missing binary.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ddrescue, type RescueRequest } from '../../../../agent/imagers/ddrescue/ddrescue.js';
import { bytesByStatus, parseMapFile, type MapBlock } from '../../../../agent/imagers/ddrescue/map-file.js';
import { RipError } from '../../../../agent/tools/rip-error.js';
import { damagedDiscsUnavailable, DamagedDisc, writePatternImage, type ByteRange } from '../../../e2e/damaged-disc.js';

const SECTOR = 2048;
const KiB = 1024;
const MiB = 1024 * KiB;
const IMAGE_BYTES = 4 * MiB;
const ddrescue = new Ddrescue({ binary: 'ddrescue' });
const ddrescueMissing = await ddrescue.checkInstalled();
const skipReason = damagedDiscsUnavailable() ?? ddrescueMissing;
if (skipReason) console.warn(`Skipping ddrescue tests on damaged discs: ${skipReason}`);

let folder: string;
let source: string;
let sourceBytes: Buffer;
let runs = 0;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'discbridge-ddrescue-test-'));
  source = join(folder, 'source.iso');
  await writePatternImage(source, IMAGE_BYTES);
  sourceBytes = await readFile(source);
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A request writing to fresh files in the test folder, recording progress and log lines. */
function newRequest(device: string, overrides: Partial<RescueRequest> = {}) {
  runs += 1;
  const progress: number[] = [];
  const log: string[] = [];
  const request: RescueRequest = {
    device,
    image: join(folder, `out-${runs}.iso`),
    mapFile: join(folder, `out-${runs}.map`),
    sizeBytes: IMAGE_BYTES,
    signal: new AbortController().signal,
    onProgress: (bytes) => progress.push(bytes),
    onLog: (line) => log.push(line),
    ...overrides,
  };
  return { request, progress, log };
}

/** A bad range as the device reports it: every 2048-byte sector ddrescue reads that overlaps it fails. */
function sectorsCovering({ offset, length }: ByteRange): MapBlock {
  const start = Math.floor(offset / SECTOR) * SECTOR;
  const end = Math.ceil((offset + length) / SECTOR) * SECTOR;
  return { pos: start, size: end - start, status: '-' };
}

async function finalMap(mapFile: string) {
  return parseMapFile(await readFile(mapFile, 'utf8'));
}

/** Every finished block of the map holds the source's bytes: returns the first wrong offset, or -1. */
async function firstWrongGoodByte(image: string, mapFile: string): Promise<number> {
  const output = await readFile(image);
  for (const block of (await finalMap(mapFile)).blocks.filter((b) => b.status === '+')) {
    for (let at = block.pos; at < block.pos + block.size; at += SECTOR) {
      const end = Math.min(at + SECTOR, block.pos + block.size);
      if (!output.subarray(at, end).equals(sourceBytes.subarray(at, end))) return at;
    }
  }
  return -1;
}

function expectRising(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
}

/** Processes (ddrescue, but any really) that have `argument` on their command line. */
function processesWithArgument(argument: string): number[] {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(argument);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

describe.skipIf(skipReason !== undefined)('Ddrescue on damaged loop devices', () => {
  it('rescues everything but the bad ranges, rounded out to sectors, with rising progress', async () => {
    // The middle range is not sector-aligned (nor are the sectors around it page-aligned), the last one ends the disc.
    const bad: ByteRange[] = [{ offset: MiB, length: 64 * KiB }, { offset: 2_502_100, length: 10_000 }, { offset: IMAGE_BYTES - 64 * KiB, length: 64 * KiB }];
    const disc = await DamagedDisc.create(source, bad);
    try {
      const { request, progress, log } = newRequest(disc.device);
      const result = await ddrescue.rescue(request);

      const expectedBad = bad.map(sectorsCovering);
      expect(expectedBad[1]).toEqual({ pos: 1221 * SECTOR, size: 6 * SECTOR, status: '-' });
      const unreadable = expectedBad.reduce((sum, block) => sum + block.size, 0);
      expect(result).toEqual({ unreadableBytes: unreadable });
      expect((await finalMap(request.mapFile)).blocks.filter((b) => b.status !== '+')).toEqual(expectedBad);
      expect(await firstWrongGoodByte(request.image, request.mapFile)).toBe(-1);
      expectRising(progress);
      expect(progress.at(-1)).toBe(IMAGE_BYTES - unreadable);
      expect(log).toContain('Copying non-tried blocks... Pass 1 (forwards)');
      expect(log).toContain('Retrying bad sectors... Retry 1 (forwards)');
      expect(log.filter((line) => /ipos|rescued:|\x1b/.test(line))).toEqual([]);
    } finally {
      await disc.destroy();
    }
  });

  it('continues our own copy: never reads [0, copiedBytes) again', async () => {
    // [0, copied) cannot be read from this disc at all; had ddrescue tried, the map would show it bad.
    const copied = MiB + 10 * SECTOR;
    const laterBad = { offset: 3 * MiB, length: 64 * KiB };
    const disc = await DamagedDisc.create(source, [{ offset: 0, length: copied }, laterBad]);
    try {
      const { request, progress, log } = newRequest(disc.device, { copiedBytes: copied });
      await writeFile(request.image, sourceBytes.subarray(0, copied));
      const result = await ddrescue.rescue(request);

      expect(result).toEqual({ unreadableBytes: laterBad.length });
      const map = await finalMap(request.mapFile);
      expect(map.blocks.filter((b) => b.status !== '+')).toEqual([sectorsCovering(laterBad)]);
      expect(await firstWrongGoodByte(request.image, request.mapFile)).toBe(-1);
      expect(log).toContain('Initial status (read from mapfile)');
      expect(progress[0]).toBeGreaterThanOrEqual(Math.floor(copied / 1000) * 1000);
      expect(progress.at(-1)).toBe(IMAGE_BYTES - laterBad.length);
    } finally {
      await disc.destroy();
    }
  });

  it('goes on from the map file of a rescue that was cancelled', async () => {
    const bad = [{ offset: MiB, length: 32 * KiB }, { offset: 3 * MiB, length: 32 * KiB }];
    const disc = await DamagedDisc.create(source, bad, { errorDelaySeconds: 0.02 });
    try {
      const controller = new AbortController();
      const reason = new Error('cancelled by the test');
      const first = newRequest(disc.device, {
        signal: controller.signal,
        onProgress: (bytes) => { if (bytes > 0) controller.abort(reason); },
      });
      await expect(ddrescue.rescue(first.request)).rejects.toBe(reason);
      const afterCancel = await finalMap(first.request.mapFile);
      expect(afterCancel.currentStatus).not.toBe('+');
      const rescuedBeforeResume = bytesByStatus(afterCancel)['+'];
      expect(rescuedBeforeResume).toBeGreaterThan(0);

      const second = newRequest(disc.device, { image: first.request.image, mapFile: first.request.mapFile });
      const result = await ddrescue.rescue(second.request);

      expect(result).toEqual({ unreadableBytes: 64 * KiB });
      expect(second.log).toContain('Initial status (read from mapfile)');
      expect(second.progress[0]).toBeGreaterThanOrEqual(Math.floor(rescuedBeforeResume / 1000) * 1000);
      expect(await firstWrongGoodByte(second.request.image, second.request.mapFile)).toBe(-1);
    } finally {
      await disc.destroy();
    }
  });

  it('kills ddrescue when cancelled', async () => {
    const disc = await DamagedDisc.create(source, [{ offset: MiB, length: 64 * KiB }], { errorDelaySeconds: 0.2 });
    try {
      const controller = new AbortController();
      let running: number[] = [];
      let abortedAt = 0;
      const { request } = newRequest(disc.device, {
        signal: controller.signal,
        onProgress: () => {
          if (abortedAt > 0) return;
          running = processesWithArgument(request.mapFile);
          abortedAt = Date.now();
          controller.abort(new Error('cancelled by the test'));
        },
      });
      await expect(ddrescue.rescue(request)).rejects.toThrow('cancelled by the test');

      expect(running).toHaveLength(1);
      expect(processesWithArgument(request.mapFile)).toEqual([]);
      expect(existsSync(`/proc/${running[0]}`)).toBe(false);
      // SIGTERM sufficed: ddrescue saved its map and left within one bad read, long before the SIGKILL fallback.
      expect(Date.now() - abortedAt).toBeLessThan(2000);
      expect(existsSync(request.mapFile)).toBe(true);
    } finally {
      await disc.destroy();
    }
  });
});

describe('Ddrescue without a disc', () => {
  it('names the Debian package and the setting when the binary is missing', async () => {
    const missing = new Ddrescue({ binary: '/nonexistent/ddrescue' });
    const sentence = await missing.checkInstalled();
    expect(sentence).toMatch(/gddrescue/);
    expect(sentence).toMatch(/DISCBRIDGE_DDRESCUE/);
    const { request } = newRequest('/dev/null', { image: '/nonexistent/out.iso', mapFile: '/nonexistent/out.map' });
    await expect(missing.rescue(request)).rejects.toEqual(new RipError(sentence ?? ''));
  });

  it.skipIf(ddrescueMissing !== undefined)('reports a device it cannot open as a RipError with ddrescue\'s words', async () => {
    const { request } = newRequest('/dev/discbridge-no-such-disc');
    const failure = await ddrescue.rescue(request).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RipError);
    expect((failure as RipError).message).toBe('ddrescue could not copy the disc (exit code 1)');
    expect((failure as RipError).detail).toMatch(/Can't open input file: No such file or directory/);
  });
});
