// Data discs through the real plan (read volume → image → verify) with the real imager and, where installed, the
// real ddrescue, on ISO 9660 images made here with genisoimage: an image file is a "device" a job can read, so none
// of this needs root. A truncated image stands in for a disc whose end cannot be read.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobState, JobUpdate, LinkEvent, TitleUpdate } from '../../../shared/index.js';
import { Ddrescue } from '../../../agent/imagers/ddrescue/ddrescue.js';
import { DiscImager } from '../../../agent/imagers/disc-imager.js';
import { JobRunner } from '../../../agent/jobs/job-runner.js';
import { DataDiscs } from '../../../agent/kinds/data.js';
import { DiscKinds } from '../../../agent/kinds/disc-kind.js';
import { onPath } from '../../tools/on-path.js';

const logger = pino({ level: 'silent' });
const skip = onPath('genisoimage') ? undefined : 'genisoimage is not installed (scripts/install-deps installs it)';
if (skip) console.warn(`Skipping data-disc job tests: ${skip}`);

let dir: string;
let iso: string;
/** The volume's size from isoinfo, which is what the image must hold. */
let volumeBytes: number;

beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'discbridge-data-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'photos'), { recursive: true });
  // Not compressible and not the same from file to file: a copy that skips or repeats a block shows in the hash.
  for (let i = 0; i < 3; i++) writeFileSync(join(tree, 'photos', `img${i}.jpg`), createHash('sha512').update(String(i)).digest().toString('hex').repeat(30_000));
  iso = join(dir, 'photos.iso');
  execFileSync('genisoimage', ['-quiet', '-V', 'PHOTOS_2019', '-J', '-r', '-o', iso, tree]);
  const info = execFileSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' });
  volumeBytes = Number(/Volume size is: (\d+)/.exec(info)?.[1]) * 2048;
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function runDataJob(device: string, outputDir: string, imager = new DiscImager(undefined), jobId = 1): { events: LinkEvent[]; done: Promise<JobState> } {
  const events: LinkEvent[] = [];
  const plan = new DiscKinds([new DataDiscs(imager)]).planFor('data')!;
  const runner = new JobRunner(
    { agentId: 'st', jobId, drive: '/dev/sr0', device, volumeLabel: 'PHOTOS_2019', discType: 'data', autoRip: true },
    plan,
    { outputDir, minTitleSeconds: 120, progressIntervalMs: 0, stallMs: 60_000, logger, emit: (e) => events.push(e), eject: async () => undefined },
  );
  return { events, done: runner.run() };
}

const jobUpdates = (events: LinkEvent[]) => events.filter((e): e is JobUpdate => e.type === 'job_update');
const final = (events: LinkEvent[]) => jobUpdates(events).at(-1) as JobUpdate;
const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(skip !== undefined)('a data disc job', () => {
  it('backs the volume up to <label>/<label>.iso with its SHA-256, verified, with progress in bytes', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const { events, done } = runDataJob(iso, out);
    expect(await done).toBe('completed');
    expect([...new Set(jobUpdates(events).map((e) => e.state))]).toEqual(['identifying', 'ripping', 'completed']);
    const discovered = events.find((e) => e.type === 'titles_discovered');
    expect(discovered).toMatchObject({ titles: [{ title_id: 1, name: 'PHOTOS_2019.iso', expected_size_bytes: volumeBytes, selected: true }] });

    const image = join(out, 'PHOTOS_2019', 'PHOTOS_2019.iso');
    expect(readdirSync(join(out, 'PHOTOS_2019'))).toEqual(['PHOTOS_2019.iso']);
    const written = readFileSync(image);
    expect(written.length).toBe(volumeBytes);
    expect(written.equals(readFileSync(iso).subarray(0, volumeBytes))).toBe(true);
    expect(final(events)).toMatchObject({ state: 'completed', progress_percent: 100, sha256: sha256Of(written) });
    // The byte rate needs a second of copying to measure (test/agent/jobs/progress-reporter.test.ts); this copy is quicker.
    expect(jobUpdates(events).some((e) => e.state === 'ripping' && (e.progress_percent ?? 0) > 0)).toBe(true);
    const title = events.filter((e): e is TitleUpdate => e.type === 'title_update').at(-1);
    expect(title).toMatchObject({ state: 'completed', output_filename: 'PHOTOS_2019.iso', actual_size_bytes: volumeBytes });
  });

  it('fails a disc that is not a file system, saying why', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(200_000, 7));
    const { events, done } = runDataJob(junk, mkdtempSync(join(dir, 'out-')));
    expect(await done).toBe('failed');
    expect(final(events).error_message).toMatch(/cannot be told: it has no readable ISO 9660 or UDF volume descriptor/);
  });

  it('without ddrescue, a disc that stops reading fails at once with how much could not be read, leaving nothing', async () => {
    const short = join(dir, 'short.iso');
    copyFileSync(iso, short);
    truncateSync(short, volumeBytes - 300 * 2048);
    const out = mkdtempSync(join(dir, 'out-'));
    const { events, done } = runDataJob(short, out);
    expect(await done).toBe('failed');
    expect(final(events).error_message).toMatch(/^\d+ bytes could not be read: the disc gave a read error at [\d.]+ MB\. Install GNU ddrescue/);
    expect(readdirSync(out)).toEqual([]);
  });

  it.skipIf(!onPath('ddrescue'))('with ddrescue, keeps the image and map of a disc that stops reading, and "rip now" later finishes it', async () => {
    const drive = join(dir, 'drive.iso');
    copyFileSync(iso, drive);
    const missing = 300 * 2048;
    truncateSync(drive, volumeBytes - missing);
    const out = mkdtempSync(join(dir, 'out-'));
    const imager = new DiscImager(new Ddrescue({ binary: 'ddrescue' }));
    const first = runDataJob(drive, out, imager);
    expect(await first.done).toBe('failed');
    expect(final(first.events)).toMatchObject({ unreadable_bytes: missing, error_code: 'unreadable' });
    expect(final(first.events).error_message).toMatch(new RegExp(`^${missing} bytes could not be read`));
    expect(readdirSync(join(out, 'PHOTOS_2019')).sort()).toEqual(['PHOTOS_2019.iso', 'PHOTOS_2019.iso.map']);

    // The disc reads whole now (cleaned): the next job continues in the same folder and only reads what was missing.
    copyFileSync(iso, drive);
    const second = runDataJob(drive, out, imager, 2);
    expect(await second.done).toBe('completed');
    expect(readdirSync(out)).toEqual(['PHOTOS_2019']);
    expect(readdirSync(join(out, 'PHOTOS_2019'))).toEqual(['PHOTOS_2019.iso']);
    const image = readFileSync(join(out, 'PHOTOS_2019', 'PHOTOS_2019.iso'));
    expect(image.equals(readFileSync(iso).subarray(0, volumeBytes))).toBe(true);
    expect(final(second.events)).toMatchObject({ state: 'completed', sha256: sha256Of(image) });
    expect(existsSync(join(out, 'PHOTOS_2019 (2)'))).toBe(false);
  });
});
