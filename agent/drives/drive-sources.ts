// Several drive sources seen as one (the station's block devices and its import folder): each drive belongs to the
// source that lists it, and every event is passed on as it is.
import { EventEmitter } from 'node:events';
import type { DiscIdentity, DriveSource, DriveSourceEvents, DriveStatus, JobOutcome } from './drive-source.js';

export class DriveSources extends EventEmitter<DriveSourceEvents> implements DriveSource {
  constructor(private readonly sources: readonly DriveSource[]) {
    super();
    for (const source of sources) {
      source.on('inserted', (driveId, initial) => this.emit('inserted', driveId, initial));
      source.on('removed', (driveId) => this.emit('removed', driveId));
      source.on('drivesChanged', () => this.emit('drivesChanged'));
      source.on('waitingChanged', (driveId) => this.emit('waitingChanged', driveId));
    }
  }

  async start(): Promise<void> {
    for (const source of this.sources) await source.start();
  }

  async stop(): Promise<void> {
    for (const source of this.sources) await source.stop();
  }

  list(): DriveStatus[] {
    return this.sources.flatMap((source) => source.list());
  }

  has(driveId: string): boolean {
    return this.sources.some((source) => source.has(driveId));
  }

  devicePath(driveId: string): string {
    return this.owner(driveId).devicePath(driveId);
  }

  identify(driveId: string): Promise<DiscIdentity> {
    return this.owner(driveId).identify(driveId);
  }

  eject(driveId: string): Promise<void> {
    return this.owner(driveId).eject(driveId);
  }

  waiting(driveId: string): string[] {
    return this.owner(driveId).waiting(driveId);
  }

  hasTray(driveId: string): boolean {
    return this.owner(driveId).hasTray(driveId);
  }

  jobEnded(driveId: string, outcome: JobOutcome): Promise<void> {
    return this.owner(driveId).jobEnded(driveId, outcome);
  }

  private owner(driveId: string): DriveSource {
    const source = this.sources.find((candidate) => candidate.has(driveId));
    if (!source) throw new Error(`No drive ${driveId}`);
    return source;
  }
}
