// The interface every platform's drives are seen through: which drives there are, discs going in and out, what a
// disc is, and the eject. Linux block devices are one source; Windows drive letters and an import folder are others.
import type { DiscType, JobState } from '../../shared/index.js';

export interface DiscIdentity {
  volumeLabel: string;
  fsType?: string;
  discType: DiscType;
}

export interface DriveStatus {
  /** The drive's id as the hub knows it ("/dev/sr0", "D:"). */
  id: string;
  hasDisc: boolean;
}

export interface DriveSourceEvents {
  /** A disc settled in the drive. `initial` is true for a disc that was already there when watching began. */
  inserted: [driveId: string, initial: boolean];
  removed: [driveId: string];
  /** A drive appeared or vanished. */
  drivesChanged: [];
  /** The images waiting for a drive changed (an import folder). */
  waitingChanged: [driveId: string];
}

/** How a job on a drive ended, for a source that acts on it (an import folder moves the image on). */
export interface JobOutcome {
  state: JobState;
  message?: string | undefined;
}

export interface DriveSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): DriveStatus[];
  has(driveId: string): boolean;
  /** What tools read the drive's disc from ("/dev/sr0", "\\.\D:"). */
  devicePath(driveId: string): string;
  identify(driveId: string): Promise<DiscIdentity>;
  /** Opens the tray (or detaches the image, or skips it); rejects with a sentence people can read. */
  eject(driveId: string): Promise<void>;
  /** Names of the images waiting for the drive (an import folder); none for a drive with a tray. */
  waiting(driveId: string): string[];
  /** Whether a person takes the disc out of a tray: only then does a completed job end by opening it. */
  hasTray(driveId: string): boolean;
  /** Told when a job on the drive has ended, after it said so. */
  jobEnded(driveId: string, outcome: JobOutcome): Promise<void>;
  on<E extends keyof DriveSourceEvents>(event: E, listener: (...args: DriveSourceEvents[E]) => void): this;
}
