// Linux drives as block devices (/dev/sr*, or loop devices holding images): chokidar notices drive nodes that
// appear or vanish (a USB drive plugged in), a poll of each drive's presence notices discs going in and out, and
// one event is emitted per settled change.
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import { type BlockDevice, readMediumReadable, readMediumSectors, resolveBlockDevice } from './block-device.js';
import { probeSettledDisc } from './disc-probe.js';
import type { DiscIdentity, DriveSource, DriveSourceEvents, DriveStatus } from '../drive-source.js';
import { ejectDisc } from './eject.js';
import { PresenceDebouncer, emitPresenceChange } from '../presence.js';

interface WatchedDrive {
  device: BlockDevice;
  presence: PresenceDebouncer;
}

export interface BlockDeviceSourceOptions {
  /** Device paths or globs, e.g. ['/dev/sr*']. */
  patterns: readonly string[];
  pollMs: number;
  debounceMs: number;
  logger: Logger;
}

export class BlockDeviceSource extends EventEmitter<DriveSourceEvents> implements DriveSource {
  private readonly drives = new Map<string, WatchedDrive>();
  private readonly matches: (path: string) => boolean;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Drives being looked at; the first poll waits for them, so a disc inserted meanwhile is not taken as old. */
  private readonly adding = new Set<Promise<void>>();

  constructor(private readonly options: BlockDeviceSourceOptions) {
    super();
    this.matches = picomatch([...options.patterns]);
  }

  async start(): Promise<void> {
    const folders = [...new Set(this.options.patterns.map(folderOf))];
    const watcher = chokidar.watch(folders, {
      depth: 0,
      ignored: (path) => !folders.includes(path) && !this.matches(path),
      // Device nodes are not regular files: chokidar must not try to follow or read them.
      followSymlinks: false,
    });
    watcher.on('add', (path) => {
      const adding = this.addDrive(path);
      this.adding.add(adding);
      void adding.finally(() => this.adding.delete(adding));
    });
    watcher.on('unlink', (path) => this.removeDrive(path));
    watcher.on('error', (error) => this.options.logger.warn({ err: error }, 'Watching for drives failed; existing drives are still polled'));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
    await Promise.all(this.adding);
    this.watcher = watcher;
    await this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs);
  }

  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  list(): DriveStatus[] {
    return [...this.drives.values()].map((drive) => ({ id: drive.device.path, hasDisc: drive.presence.present === true }));
  }

  has(path: string): boolean {
    return this.drives.has(path);
  }

  devicePath(path: string): string {
    return path;
  }

  identify(path: string): Promise<DiscIdentity> {
    return probeSettledDisc(path);
  }

  waiting(): string[] {
    return [];
  }

  hasTray(): boolean {
    return true;
  }

  /** A disc stays in its drive after its job: a person (or the eject-when-done step) takes it out. */
  async jobEnded(): Promise<void> {}

  async eject(path: string): Promise<void> {
    const drive = this.drives.get(path);
    if (!drive) throw new Error('No such drive');
    await ejectDisc(drive.device);
  }

  private async addDrive(path: string): Promise<void> {
    if (this.drives.has(path)) return;
    const device = await resolveBlockDevice(path);
    if (!device) {
      this.options.logger.debug({ path }, 'Skipping a matched path that is not a block device');
      return;
    }
    this.drives.set(path, { device, presence: new PresenceDebouncer(this.options.debounceMs) });
    this.options.logger.info({ drive: path }, 'Watching drive');
    this.emit('drivesChanged');
  }

  private removeDrive(path: string): void {
    const drive = this.drives.get(path);
    if (!drive) return;
    this.drives.delete(path);
    this.options.logger.warn({ drive: path }, 'Drive disappeared');
    if (drive.presence.present) this.emit('removed', path);
    this.emit('drivesChanged');
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow drive must not pile up reads
    this.polling = true;
    try {
      await Promise.all([...this.drives.values()].map(async (drive) => {
        const sectors = await readMediumSectors(drive.device);
        const present = sectors > 0;
        const readable = drive.presence.wouldInsert(present) && (await readMediumReadable(drive.device));
        if (this.drives.get(drive.device.path) !== drive) return;
        // A monotonic clock: a wall-clock jump must not shorten or stretch the debounce.
        const change = drive.presence.observe(present, performance.now(), readable, sectors);
        emitPresenceChange(this, drive.device.path, change, present, this.options.logger);
      }));
    } finally {
      this.polling = false;
    }
  }
}

/** The folder to watch for a pattern: everything before its first glob character. */
export function folderOf(pattern: string): string {
  const { base, isGlob } = picomatch.scan(pattern);
  return isGlob ? base : dirname(pattern);
}
