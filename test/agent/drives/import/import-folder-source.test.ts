// The import folder as a drive, on a real folder watched by chokidar: images in name order at start and in arrival
// order later, a file still being written not taken early, a CUE sheet waiting for its files (and giving up), one
// pointing outside the folder refused, images moved to done/ or failed/ with their reason, the skip, a shutdown
// leaving the image in place. No root, no tools but genisoimage for a real ISO's label.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMPORT_DRIVE_ID, ImportFolderSource } from '../../../../agent/drives/import/import-folder-source.js';
import { albumOf, referencedFiles } from '../../../../agent/drives/import/image-files.js';
import { onPath } from '../../../tools/on-path.js';

const logger = pino({ level: 'silent' });
let dir: string;
let folder: string;
let source: ImportFolderSource | undefined;
let events: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-import-'));
  folder = join(dir, 'import');
  events = [];
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function watch(options: { settleMs?: number; sheetWaitMs?: number } = {}): Promise<ImportFolderSource> {
  source = new ImportFolderSource({ folder, settleMs: options.settleMs ?? 200, sheetWaitMs: options.sheetWaitMs ?? 60_000, logger });
  source.on('inserted', (id, initial) => events.push(`inserted ${id}${initial ? ' (initial)' : ''} ${source?.devicePath()}`));
  source.on('removed', (id) => events.push(`removed ${id}`));
  source.on('waitingChanged', () => events.push(`waiting ${source?.waiting().join(',')}`));
  await source.start();
  return source;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${events.join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const current = () => source?.devicePath().split('/').at(-1);
const fakeIso = (name: string) => writeFileSync(join(folder, name), Buffer.alloc(4096, 1));

describe('the import folder', () => {
  it('takes the images there at start in name order, then moves each to done/ or failed/ as its job ends', async () => {
    mkdirSync(folder, { recursive: true });
    for (const name of ['b.iso', 'a.iso', 'c.iso']) fakeIso(name);
    const s = await watch();
    expect(s.list()).toEqual([{ id: IMPORT_DRIVE_ID, hasDisc: true }]);
    expect(current()).toBe('a.iso');
    expect(s.waiting()).toEqual(['b.iso', 'c.iso']);
    expect(events[0]).toBe(`inserted import ${join(folder, 'a.iso')}`);

    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    expect(readdirSync(join(folder, 'done'))).toEqual(['a.iso']);
    expect(current()).toBe('b.iso');
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'failed', message: 'HandBrakeCLI could not read the disc (exit code 2)' });
    expect(readdirSync(join(folder, 'failed')).sort()).toEqual(['b.iso', 'b.iso.reason.txt']);
    expect(readFileSync(join(folder, 'failed', 'b.iso.reason.txt'), 'utf8')).toBe('HandBrakeCLI could not read the disc (exit code 2)\n');
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    expect(s.list()).toEqual([{ id: IMPORT_DRIVE_ID, hasDisc: false }]);
    expect(events.filter((e) => e.startsWith('removed'))).toHaveLength(3);
  });

  it('takes later images in arrival order, tells the waiting list as it changes, and never overwrites in done/', async () => {
    const s = await watch();
    fakeIso('z.iso');
    await until(() => current() === 'z.iso', 'z.iso in');
    fakeIso('m.iso');
    await until(() => s.waiting().length === 1, 'm.iso waiting');
    fakeIso('a.iso');
    await until(() => s.waiting().length === 2, 'a.iso waiting');
    expect(s.waiting()).toEqual(['m.iso', 'a.iso']);
    expect(events).toContain('waiting m.iso,a.iso');
    rmSync(join(folder, 'a.iso'));
    await until(() => s.waiting().length === 1, 'a.iso gone');
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    fakeIso('z.iso');
    await until(() => s.waiting().includes('z.iso'), 'a second z.iso');
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    expect(readdirSync(join(folder, 'done')).sort()).toEqual(['m.iso', 'z (2).iso', 'z.iso']);
  });

  it('does not take a file still being written until its size has held still', async () => {
    const s = await watch({ settleMs: 400 });
    const file = join(folder, 'slow.iso');
    writeFileSync(file, Buffer.alloc(1000));
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      appendFileSync(file, Buffer.alloc(1000));
      expect(s.list()[0]?.hasDisc, `taken while still growing (${i})`).toBe(false);
    }
    await until(() => s.list()[0]?.hasDisc === true, 'the finished file taken');
  });

  it('holds a CUE sheet until the files it names are there', async () => {
    const s = await watch({ sheetWaitMs: 60_000 });
    writeFileSync(join(folder, 'album.cue'), 'TITLE "Songs"\nFILE "album.bin" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(s.list()[0]?.hasDisc).toBe(false);
    writeFileSync(join(folder, 'album.bin'), Buffer.alloc(2352 * 10));
    await until(() => current() === 'album.cue', 'the sheet taken once its BIN is there', 8000);
    expect(await s.identify()).toEqual({ volumeLabel: 'Songs', discType: 'cd' });
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    // The BIN goes with its sheet.
    expect(readdirSync(join(folder, 'done')).sort()).toEqual(['album.bin', 'album.cue']);
    expect(readdirSync(folder).sort()).toEqual(['done', 'failed']);
  });

  it('gives up on a sheet whose files never come; refuses one naming a file outside the folder, a BIN libcdio cannot find, a link', async () => {
    await watch({ sheetWaitMs: 300 });
    writeFileSync(join(folder, 'lost.cue'), 'FILE "lost.bin" BINARY\n  TRACK 01 AUDIO\n');
    writeFileSync(join(folder, 'evil.cue'), 'FILE "../../etc/passwd" BINARY\n  TRACK 01 AUDIO\n');
    writeFileSync(join(folder, 'other.bin'), Buffer.alloc(2352));
    writeFileSync(join(folder, 'renamed.cue'), 'FILE "other.bin" BINARY\n  TRACK 01 AUDIO\n');
    await until(() => existsSync(join(folder, 'failed', 'evil.cue.reason.txt')), 'evil.cue refused');
    expect(readFileSync(join(folder, 'failed', 'evil.cue.reason.txt'), 'utf8')).toBe('It refers to a file outside the import folder ("../../etc/passwd")\n');
    symlinkSync('/etc/hostname', join(folder, 'linked.iso'));
    await until(() => existsSync(join(folder, 'failed', 'linked.iso.reason.txt')), 'linked.iso refused');
    expect(readFileSync(join(folder, 'failed', 'linked.iso.reason.txt'), 'utf8')).toBe('It is a symbolic link: copy the image into the folder instead\n');
    await until(() => existsSync(join(folder, 'failed', 'renamed.cue.reason.txt')), 'renamed.cue refused');
    expect(readFileSync(join(folder, 'failed', 'renamed.cue.reason.txt'), 'utf8')).toBe('It names "other.bin", but only a BIN named like the sheet can be read: rename it to "renamed.bin" (and its FILE line)\n');
    await until(() => existsSync(join(folder, 'failed', 'lost.cue.reason.txt')), 'lost.cue given up', 8000);
    expect(readFileSync(join(folder, 'failed', 'lost.cue.reason.txt'), 'utf8')).toMatch(/^The file it names is missing: "lost.bin", and it did not arrive within 0 minute\(s\)\n$/);
    expect(source?.list()[0]?.hasDisc).toBe(false);
  });

  it('skips the current image to failed/ on eject, and leaves it in place when the station shuts down', async () => {
    mkdirSync(folder, { recursive: true });
    fakeIso('one.iso');
    fakeIso('two.iso');
    const s = await watch();
    await s.eject();
    expect(readFileSync(join(folder, 'failed', 'one.iso.reason.txt'), 'utf8')).toBe('Ejected: skipped without ripping\n');
    expect(current()).toBe('two.iso');
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'interrupted', message: 'The station was shut down during the job' });
    expect(existsSync(join(folder, 'two.iso'))).toBe(true);
    await s.stop();
    source = undefined;
    const again = await watch();
    expect(again.list()[0]?.hasDisc).toBe(true);
    expect(again.devicePath()).toBe(join(folder, 'two.iso'));
    await expect(new ImportFolderSource({ folder: join(dir, 'empty'), settleMs: 100, sheetWaitMs: 1000, logger }).eject()).rejects.toThrow('There is no image to skip');
  });

  it.skipIf(!onPath('genisoimage'))('tells an ISO by its own file system: its label, else its file name', async () => {
    mkdirSync(join(dir, 'tree', 'photos'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'photos', 'a.jpg'), 'not really');
    mkdirSync(folder, { recursive: true });
    execFileSync('genisoimage', ['-quiet', '-V', 'HOLIDAY_2004', '-J', '-r', '-o', join(folder, 'backup.iso'), join(dir, 'tree')]);
    const s = await watch();
    expect(await s.identify()).toEqual({ volumeLabel: 'HOLIDAY_2004', discType: 'data', fsType: 'iso9660' });
    await s.jobEnded(IMPORT_DRIVE_ID, { state: 'completed' });
    fakeIso('not-a-disc.iso');
    await until(() => current() === 'not-a-disc.iso', 'the next one in');
    expect(await s.identify()).toEqual({ volumeLabel: 'not-a-disc', discType: 'unknown' });
  });
});

