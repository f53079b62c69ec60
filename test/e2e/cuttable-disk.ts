// A disk whose power the tests can cut: ext4 on a loop device, mounted with a long commit interval so that nothing
// reaches the device unless it is fsynced. cut() copies the loop device's backing file at once (the copy holds only
// what reached the device; what was still in the page cache is missing, as after a power cut), then mounts the copy
// in its place, where ext4 replays its journal as at the next boot. The kernel's own writeback starts after about
// 30 s, so a test must cut within seconds of what it checks.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualDrive } from './harness.js';

export class CuttableDisk {
  private cuts = 0;

  private constructor(
    readonly mountPoint: string,
    private readonly imageDir: string,
    // Two reserved loop devices, so the copy mounts without giving a device back that another test could take.
    private devices: [VirtualDrive, VirtualDrive],
    private image: string,
  ) {}

  static create(mountPoint: string, imageDir: string, sizeMb = 256): CuttableDisk {
    mkdirSync(imageDir, { recursive: true });
    mkdirSync(mountPoint, { recursive: true });
    const image = join(imageDir, 'disk-0.img');
    writeFileSync(image, '');
    truncateSync(image, sizeMb * 1024 * 1024);
    const devices: [VirtualDrive, VirtualDrive] = [VirtualDrive.reserve(), VirtualDrive.reserve()];
    const disk = new CuttableDisk(mountPoint, imageDir, devices, image);
    try {
      execFileSync('losetup', [devices[0].device, image]);
      execFileSync('mkfs.ext4', ['-q', '-F', devices[0].device]);
      disk.mount();
    } catch (error) {
      disk.destroy();
      throw error;
    }
    return disk;
  }

  /**
   * The power cut. Call it the moment after the processes writing here were SIGKILLed; they must be gone (not only
   * signalled) before the original can be unmounted, which the copy no longer cares about.
   */
  cut(): void {
    const copy = join(this.imageDir, `disk-${++this.cuts}.img`);
    copyFileSync(this.image, copy);
    this.unmount();
    execFileSync('losetup', ['-d', this.devices[0].device]);
    rmSync(this.image, { force: true });
    this.devices = [this.devices[1], this.devices[0]];
    this.image = copy;
    execFileSync('losetup', [this.devices[0].device, copy]);
    this.mount();
  }

  /** Unmounts, detaches both loop devices and releases them, removes the images. Safe after a failed step. */
  destroy(): void {
    try {
      this.unmount();
    } catch {
      // not mounted
    }
    for (const drive of this.devices) drive.release(); // detaches what is attached
    rmSync(this.imageDir, { recursive: true, force: true });
  }

  private mount(): void {
    // commit=300: the journal is written only when something is fsynced (or after five minutes).
    execFileSync('mount', ['-t', 'ext4', '-o', 'commit=300', this.devices[0].device, this.mountPoint]);
  }

  private unmount(): void {
    execFileSync('umount', [this.mountPoint]);
  }
}
