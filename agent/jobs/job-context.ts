// What the phases of one job share: the disc it is for, its state and titles, its folder and files, and the ways to
// tell people about it (job and title updates, the job's log) and to watch its tools. The runner owns its life.
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  FINISHED_JOB_STATES, type DiscType, type ErrorCode, type JobState, type JobUpdate, type LinkEvent, type TitleUpdate,
} from '../../shared/index.js';
import type { DiscTitle } from '../rippers/ripper.js';
import { fullDiskMegabytes } from '../tools/disk-space.js';
import { syncFolder } from '../../shared/files/partial-file.js';
import { RipError } from '../tools/rip-error.js';
import { JobLog } from './job-log.js';
import type { TitleFailure } from './phase.js';
import { pathInside, safeName } from './naming.js';
import { ProgressReporter } from './progress-reporter.js';
import { TitleChoice } from './title-selection.js';
import { watched } from './watchdog.js';

export interface JobSpec {
  agentId: string;
  jobId: number;
  /** The drive's id as the hub knows it ("/dev/sr0", "D:"). */
  drive: string;
  /** What tools read the disc from ("/dev/sr0", "\\.\D:"). */
  device: string;
  volumeLabel: string;
  discType: DiscType;
  /** Go on as soon as the disc is identified; otherwise wait in `ready` for "rip now". */
  autoRip: boolean;
  /** Titles to rip instead of those the rule picks (a person's choice). */
  selection?: readonly number[] | undefined;
}

export interface JobEnvironment {
  outputDir: string;
  minTitleSeconds: number;
  /** Least time between two progress updates of the same job. */
  progressIntervalMs: number;
  /** Work whose progress has not moved for this long is stopped. */
  stallMs: number;
  /** `progressOnly` marks updates that only move percentages, speed or ETA (latest wins on the way to the hub). */
  emit: (event: LinkEvent, progressOnly: boolean) => void;
  /** Opens the drive's tray. */
  eject: () => Promise<void>;
  logger: Logger;
}

/** Why a job was stopped from outside; becomes its final state, message and code. */
export interface StopReason {
  state: 'cancelled' | 'failed' | 'interrupted';
  message: string;
  code?: ErrorCode;
}

type JobFieldsUpdate = Omit<JobUpdate, 'type' | 'agent_id' | 'job_id' | 'state'>;
type TitleFieldsUpdate = Omit<TitleUpdate, 'type' | 'agent_id' | 'job_id' | 'title_id'>;

export class JobContext {
  state: JobState = 'identifying';
  /** What the disc is, as the best-informed backend said (a ripper knows a Blu-ray better than a file-system look). */
  discType: DiscType;
  readonly titles = new TitleChoice();
  /** The job's own folder in the output directory, once claimed. */
  folder: string | undefined;
  /** The finished file of each title, for the phases after the one that made it. */
  readonly files = new Map<number, string>();
  /** Facts the final job_update carries when the job completes (an image's checksum). */
  readonly results: Partial<Pick<JobUpdate, 'sha256'>> = {};
  /** The reason of a job that ended without completing. */
  errorMessage: string | undefined;
  /** Its titles went to the hub's transcode queue: the station's part is done, and the hub ends the job. */
  handedOff = false;
  readonly log: Logger;
  readonly jobLog: JobLog;
  readonly progress: ProgressReporter;
  private readonly abort = new AbortController();
  private stopped: StopReason | undefined;
  private releaseRipNow: (() => void) | undefined;

  constructor(readonly spec: JobSpec, readonly environment: JobEnvironment) {
    this.discType = spec.discType;
    this.log = environment.logger.child({ job: spec.jobId, drive: spec.drive });
    this.jobLog = new JobLog((lines) => this.emit({ type: 'job_log', agent_id: spec.agentId, job_id: spec.jobId, lines }));
    // A reading still on its way when the job stopped, or handed its titles to the farm, is not told.
    this.progress = new ProgressReporter(environment.progressIntervalMs, (fields) => {
      if (!this.stopped && !this.handedOff) this.updateJob(fields, true);
    });
  }

  get stopReason(): StopReason | undefined {
    return this.stopped;
  }

  /** Aborted when the job is stopped: every tool the job runs listens to it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Stops the job with this reason; false when it had already finished or been stopped. */
  stop(reason: StopReason): boolean {
    if (this.stopped || FINISHED_JOB_STATES.has(this.state)) return false;
    this.stopped = reason;
    this.abort.abort(reason);
    this.releaseRipNow?.();
    return true;
  }

