// The import folder through the whole station (real hub and agent processes, real cd-info, cd-paranoia, flac,
// HandBrakeCLI): an authored audio CD dropped in as CUE/BIN and as a cdrdao TOC comes out as exact, tagged FLAC with
// its disc ids on the job; a DVD image and a data image each take their own plan; a half-copied image is not taken
// early; a cancel mid-track leaves no partial file; a CUE naming a file outside the folder is refused.
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DriveRecord, FINISHED_JOB_STATES, JobDetail, type JobUpdate } from '../../shared/index.js';
import { makeTestCd, type TestCd } from '../agent/cd-audio/test-cd.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('cd-info', 'cd-paranoia', 'flac', 'metaflac', 'sox', 'toc2cddb', 'HandBrakeCLI', 'genisoimage');
if (skipReason) console.warn(`Skipping import-folder end-to-end tests: ${skipReason}`);

const isFinal = (m: { type: string; state?: string }): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state as JobUpdate['state']);
const ALBUM_FOLDER = 'The Sine Waves - Discbridge Test Tones';

describe.skipIf(skipReason !== undefined)('the import folder end to end', () => {
  let station: Station | undefined;
  let importDir: string;
  let cd: TestCd;
  const folders: string[] = [];
  const tempFolder = (name: string) => {
    const folder = mkdtempSync(join(tmpdir(), `discbridge-e2e-${name}-`));
    folders.push(folder);
    return folder;
  };

  beforeAll(async () => {
    cd = await makeTestCd(join(tempFolder('cd'), 'disc'));
  }, 60_000);

  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  afterEach(async () => {
    await station?.stop();
    station = undefined;
    for (const folder of folders.splice(1)) rmSync(folder, { recursive: true, force: true });
  });

  async function startStation(name: string) {
    importDir = join(tempFolder(name), 'import');
    station = new Station(VirtualDrive.reserve(), { name, agentEnv: { DISCBRIDGE_IMPORT_DIR: importDir } });
    await station.start();
    return { s: station, dashboard: await station.dashboard() };
  }

  it('rips an audio CD dropped in as CUE/BIN and as a TOC to exact FLAC with its disc ids; refuses a CUE leaving the folder; a cancel mid-track leaves nothing half-written', async () => {
    const { s, dashboard } = await startStation('import-audio');
    copyFileSync(join(cd.folder, 'disc.bin'), join(importDir, 'disc.bin'));
    copyFileSync(cd.cue, join(importDir, 'disc.cue'));
    const inserted = await dashboard.waitFor((m) => m.type === 'drive_event' && m.drive_id === 'import' && m.event === 'inserted', 15_000);
    expect(inserted).toMatchObject({ volume_label: 'Discbridge Test Tones', disc_type: 'cd' });
    const done = await dashboard.waitFor(isFinal, 60_000);
    expect(done.state).toBe('completed');
    const job = JobDetail.parse(await s.get(`/api/jobs/${done.job_id}`));
    const freedb = /^DISCID=([0-9a-f]{8})$/m.exec(execFileSync('toc2cddb', ['disc.toc'], { encoding: 'utf8', cwd: cd.folder }))?.[1];
    expect(job).toMatchObject({ drive_id: 'import', disc_type: 'cd', volume_label: ALBUM_FOLDER, output_dir: ALBUM_FOLDER, freedb_disc_id: freedb });
    expect(job.musicbrainz_disc_id).toMatch(/^[A-Za-z0-9._-]{28}$/);
    expect(job.titles.map((t) => [t.title_id, t.name, t.state, t.output_filename])).toEqual([
      [1, 'Concert A', 'completed', '01 - Concert A.flac'], [2, 'Seven and a Bit', 'completed', '02 - Seven and a Bit.flac'], [3, 'Five Seconds', 'completed', '03 - Five Seconds.flac'],
    ]);
    for (const title of job.titles) {
      const file = join(s.outputDir, ALBUM_FOLDER, title.output_filename!);
      expect(execFileSync('metaflac', ['--show-md5sum', file], { encoding: 'utf8' }).trim(), file).toBe(cd.md5.get(title.title_id));
      expect(execFileSync('metaflac', ['--export-tags-to=-', file], { encoding: 'utf8' })).toContain(`MUSICBRAINZ_DISCID=${job.musicbrainz_disc_id}`);
    }
    // Progress with speed and ETA while the tracks ripped.
    expect(dashboard.messages('job_update').some((m) => m.job_id === done.job_id && m.state === 'ripping' && m.progress_percent !== undefined)).toBe(true);
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.drive_id === 'import' && m.event === 'removed', 10_000);
    expect(readdirSync(join(importDir, 'done')).sort()).toEqual(['disc.bin', 'disc.cue']);

    // The same disc as a cdrdao TOC (its BIN beside it).
    let before = dashboard.received.length;
    copyFileSync(join(cd.folder, 'disc.bin'), join(importDir, 'disc.bin'));
    copyFileSync(cd.toc, join(importDir, 'disc.toc'));
    const fromToc = await dashboard.waitFor(isFinal, 60_000, before);
    expect(fromToc.state).toBe('completed');
    expect(JobDetail.parse(await s.get(`/api/jobs/${fromToc.job_id}`))).toMatchObject({ freedb_disc_id: freedb, musicbrainz_disc_id: job.musicbrainz_disc_id, output_dir: `${ALBUM_FOLDER} (2)` });

    // A CUE naming a file outside the folder never becomes a job.
    writeFileSync(join(importDir, 'evil.cue'), 'FILE "../../../../etc/passwd" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n');
    await waitUntil(() => existsSync(join(importDir, 'failed', 'evil.cue.reason.txt')), 'evil.cue refused');
    expect(readFileSync(join(importDir, 'failed', 'evil.cue.reason.txt'), 'utf8')).toMatch(/refers to a file outside the import folder/);

    // A long track, cancelled while it is encoded: nothing half-written is left, and the image goes to failed/.
    const long = await makeTestCd(join(tempFolder('long-cd'), 'disc'), ['--album', 'Long Play', '--track', '1200:Side A']);
    before = dashboard.received.length;
    copyFileSync(join(long.folder, 'disc.bin'), join(importDir, 'long.bin'));
    writeFileSync(join(importDir, 'long.cue'), readFileSync(long.cue, 'utf8').replace('"disc.bin"', '"long.bin"'));
    const read = await dashboard.waitFor((m) => m.type === 'title_update' && (m.match_progress ?? 0) >= 95, 60_000, before);
    expect((await s.post(`/api/jobs/${(read as { job_id: number }).job_id}/cancel`)).status).toBe(200);
    const cancelled = await dashboard.waitFor(isFinal, 30_000, before);
    expect(cancelled).toMatchObject({ state: 'cancelled' });
    // Not even the album's folder is left: nothing in it was finished.
    const longFolder = join(s.outputDir, 'The Sine Waves - Long Play');
    expect(existsSync(longFolder) ? readdirSync(longFolder) : []).toEqual([]);
    await waitUntil(() => existsSync(join(importDir, 'failed', 'long.cue.reason.txt')), 'long.cue moved to failed/');
    expect(readFileSync(join(importDir, 'failed', 'long.cue.reason.txt'), 'utf8')).toBe('Cancelled by user\n');
    expect(dashboard.contractViolations).toEqual([]);
  }, 180_000);

  it('rips a DVD image and backs a data image up, each its own way, shows what waits, and takes a half-copied image only once whole', async () => {
    const { s, dashboard } = await startStation('import-video-data');
    const dvd = makeDisc('e2e-import-dvd', ['--label', 'OLD_FILM', '--title', '15:2', '--size', '352x240']);
    const data = makeDisc('e2e-import-data', ['--data', '--label', 'OLD_BACKUP', '--size-mb', '8']);
    copyFileSync(dvd, join(importDir, 'a-film.iso'));
    copyFileSync(data, join(importDir, 'b-backup.iso'));
    const first = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 15_000);
    expect(first).toMatchObject({ drive_id: 'import', volume_label: 'OLD_FILM', disc_type: 'dvd' });
    // The backup waits its turn, and says so.
    await waitUntil(async () => (DriveRecord.array().parse(await s.get('/api/drives')).find((d) => d.drive_id === 'import')?.waiting ?? []).includes('b-backup.iso'), 'b-backup.iso shown waiting');
    const film = await dashboard.waitFor(isFinal, 120_000);
    expect(film.state).toBe('completed');
    expect(readdirSync(join(s.outputDir, 'OLD_FILM'))).toEqual(['OLD_FILM_t01.mkv']);
    const backup = await dashboard.waitFor((m): m is JobUpdate => isFinal(m) && m.job_id !== film.job_id, 60_000);
    expect(backup.state).toBe('completed');
    const volumeBytes = Number(/Volume size is: (\d+)/.exec(execFileSync('isoinfo', ['-d', '-i', data], { encoding: 'utf8' }))?.[1]) * 2048;
    expect(readFileSync(join(s.outputDir, 'OLD_BACKUP', 'OLD_BACKUP.iso')).equals(readFileSync(data).subarray(0, volumeBytes))).toBe(true);
    expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);
    await waitUntil(() => readdirSync(join(importDir, 'done')).length === 2, 'both images in done/');

    // A copy that pauses between chunks for less than the settle time is not taken before its last byte.
    const before = dashboard.received.length;
    const bytes = readFileSync(data);
    const file = openSync(join(importDir, 'slow.iso'), 'w');
    const chunk = Math.ceil(bytes.length / 5);
    for (let at = 0; at < bytes.length; at += chunk) {
      writeSync(file, bytes, at, Math.min(chunk, bytes.length - at), at);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    closeSync(file);
    const lastWrite = Date.now();
    const slow = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 15_000, before);
    expect(dashboard.receivedAt(slow)).toBeGreaterThanOrEqual(lastWrite - 300);
    const slowDone = await dashboard.waitFor(isFinal, 60_000, before);
    expect(slowDone).toMatchObject({ state: 'completed', sha256: backup.sha256 });
    expect(dashboard.contractViolations).toEqual([]);
  }, 240_000);
});

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
