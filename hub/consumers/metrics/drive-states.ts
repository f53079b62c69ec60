// What every drive of a connected station is doing now, followed from the applied events, for the drive gauges:
// its disc, and the state and progress of the job running on it (a job's later updates name only the job, not its drive).
import type { JobState, StationEvent } from '../../../shared/index.js';
import { FINISHED_JOB_STATES } from '../../../shared/index.js';
import type { StationStore } from '../../store/station-store.js';

export const DRIVE_STATES = ['empty', 'disc', 'identifying', 'ready', 'ripping', 'transcoding'] as const;
export type DriveState = (typeof DRIVE_STATES)[number];

export interface Drive {
  station: string;
  drive: string;
  hasDisc: boolean;
  jobId?: number | undefined;
  jobState?: JobState | undefined;
  /** 0–1 while a job runs. */
  progress?: number | undefined;
}

export class DriveStates {
  private readonly drives = new Map<string, Drive>();
  /** Running job → the key of its drive. */
  private readonly jobs = new Map<number, string>();

  list(): Iterable<Drive> {
    return this.drives.values();
  }

  /** Every state of the drive with 1 for the one it is in. */
  stateValues(drive: Drive): [DriveState, number][] {
    const current: DriveState = drive.jobState !== undefined && !FINISHED_JOB_STATES.has(drive.jobState)
      ? drive.jobState as DriveState
      : drive.hasDisc ? 'disc' : 'empty';
    return DRIVE_STATES.map((state) => [state, state === current ? 1 : 0]);
  }

  /** A station (re)connected: its drives as its hello told the store, with the jobs still running on them. */
  seed(station: string, store: StationStore): void {
    this.forget(station);
    for (const record of store.listDrives()) {
      if (record.agent_id !== station) continue;
      const drive: Drive = { station, drive: record.drive_id, hasDisc: record.has_disc };
      const job = record.job_id === undefined ? undefined : store.getJob(record.job_id);
      if (job && !FINISHED_JOB_STATES.has(job.state)) {
        Object.assign(drive, { jobId: job.job_id, jobState: job.state, progress: ratio(job.progress_percent) });
        this.jobs.set(job.job_id, key(station, record.drive_id));
      }
      this.drives.set(key(station, record.drive_id), drive);
    }
  }

  /** A station went offline: what its drives do is no longer known. */
  forget(station: string): void {
    for (const [driveKey, drive] of this.drives) if (drive.station === station) this.drives.delete(driveKey);
    for (const [jobId, driveKey] of this.jobs) if (driveKey.startsWith(key(station, ''))) this.jobs.delete(jobId);
  }

  apply(event: StationEvent): void {
    if (event.type === 'drive_event') {
      if (event.event === 'waiting_changed') return;
      this.drive(event.agent_id, event.drive_id).hasDisc = event.event === 'inserted';
      return;
    }
    if (event.type !== 'job_update') return;
    if (event.drive_id !== undefined) {
      this.drive(event.agent_id, event.drive_id);
      this.jobs.set(event.job_id, key(event.agent_id, event.drive_id));
    }
    const driveKey = this.jobs.get(event.job_id);
    const drive = driveKey === undefined ? undefined : this.drives.get(driveKey);
    if (FINISHED_JOB_STATES.has(event.state)) {
      this.jobs.delete(event.job_id);
      if (drive?.jobId === event.job_id) Object.assign(drive, { jobId: undefined, jobState: undefined, progress: undefined });
      return;
    }
    if (!drive) return;
    drive.jobId = event.job_id;
    drive.jobState = event.state;
    drive.progress = ratio(event.progress_percent) ?? drive.progress;
  }

  private drive(station: string, driveId: string): Drive {
    const driveKey = key(station, driveId);
    let drive = this.drives.get(driveKey);
    if (!drive) {
      drive = { station, drive: driveId, hasDisc: false };
      this.drives.set(driveKey, drive);
    }
    return drive;
  }
}

function key(station: string, driveId: string): string {
  return `${station}\u0000${driveId}`;
}

function ratio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}
