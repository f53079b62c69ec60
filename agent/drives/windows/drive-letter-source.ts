// Windows drives as drive letters: each poll asks kernel32 which letters are CD-ROM drives (so a USB drive plugged
// in later is picked up, and one unplugged is dropped) and what volume each holds, in-process and without a spawn.
// A drive holds a disc when Windows reads an optical disc's file system from it (CDFS or UDF), or finds a disc whose
// file system it does not know. Empty is ERROR_NOT_READY on Windows; Wine answers an empty drive with the volume of
// the host folder behind the letter (NTFS, no label), so any other file system counts as empty too. The volume's
// serial number and label tell one disc from another, so a swap quicker than the poll is still removed + inserted.
import { EventEmitter } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DiscIdentity, DriveSource, DriveSourceEvents, DriveStatus } from '../drive-source.js';
import { PresenceDebouncer, emitPresenceChange } from '../presence.js';
import { readDiscStructure, videoDiscType, type DiscStructure } from '../video-structure.js';
import { DRIVE_CDROM, ERROR_INVALID_PARAMETER, ERROR_UNRECOGNIZED_VOLUME, describeWin32Error, failed, type VolumeInformation, type Win32Drives } from './kernel32.js';

export interface DriveLetterSourceOptions {
  /** Drive letters ("D:") or "*" for every CD-ROM drive. */
  drives: readonly string[];
  pollMs: number;
  debounceMs: number;
  logger: Logger;
  win32: Win32Drives;
}

interface WatchedDrive {
  letter: string;
  presence: PresenceDebouncer;
  volume?: VolumeInformation | undefined;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** What Windows calls the file systems of optical discs: ISO 9660 and Joliet (and an audio CD's) are CDFS. */
const OPTICAL_FILE_SYSTEMS: ReadonlySet<string> = new Set(['CDFS', 'UDF']);

export class DriveLetterSource extends EventEmitter<DriveSourceEvents> implements DriveSource {
  private readonly drives = new Map<string, WatchedDrive>();
  private readonly wanted: ReadonlySet<string> | 'all';
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DriveLetterSourceOptions) {
    super();
    this.wanted = options.drives.includes('*') ? 'all' : new Set(options.drives.map((drive) => drive.toUpperCase()));
  }

  async start(): Promise<void> {
    this.poll();
    this.pollTimer = setInterval(() => this.poll(), this.options.pollMs);
  }

  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  list(): DriveStatus[] {
    return [...this.drives.values()].map((drive) => ({ id: drive.letter, hasDisc: drive.presence.present === true }));
  }

  has(driveId: string): boolean {
    return this.drives.has(driveId);
  }

  /** The raw volume, as MakeMKV's dev: and the in-process file system reader take it. */
  devicePath(driveId: string): string {
    return `\\\\.\\${driveId}`;
  }

  async identify(driveId: string): Promise<DiscIdentity> {
    const volume = this.drives.get(driveId)?.volume ?? this.readVolume(driveId);
    const structure = await discStructure(driveId, this.devicePath(driveId));
    // Windows shows an audio CD as a CDFS volume of Track01.cda… files.
    const audio = (await readdir(`${driveId}\\`).catch(() => [])).some((name) => /^track\d+\.cda$/i.test(name));
    return {
      volumeLabel: volume?.label ?? '',
      ...(volume?.fileSystem ? { fsType: volume.fileSystem.toLowerCase() } : {}),
      discType: videoDiscType(structure) ?? (audio ? 'cd' : volume?.fileSystem ? 'data' : 'unknown'),
    };
  }

  waiting(): string[] {
    return [];
  }

  hasTray(): boolean {
    return true;
  }

  async jobEnded(): Promise<void> {}

  async eject(driveId: string): Promise<void> {
    if (!this.drives.has(driveId)) throw new Error('No such drive');
    const refused = this.options.win32.ejectMedia(driveId);
    if (!refused) return;
    // Some drives (and USB bridges) refuse the storage ioctl but open for the MCI door command.
    const door = this.options.win32.mciOpenDoor(driveId);
    if (!door) return;
    const why = refused.error === ERROR_INVALID_PARAMETER ? 'the drive does not take the eject command' : describeWin32Error(refused.error);
    throw new Error(`Could not eject ${driveId}: ${why}; the MCI door command failed too (MCI error ${door.error})`);
  }

  /** The disc's volume, or undefined for an empty drive. */
  private readVolume(letter: string): VolumeInformation | undefined {
    const volume = this.options.win32.volumeInformation(`${letter}\\`);
    if (failed(volume)) return volume.error === ERROR_UNRECOGNIZED_VOLUME ? { label: '', serial: 0, fileSystem: '' } : undefined;
    return OPTICAL_FILE_SYSTEMS.has(volume.fileSystem.toUpperCase()) ? volume : undefined;
  }

  private poll(): void {
    const { win32, logger } = this.options;
    const mask = win32.logicalDrives();
    const present = new Set<string>();
    for (let bit = 0; bit < LETTERS.length; bit++) {
      const letter = `${LETTERS[bit]}:`;
      if ((mask & (1 << bit)) === 0 || (this.wanted !== 'all' && !this.wanted.has(letter))) continue;
      if (win32.driveType(`${letter}\\`) !== DRIVE_CDROM) continue;
      present.add(letter);
      if (!this.drives.has(letter)) {
        this.drives.set(letter, { letter, presence: new PresenceDebouncer(this.options.debounceMs) });
        logger.info({ drive: letter }, 'Watching drive');
        this.emit('drivesChanged');
      }
    }
    for (const [letter, drive] of this.drives) {
      if (present.has(letter)) continue;
      this.drives.delete(letter);
      logger.warn({ drive: letter }, 'Drive disappeared');
      if (drive.presence.present) this.emit('removed', letter);
      this.emit('drivesChanged');
    }
    for (const drive of this.drives.values()) this.observe(drive);
  }

  private observe(drive: WatchedDrive): void {
    const volume = this.readVolume(drive.letter);
    // A volume Windows read is a disc whose data reads: it counts at once. Its serial and label tell discs apart.
    const change = drive.presence.observe(volume !== undefined, performance.now(), volume !== undefined, volume && `${volume.serial}:${volume.label}`);
    if (change !== undefined) drive.volume = volume;
    emitPresenceChange(this, drive.letter, change, volume !== undefined, this.options.logger);
  }
}

/**
 * The disc's video structure: read from the raw volume in-process (as on Linux), else from the files Windows shows
 * on the drive, for a volume that cannot be opened raw (without the right to, say).
 */
async function discStructure(letter: string, devicePath: string): Promise<DiscStructure> {
  const raw = await readDiscStructure(devicePath);
  if (raw.videoTs || raw.bdmv) return raw;
  const exists = async (path: string) => (await stat(`${letter}\\${path}`).catch(() => undefined))?.isFile() === true;
  const [videoTs, bdmv] = await Promise.all([exists('VIDEO_TS\\VIDEO_TS.IFO'), exists('BDMV\\index.bdmv')]);
  return { videoTs, bdmv };
}