describe('CUE sheets and TOCs', () => {
  it('name their files, and their CD-Text album before the first track', () => {
    expect(referencedFiles('REM x\nFILE "my disc.bin" BINARY\nFILE other.wav WAVE\n  TRACK 01 AUDIO\n')).toEqual(['my disc.bin', 'other.wav']);
    expect(referencedFiles('CD_DA\nTRACK AUDIO\nFILE "disc.bin" 0 01:02:03\nTRACK AUDIO\nFILE "disc.bin" 01:02:03 00:10:00\n')).toEqual(['disc.bin']);
    expect(albumOf('PERFORMER "A"\nTITLE "Album \\"Live\\""\nFILE "x.bin" BINARY\n  TRACK 01 AUDIO\n    TITLE "Song"\n')).toBe('Album "Live"');
    expect(albumOf('FILE "x.bin" BINARY\n  TRACK 01 AUDIO\n    TITLE "Song"\n')).toBeUndefined();
    expect(albumOf('CD_DA\nCD_TEXT {\n  LANGUAGE_MAP { 0 : EN }\n  LANGUAGE 0 {\n    TITLE "The Album"\n  }\n}\nTRACK AUDIO\nCD_TEXT { LANGUAGE 0 { TITLE "T1" } }\n')).toBe('The Album');
  });
});
