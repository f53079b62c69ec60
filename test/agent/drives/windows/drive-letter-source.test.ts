// The Windows drive source against a fake kernel32 that answers as real Windows does where Wine cannot show it: an
// empty drive is ERROR_NOT_READY (21), a disc swapped within one poll has another serial, a USB drive comes and goes,
// Wine's empty drive reads as the host folder behind it, and an eject the drive refuses (87) falls back to the MCI door command, with a sentence when both fail.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DriveLetterSource } from '../../../../agent/drives/windows/drive-letter-source.js';
import {
  DRIVE_CDROM, ERROR_INVALID_PARAMETER, ERROR_NOT_READY, ERROR_UNRECOGNIZED_VOLUME, type VolumeInformation, type Win32Drives, type Win32Failure,
} from '../../../../agent/drives/windows/kernel32.js';

const DRIVE_FIXED = 3;
const letterBit = (letter: string) => 1 << (letter.charCodeAt(0) - 65);

/** Drives by letter: their type and what GetVolumeInformationW answers for them now. */
class FakeWindows implements Win32Drives {
  readonly drives = new Map<string, { type: number; volume: VolumeInformation | Win32Failure }>();
  readonly calls: string[] = [];
  ejectAnswer: Win32Failure | undefined;
  mciAnswer: Win32Failure | undefined;

  logicalDrives(): number {
    let mask = 0;
    for (const letter of this.drives.keys()) mask |= letterBit(letter);
    return mask;
  }

  driveType(root: string): number {
    return this.drives.get(root.slice(0, 2))?.type ?? 1;
  }

  volumeInformation(root: string): VolumeInformation | Win32Failure {
    this.calls.push(`volume ${root}`);
    return this.drives.get(root.slice(0, 2))?.volume ?? { error: 3 };
  }

  ejectMedia(letter: string): Win32Failure | undefined {
    this.calls.push(`eject ${letter}`);
    return this.ejectAnswer;
  }

  mciOpenDoor(letter: string): Win32Failure | undefined {
    this.calls.push(`mci ${letter}`);
    return this.mciAnswer;
  }

  cdrom(letter: string, volume: VolumeInformation | Win32Failure): void {
    this.drives.set(letter, { type: DRIVE_CDROM, volume });
  }
}

const disc = (label: string, serial: number): VolumeInformation => ({ label, serial, fileSystem: 'UDF' });
const empty = { error: ERROR_NOT_READY };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let source: DriveLetterSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
});

function watch(windows: FakeWindows, drives: string[] = ['*']): { source: DriveLetterSource; events: string[] } {
  source = new DriveLetterSource({ drives, pollMs: 20, debounceMs: 100, logger: pino({ level: 'silent' }), win32: windows });
  const events: string[] = [];
  source.on('inserted', (drive, initial) => events.push(`${initial ? 'initial' : 'inserted'} ${drive}`));
  source.on('removed', (drive) => events.push(`removed ${drive}`));
  source.on('drivesChanged', () => events.push('drives'));
  return { source, events };
}

describe('DriveLetterSource', () => {
  it('watches only CD-ROM drives, with "*" all of them and with letters only those', async () => {
    const windows = new FakeWindows();
    windows.drives.set('C:', { type: DRIVE_FIXED, volume: disc('Windows', 1) });
    windows.cdrom('D:', empty);
    windows.cdrom('E:', disc('MOVIE', 7));
    const all = watch(windows);
    await all.source.start();
    expect(all.source.list()).toEqual([{ id: 'D:', hasDisc: false }, { id: 'E:', hasDisc: true }]);
    expect(all.events).toContain('initial E:');
    await all.source.stop();

    const one = watch(windows, ['e:']);
    await one.source.start();
    expect(one.source.list()).toEqual([{ id: 'E:', hasDisc: true }]);
    expect(one.source.devicePath('E:')).toBe('\\\\.\\E:');
  });

  it('tells an insert at once and a removal (ERROR_NOT_READY) after the debounce', async () => {
    const windows = new FakeWindows();
    windows.cdrom('D:', empty);
    const { source, events } = watch(windows);
    await source.start();
    windows.cdrom('D:', disc('THE_MOVIE', 0x1234abcd));
    await sleep(60);
    expect(events).toEqual(['drives', 'inserted D:']);
    expect(await source.identify('D:')).toMatchObject({ volumeLabel: 'THE_MOVIE', fsType: 'udf', discType: 'data' });
    windows.cdrom('D:', empty);
    await sleep(60);
    expect(events).toHaveLength(2); // not yet: a removal must hold for the debounce
    await sleep(150);
    expect(events).toEqual(['drives', 'inserted D:', 'removed D:']);
  });

  it('tells a disc swapped within one poll as removed, then inserted, by its serial', async () => {
    const windows = new FakeWindows();
    windows.cdrom('D:', disc('SAME_LABEL', 1));
    const { source, events } = watch(windows);
    await source.start();
    windows.cdrom('D:', disc('SAME_LABEL', 2));
    await sleep(60);
    expect(events).toEqual(['drives', 'initial D:', 'removed D:', 'inserted D:']);
  });

  it('counts Wine\'s empty drive (the host folder behind the letter: NTFS, no label) as empty, and an unknown file system as a disc', async () => {
    const windows = new FakeWindows();
    windows.cdrom('D:', { label: '', serial: 1140850688, fileSystem: 'NTFS' });
    windows.cdrom('E:', { error: ERROR_UNRECOGNIZED_VOLUME });
    const { source } = watch(windows);
    await source.start();
    expect(source.list()).toEqual([{ id: 'D:', hasDisc: false }, { id: 'E:', hasDisc: true }]);
    expect(await source.identify('E:')).toEqual({ volumeLabel: '', discType: 'unknown' });
  });

  it('picks up a USB drive plugged in later, and drops it (its disc removed) when unplugged', async () => {
    const windows = new FakeWindows();
    const { source, events } = watch(windows);
    await source.start();
    expect(source.list()).toEqual([]);
    windows.cdrom('F:', disc('USB_DISC', 9));
    await sleep(60);
    expect(source.list()).toEqual([{ id: 'F:', hasDisc: true }]);
    windows.drives.delete('F:');
    await sleep(60);
    expect(events).toEqual(['drives', 'initial F:', 'removed F:', 'drives']);
    expect(source.has('F:')).toBe(false);
  });

  it('ejects with the storage ioctl, falls back to the MCI door command, and says why when both fail', async () => {
    const windows = new FakeWindows();
    windows.cdrom('D:', disc('MOVIE', 3));
    const { source } = watch(windows);
    await source.start();
    await source.eject('D:');
    expect(windows.calls.filter((call) => !call.startsWith('volume'))).toEqual(['eject D:']);
    windows.ejectAnswer = { error: ERROR_INVALID_PARAMETER };
    await source.eject('D:');
    expect(windows.calls.filter((call) => !call.startsWith('volume'))).toEqual(['eject D:', 'eject D:', 'mci D:']);
    windows.mciAnswer = { error: 263 };
    await expect(source.eject('D:')).rejects.toThrow('Could not eject D:: the drive does not take the eject command; the MCI door command failed too (MCI error 263)');
    await expect(source.eject('Z:')).rejects.toThrow('No such drive');
  });
});
