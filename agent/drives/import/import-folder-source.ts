// The import folder as a drive: disc images moved or copied into DISCBRIDGE_IMPORT_DIR go through the same jobs as
// discs in a drive, one after another, on a drive whose id is `import`. Images there at start go in name order,
// later ones in arrival order; a file counts once its size has held still. When its job ends an image moves to
// `done/` or `failed/` (with a `.reason.txt`), and the next one goes in. The waiting images are told, never hidden.
import { EventEmitter } from 'node:events';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { DiscIdentity, DriveSource, DriveSourceEvents, DriveStatus, JobOutcome } from '../drive-source.js';
import { PARTIAL_SUFFIX } from '../../../shared/files/partial-file.js';
import { checkImage, identifyImage, isImageFile, sheetFiles } from './image-files.js';

export const IMPORT_DRIVE_ID = 'import';
const DONE = 'done';
const FAILED = 'failed';

export interface ImportFolderOptions {
  folder: string;
  /** How long a file's size must hold still before it is taken (a copy still running). */
  settleMs: number;
  /** How long a CUE sheet or TOC may wait for the files it names before it goes to failed/. */
  sheetWaitMs: number;
  logger: Logger;
}

export class ImportFolderSource extends EventEmitter<DriveSourceEvents> implements DriveSource {
  private readonly folder: string;
  private watcher: FSWatcher | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Images waiting their turn, in the order they go in. */
  private readonly queue: string[] = [];
  /** Sheets waiting for the files they name, with when they were first seen. */
  private readonly incomplete = new Map<string, number>();
  private current: string | undefined;
  private started = false;

  constructor(private readonly options: ImportFolderOptions) {
    super();
    this.folder = resolve(options.folder);
  }

  async start(): Promise<void> {
    await mkdir(join(this.folder, DONE), { recursive: true });
    await mkdir(join(this.folder, FAILED), { recursive: true });
    const initial: string[] = [];
    const watcher = chokidar.watch(this.folder, {
      depth: 0,
      ignored: (path) => path !== this.folder && dirname(path) === this.folder && [DONE, FAILED].includes(basename(path)),
      awaitWriteFinish: { stabilityThreshold: this.options.settleMs, pollInterval: Math.min(100, this.options.settleMs) },
    });
    // chokidar tells a file that replaced one of the same name moments earlier as a change, not an add.
    for (const event of ['add', 'change'] as const) {
      watcher.on(event, (path) => {
        if (this.started) void this.arrived(path);
        else if (!initial.includes(path)) initial.push(path);
      });
    }
    watcher.on('unlink', (path) => this.vanished(path));
    watcher.on('error', (error) => this.options.logger.warn({ err: error }, 'Watching the import folder failed'));
    await new Promise<void>((resolveReady) => watcher.once('ready', resolveReady));
    this.watcher = watcher;
    this.started = true;
    for (const path of initial.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) await this.arrived(path);
    // A sheet's files may arrive without an event that concerns the sheet: look again now and then.
    this.retryTimer = setInterval(() => void this.recheckIncomplete(), 2000);
    this.options.logger.info({ folder: this.folder, waiting: this.queue.length }, 'Watching the import folder');
  }

  async stop(): Promise<void> {
    clearInterval(this.retryTimer);
    await this.watcher?.close();
    this.watcher = undefined;
  }

  list(): DriveStatus[] {
    return [{ id: IMPORT_DRIVE_ID, hasDisc: this.current !== undefined }];
  }

  has(driveId: string): boolean {
    return driveId === IMPORT_DRIVE_ID;
  }

  devicePath(): string {
    return this.current ?? this.folder;
  }

  identify(): Promise<DiscIdentity> {
    if (!this.current) return Promise.resolve({ volumeLabel: '', discType: 'unknown' });
    return identifyImage(this.current);
  }

  waiting(): string[] {
    return this.queue.map((path) => basename(path));
  }

  /** No tray: a finished image moves on by itself, so there is nothing to open when a job completes. */
  hasTray(): boolean {
    return false;
  }

  /** Skips the current image to failed/. */
  async eject(): Promise<void> {
    if (!this.current) throw new Error('There is no image to skip');
    await this.finishCurrent(FAILED, 'Ejected: skipped without ripping');
  }

