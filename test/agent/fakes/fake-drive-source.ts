// Drives held in memory: a test puts discs in and takes them out, and sees the ejects the agent asked for. The agent
// sees it as any platform's drive source.
import { EventEmitter } from 'node:events';
import type { DiscIdentity, DriveSource, DriveSourceEvents, DriveStatus, JobOutcome } from '../../../agent/drives/drive-source.js';

interface FakeDrive {
  disc: DiscIdentity | undefined;
  /** What tools read the disc from: an image file, for kinds that read the disc itself. */
  device: string;
}

export class FakeDriveSource extends EventEmitter<DriveSourceEvents> implements DriveSource {
  private readonly drives = new Map<string, FakeDrive>();
  readonly ejects: string[] = [];
  /** Makes eject fail with this message. */
  ejectError: string | undefined;

  constructor(driveIds: string[]) {
    super();
    for (const id of driveIds) this.drives.set(id, { disc: undefined, device: id });
  }

  async start(): Promise<void> {
    for (const [id, drive] of this.drives) if (drive.disc) this.emit('inserted', id, true);
  }

  async stop(): Promise<void> {}

  list(): DriveStatus[] {
    return [...this.drives].map(([id, drive]) => ({ id, hasDisc: drive.disc !== undefined }));
  }

  has(driveId: string): boolean {
    return this.drives.has(driveId);
  }

  devicePath(driveId: string): string {
    return this.drive(driveId).device;
  }

  async identify(driveId: string): Promise<DiscIdentity> {
    return this.drive(driveId).disc ?? { volumeLabel: '', discType: 'unknown' };
  }

  readonly ended: { driveId: string; outcome: JobOutcome }[] = [];

  waiting(): string[] {
    return [];
  }

  hasTray(): boolean {
    return true;
  }

  async jobEnded(driveId: string, outcome: JobOutcome): Promise<void> {
    this.ended.push({ driveId, outcome });
  }

  async eject(driveId: string): Promise<void> {
    if (this.ejectError) throw new Error(this.ejectError);
    this.ejects.push(driveId);
    this.remove(driveId);
  }

  /** A disc goes in; `device` is what tools read (an image file for a data disc). */
  insert(driveId: string, disc: DiscIdentity, device = driveId): void {
    const drive = this.drive(driveId);
    drive.disc = disc;
    drive.device = device;
    this.emit('inserted', driveId, false);
  }

  remove(driveId: string): void {
    const drive = this.drive(driveId);
    if (!drive.disc) return;
    drive.disc = undefined;
    this.emit('removed', driveId);
  }

  private drive(driveId: string): FakeDrive {
    const drive = this.drives.get(driveId);
    if (!drive) throw new Error(`no drive ${driveId}`);
    return drive;
  }
}
