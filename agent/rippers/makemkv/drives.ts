// What a DRV line says about one optical drive. MakeMKV always prints sixteen DRV lines, one per slot; slots
// without a drive are left out here. Address a drive by its `index` (`disc:N`): it is not the OS order.
import { DiscFlag, DriveState } from './codes.js';
import type { DrvLine } from './robot-line.js';

export type MakeMkvDriveState = 'empty' | 'open' | 'inserted' | 'loading' | 'no_drive' | 'unmounting' | 'unknown';

/** What the inserted disc's file system holds (all false with no disc, or with a disc MakeMKV cannot rip). */
export interface DiscFlags {
  dvd: boolean;
  hddvd: boolean;
  bluray: boolean;
  aacs: boolean;
  bdplus: boolean;
}

export interface MakeMkvDrive {
  index: number;
  state: MakeMkvDriveState;
  /** "<type> <vendor> <model> <firmware> [serial]", e.g. "BD-RE ASUS BW-16D1HT 3.10 KL7L9D92707". */
  driveName: string;
  /** The volume label; empty with no disc, and sometimes empty with one. */
  discName: string;
  /** "/dev/sr0" on Linux, "/dev/rdiskN" on macOS, "D:" on Windows. */
  devicePath: string;
  discFlags: DiscFlags;
}

const STATE_NAMES: ReadonlyMap<number, MakeMkvDriveState> = new Map([
  [DriveState.EmptyClosed, 'empty'],
  [DriveState.EmptyOpen, 'open'],
  [DriveState.Inserted, 'inserted'],
  [DriveState.Loading, 'loading'],
  [DriveState.NoDrive, 'no_drive'],
  [DriveState.Unmounting, 'unmounting'],
]);

/** The drive a DRV line describes, or undefined for an empty slot. */
export function driveFromLine(line: DrvLine): MakeMkvDrive | undefined {
  const state = STATE_NAMES.get(line.state) ?? 'unknown';
  if (state === 'no_drive') return undefined;
  return {
    index: line.index,
    state,
    driveName: line.driveName,
    discName: line.discName,
    devicePath: line.devicePath,
    discFlags: {
      dvd: (line.flags & DiscFlag.Dvd) !== 0,
      hddvd: (line.flags & DiscFlag.HdDvd) !== 0,
      bluray: (line.flags & DiscFlag.Bluray) !== 0,
      aacs: (line.flags & DiscFlag.Aacs) !== 0,
      bdplus: (line.flags & DiscFlag.BdPlus) !== 0,
    },
  };
}
