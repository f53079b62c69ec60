// The rules that turn station events into state, written once and used by everyone who keeps state: the hub's
// store, the dashboard page's model and the agent's journal. They work on records shaped like the REST API's
// (a job, a title, a drive) and change them in place: an absent field in an event means "unchanged".
import type { DriveEvent, JobUpdate, TitlesDiscovered, TitleUpdate } from '../protocol/events.js';
import type { DriveRecord, JobRecord, TitleRecord } from '../protocol/records.js';
import { FINISHED_JOB_STATES, type JobState, type TitleState } from '../protocol/states.js';

/**
 * A job as the rules keep it: the REST record without what only the hub knows (whether its station is reachable);
 * a page that learnt of a job from live messages alone may not know when it started.
 */
export type KeptJob = Omit<JobRecord, 'reachable' | 'started_at' | 'updated_at'> & { started_at?: string; updated_at?: string };
export type KeptTitle = TitleRecord;
export type KeptDrive = Omit<DriveRecord, 'reachable'>;

/** Event fields that are about the message, not the thing it describes. */
const ENVELOPE = new Set(['type', 'rev', 'agent_id', 'job_id', 'title_id', 'drive_id', 'event']);

function merge(target: object, update: object, keep: ReadonlySet<string> = ENVELOPE): void {
  for (const [key, value] of Object.entries(update)) {
    if (value !== undefined && !keep.has(key)) (target as Record<string, unknown>)[key] = value;
  }
}

/** What a finished job no longer has: speed, bytes per second and time left belong to work in progress. */
const PROGRESS_ONLY_FIELDS = ['current_speed', 'eta_seconds', 'bytes_per_second'] as const;

export function isFinished(state: JobState): boolean {
  return FINISHED_JOB_STATES.has(state);
}

/** A job first heard of in `update` at `at` (ISO time). */
export function newJob(update: JobUpdate, at: string): KeptJob {
  return applyJobUpdate({ agent_id: update.agent_id, job_id: update.job_id, state: update.state, started_at: at, updated_at: at }, update, at);
}

/** A job's update: its fields merged; a finished job loses its progress fields and gets its end time, once. */
export function applyJobUpdate<J extends KeptJob>(job: J, update: JobUpdate, at: string): J {
  merge(job, update);
  if (update.drive_id !== undefined) job.drive_id = update.drive_id;
  job.updated_at = at;
  if (isFinished(job.state)) {
    for (const field of PROGRESS_ONLY_FIELDS) delete job[field];
    job.finished_at ??= at;
  } else {
    delete job.finished_at;
  }
  return job;
}

/** What a job learns from its titles' discovery: an audio CD's ids come with its tracks and belong to the job. */
export function applyDiscoveryToJob<J extends Pick<KeptJob, 'musicbrainz_disc_id' | 'freedb_disc_id'>>(job: J, event: TitlesDiscovered): J {
  if (event.musicbrainz_disc_id !== undefined) job.musicbrainz_disc_id = event.musicbrainz_disc_id;
  if (event.freedb_disc_id !== undefined) job.freedb_disc_id = event.freedb_disc_id;
  return job;
}

/** The state a discovered title starts in: waiting its turn when selected, else skipped. */
export function discoveredTitleState(selected: boolean): TitleState {
  return selected ? 'pending' : 'skipped';
}

/** A job's titles once discovered: each one told, over what was known of it, in the state its selection gives. */
export function applyTitlesDiscovered(existing: readonly KeptTitle[], event: TitlesDiscovered): KeptTitle[] {
  const before = new Map(existing.map((title) => [title.title_id, title]));
  return event.titles.map((title) => ({ ...before.get(title.title_id), ...title, state: discoveredTitleState(title.selected) }));
}

/** A title never discovered: what its update says is all there is, and 0 chapters is honest. */
export function newTitle(update: TitleUpdate): KeptTitle {
  return applyTitleUpdate({ title_id: update.title_id, state: update.state, selected: true, chapters: 0 }, update);
}

/** A title's update: its fields merged; `pending` and `skipped` are a selection change too. */
export function applyTitleUpdate<T extends KeptTitle>(title: T, update: TitleUpdate): T {
  merge(title, update);
  if (update.state === 'pending') title.selected = true;
  if (update.state === 'skipped') title.selected = false;
  return title;
}

/** A drive first heard of in `event`. */
export function newDrive(event: DriveEvent): KeptDrive {
  return applyDriveEvent({ agent_id: event.agent_id, drive_id: event.drive_id, has_disc: false }, event);
}

/**
 * A drive's event: a disc going in or out ends what it showed of the last one (`last_job_id`); a change of the
 * images waiting for it changes only those.
 */
export function applyDriveEvent<D extends KeptDrive>(drive: D, event: DriveEvent): D {
  if (event.waiting !== undefined) drive.waiting = event.waiting;
  else delete drive.waiting;
  if (event.waiting_count !== undefined) drive.waiting_count = event.waiting_count;
  else delete drive.waiting_count;
  if (event.event === 'waiting_changed') return drive;
  delete drive.last_job_id;
  if (event.event === 'inserted') {
    drive.has_disc = true;
    drive.volume_label = event.volume_label;
    if (event.disc_type !== undefined) drive.disc_type = event.disc_type;
    else delete drive.disc_type;
  } else {
    drive.has_disc = false;
    delete drive.volume_label;
    delete drive.disc_type;
  }
  return drive;
}

/**
 * Whether a job in this state has its drive. One waiting on the transcode farm (`transcoding`) has left it: its rips
 * are saved, and the drive takes the next disc.
 */
export function holdsDrive(state: JobState): boolean {
  return !isFinished(state) && state !== 'transcoding';
}

/**
 * A drive's job pointers after its job's update: the job while it has the drive; when it leaves it (it ended, or its
 * titles went to the transcode farm) with the disc still in, the last job. A job takes the drive when it is free,
 * already its own, or its pointer names a job that has left it (`isOver`).
 */
export function linkDriveToJob<D extends KeptDrive>(drive: D, job: { job_id: number; state: JobState }, isOver: (jobId: number) => boolean): D {
  if (!holdsDrive(job.state)) {
    if (drive.job_id === job.job_id) {
      delete drive.job_id;
      if (drive.has_disc) drive.last_job_id = job.job_id;
    }
  } else if (drive.job_id === undefined || drive.job_id === job.job_id || isOver(drive.job_id)) {
    drive.job_id = job.job_id;
  }
  return drive;
}
