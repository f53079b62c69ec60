// Reads a Linux block device's disc presence from sysfs. /sys/block/<name>/size is 0 when an sr drive is
// empty or a loop device is detached; a real sr drive only re-checks its medium when polled by the kernel
// (every 2 s under systemd's udev rules) or opened, so we open it non-blocking first to learn of a disc at once.
import { constants } from 'node:fs';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';

export interface BlockDevice {
  /** The configured path, e.g. /dev/sr0 or /dev/cdrom. */
  path: string;
  /** The kernel's name for it, e.g. sr0 or loop3. */
  kernelName: string;
  isLoop: boolean;
}

export async function resolveBlockDevice(path: string): Promise<BlockDevice | undefined> {
  try {
    const real = await realpath(path);
    if (!(await stat(real)).isBlockDevice()) return undefined;
    const kernelName = basename(real);
    const isLoop = await stat(`/sys/block/${kernelName}/loop`).then(() => true, () => kernelName.startsWith('loop'));
    return { path, kernelName, isLoop };
  } catch {
    return undefined;
  }
}

/** The medium's size in 512-byte sectors: 0 when the drive is empty. */
export async function readMediumSectors(device: BlockDevice): Promise<number> {
  if (!device.isLoop) await touchMedium(device.path);
  try {
    const sectors = Number((await readFile(`/sys/block/${device.kernelName}/size`, 'utf8')).trim());
    return Number.isFinite(sectors) && sectors > 0 ? sectors : 0;
  } catch {
    return 0;
  }
}

/** Opening an optical drive makes the kernel check for a medium and update the size. */
async function touchMedium(path: string): Promise<void> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    await handle.close();
  } catch {
    // No medium or no permission: the size read that follows tells the truth either way.
  }
}

/** Sector 16: where ISO 9660 and UDF discs begin to describe themselves. */
const FIRST_DESCRIPTOR_OFFSET = 16 * 2048;

/**
 * Whether the medium's data reads already: a drive still spinning up (or an audio CD, which has no data sectors)
 * fails this, and only then is an insert worth debouncing.
 */
export async function readMediumReadable(device: BlockDevice): Promise<boolean> {
  try {
    const handle = await open(device.path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const { bytesRead } = await handle.read(Buffer.alloc(2048), 0, 2048, FIRST_DESCRIPTOR_OFFSET);
      return bytesRead === 2048;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
