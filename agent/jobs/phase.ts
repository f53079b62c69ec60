// What a job is made of: phases with one job each (scan, rip, image, verify…), run in order by the JobRunner.
// A disc kind is a plan of them; a new kind or step is a new phase file, not an edit of the runner.
import type { ErrorCode, JobState, JobUpdate } from '../../shared/index.js';
import { RipError } from '../tools/rip-error.js';
import type { JobContext } from './job-context.js';

/** The states a job is in while a phase works; the runner sets it, so it never comes from a log sentence. */
export type WorkingState = Extract<JobState, 'identifying' | 'ready' | 'ripping' | 'transcoding'>;

export interface Step {
  /** For logs and tests: "scan titles", "eject disc". */
  readonly name: string;
  /** Does its work; throws JobFailure (or RipError) to fail the job, or the job's stop reason when stopped. */
  run(job: JobContext): Promise<void>;
}

/** A step of the job's work, done in a state of its own. */
export interface Phase extends Step {
  readonly state: WorkingState;
}

/** Something a plan needs installed: a ripper, a transcoder, an imager. */
export interface Tool {
  checkInstalled(): Promise<string | undefined>;
}

export interface Plan {
  /** Checked before the first phase: a missing one fails the job at once with its own words. */
  readonly tools: readonly Tool[];
  /** Run in order; the job completes when the last one returns. */
  readonly phases: readonly Phase[];
  /** Run once the job has completed and said so: what a finished disc does next (the tray opens). */
  readonly afterCompleted: readonly Step[];
}

/** Fails the job with a message for people; `fields` adds machine-readable facts to its final job_update. */
export class JobFailure extends RipError {
  override name = 'JobFailure';
  constructor(message: string, readonly fields: Partial<Pick<JobUpdate, 'unreadable_bytes'>> = {}, detail?: string, code?: ErrorCode) {
    super(message, detail, code);
  }
}

/** How one title ended badly: the sentence people read, its code, and whether no later title can succeed either. */
export interface TitleFailure {
  error: string;
  code?: ErrorCode | undefined;
  fatal?: true;
}

/** The failure of a job some of whose titles failed: how many, and the first reason (and its code). */
export function titlesFailure(failures: readonly TitleFailure[], selectedCount: number): JobFailure {
  const summary = failures.length >= selectedCount ? 'No title could be finished' : `${failures.length} of ${selectedCount} titles failed`;
  return new JobFailure(`${summary}: ${failures[0]?.error ?? 'unknown error'}`, {}, undefined, failures[0]?.code);
}