  async jobEnded(_driveId: string, outcome: JobOutcome): Promise<void> {
    if (!this.current) return;
    // A station shutting down leaves the image where it is: it is taken again at the next start.
    if (outcome.state === 'interrupted') {
      this.current = undefined;
      return;
    }
    await this.finishCurrent(outcome.state === 'completed' ? DONE : FAILED, outcome.message);
  }

  private async arrived(path: string): Promise<void> {
    if (!isImageFile(path) || this.queue.includes(path) || this.current === path) return;
    const check = await checkImage(path, this.folder);
    if (!check.ok && !check.waiting) {
      this.options.logger.warn({ image: basename(path), reason: check.reason }, 'Refused an image in the import folder');
      await this.moveAside(path, FAILED, check.reason);
      return;
    }
    if (!check.ok) {
      if (!this.incomplete.has(path)) this.options.logger.info({ image: basename(path), reason: check.reason }, 'An image waits for its files');
      if (!this.incomplete.has(path)) this.incomplete.set(path, performance.now());
      return;
    }
    this.incomplete.delete(path);
    this.queue.push(path);
    this.options.logger.info({ image: basename(path), waiting: this.queue.length }, 'Image queued in the import folder');
    this.advance();
  }

  private async recheckIncomplete(): Promise<void> {
    for (const [path, since] of this.incomplete) {
      const check = await checkImage(path, this.folder);
      if (check.ok) {
        await this.arrived(path);
      } else if (performance.now() - since > this.options.sheetWaitMs) {
        this.incomplete.delete(path);
        const minutes = Math.round(this.options.sheetWaitMs / 60_000);
        await this.moveAside(path, FAILED, `${check.reason}, and it did not arrive within ${minutes} minute(s)`);
      }
    }
  }

  private vanished(path: string): void {
    this.incomplete.delete(path);
    const at = this.queue.indexOf(path);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.emit('waitingChanged', IMPORT_DRIVE_ID);
    }
    if (path === this.current) {
      // Taken away during its job: as a disc taken out of a drive.
      this.current = undefined;
      this.emit('removed', IMPORT_DRIVE_ID);
      this.advance();
    }
  }

  /** The next waiting image goes in when the drive is empty; otherwise only the waiting list changed. */
  private advance(): void {
    if (this.current || this.queue.length === 0) {
      this.emit('waitingChanged', IMPORT_DRIVE_ID);
      return;
    }
    this.current = this.queue.shift();
    this.emit('inserted', IMPORT_DRIVE_ID, false);
  }

  private async finishCurrent(to: typeof DONE | typeof FAILED, reason: string | undefined): Promise<void> {
    const image = this.current as string;
    this.current = undefined;
    await this.moveAside(image, to, reason);
    this.emit('removed', IMPORT_DRIVE_ID);
    this.advance();
  }

  /** Moves an image and the files its sheet names into done/ or failed/, never over a file already there. */
  private async moveAside(image: string, to: typeof DONE | typeof FAILED, reason: string | undefined): Promise<void> {
    const companions = await sheetFiles(image, this.folder);
    const target = await freeName(join(this.folder, to), basename(image));
    try {
      await rename(image, target);
      for (const file of companions) await rename(file, await freeName(join(this.folder, to), basename(file))).catch(() => undefined);
      if (to === FAILED && reason) {
        // Whole or not at all: whoever watches failed/ never reads a reason half-written.
        await writeFile(`${target}.reason.txt${PARTIAL_SUFFIX}`, `${reason}\n`);
        await rename(`${target}.reason.txt${PARTIAL_SUFFIX}`, `${target}.reason.txt`);
      }
      this.options.logger.info({ image: basename(image), to: `${to}/${basename(target)}`, reason }, 'Image moved out of the import folder');
    } catch (error) {
      this.options.logger.warn({ image: basename(image), err: (error as Error).message }, 'Could not move an image out of the import folder');
    }
  }
}

/** `name`, else "name (2).ext", "name (3).ext"… in `folder`. */
async function freeName(folder: string, name: string): Promise<string> {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let attempt = 1; ; attempt++) {
    const candidate = join(folder, attempt === 1 ? name : `${stem} (${attempt})${extension}`);
    if (!(await stat(candidate).then(() => true, () => false))) return candidate;
  }
}