  /** Waits for "rip now" (or a stop). */
  async waitForRipNow(): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => { this.releaseRipNow = resolve; });
    this.releaseRipNow = undefined;
  }

  /** Lets a job waiting for "rip now" go on; false when it is not waiting. */
  ripNow(): boolean {
    if (!this.releaseRipNow) return false;
    this.releaseRipNow();
    return true;
  }

  get waitingForRipNow(): boolean {
    return this.releaseRipNow !== undefined;
  }

  /** Runs a tool's work under the stall watchdog. */
  watch<T>(what: string, work: (signal: AbortSignal, alive: () => void) => Promise<T>): Promise<T> {
    return watched({ what, stallMs: this.environment.stallMs, jobSignal: this.signal, logger: this.log }, work);
  }

  /** Claims a fresh folder named after the disc ("Label", else "Label (2)"…) for this job's files. */
  async claimFolder(name = this.spec.volumeLabel): Promise<string> {
    const { outputDir } = this.environment;
    try {
      await mkdir(outputDir, { recursive: true });
      const base = safeName(name);
      for (let attempt = 1; ; attempt++) {
        const folder = pathInside(outputDir, attempt === 1 ? base : `${base} (${attempt})`);
        try {
          await mkdir(folder); // not recursive: failing on an existing folder is what claims a fresh one
          await syncFolder(outputDir); // the folder must outlast a power cut as surely as the files put in it
          this.folder = folder;
          return folder;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
    } catch (error) {
      throw new RipError(`Cannot write to the output directory: ${describeFsError(error)}`, String(error));
    }
  }

  /** Removes the job's folder when nothing was left in it. */
  async removeFolderIfEmpty(): Promise<void> {
    const folder = this.folder;
    if (folder && (await readdir(folder).catch(() => ['?'])).length === 0) await rmdir(folder).catch(() => undefined);
  }

  /**
   * Marks a title failed (or cancelled, when the job was stopped) and words why. A full disk is fatal: no later
   * title can succeed either.
   */
  async titleFailed(title: DiscTitle, error: unknown): Promise<TitleFailure> {
    if (this.stopped) {
      this.updateTitle(title, { state: 'cancelled', error: this.stopped.message, ...(this.stopped.code ? { error_code: this.stopped.code } : {}) });
      return { error: this.stopped.message, code: this.stopped.code };
    }
    const freeMb = await fullDiskMegabytes(this.folder);
    const full = freeMb !== undefined;
    const message = full
      ? `The output disk is full (${freeMb} MB free)`
      : error instanceof RipError ? error.message : `Could not finish title ${title.titleId}: ${describeFsError(error)}`;
    this.log[full ? 'error' : 'warn']({ title: title.titleId, freeMb, err: error instanceof RipError ? error.detail : error }, message);
    const code = full ? 'output_full' : error instanceof RipError ? error.code : undefined;
    this.jobLog.write('error', `Title ${title.titleId}: ${message}`);
    this.updateTitle(title, { state: 'failed', error: message, ...(code ? { error_code: code } : {}) });
    return full ? { error: message, code, fatal: true } : { error: message, code };
  }

  toolLog(tool: string, line: string): void {
    this.log.trace({ tool }, line);
    this.jobLog.tool(tool, line);
  }

  /** Tells the job's current state with these fields. */
  updateJob(fields: JobFieldsUpdate, progressOnly = false): void {
    this.emit({ type: 'job_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, state: this.state, ...fields }, progressOnly);
  }

  /** Moves the job to a final state and tells it. */
  finish(state: JobState, fields: JobFieldsUpdate = {}): void {
    this.state = state;
    this.errorMessage = fields.error_message;
    this.updateJob(fields);
  }

  updateTitle(title: DiscTitle, fields: TitleFieldsUpdate, progressOnly = false): void {
    this.emit({ type: 'title_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, title_id: title.titleId, ...fields }, progressOnly);
  }

  emit(event: LinkEvent, progressOnly = false): void {
    this.environment.emit(event, progressOnly);
  }
}

/** A file-system error in words, without the paths and internals of the station. */
function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC': return 'the disk is full';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOENT': return 'a file or folder is missing';
    case 'EIO': return 'an input/output error';
    default: return code ? `error ${code}` : 'unexpected error';
  }
}
