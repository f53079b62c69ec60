// Runs one job on one drive: identify the disc's titles, pick those long enough, rip each into the disc's own
// folder, and report every step. A job ends `completed` only when every selected title produced a non-empty file.
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import type { Logger } from 'pino';
import type { DiscType, JobState, JobUpdate, StationEvent, TitleUpdate } from '../../shared/index.js';
import { RipError, type DiscTitle, type Ripper } from '../rippers/ripper.js';
import { pathInside, safeName, titleFileName } from './naming.js';
import { RateMeter, formatSpeed, jobProgress } from './progress-math.js';

export interface JobSpec {
  agentId: string;
  jobId: number;
  drive: string;
  volumeLabel: string;
  discType: DiscType;
}

export interface JobRunnerOptions {
  ripper: Ripper;
  outputDir: string;
  minTitleSeconds: number;
  /** Least time between two progress updates of the same job. */
  progressIntervalMs: number;
  emit: (event: StationEvent) => void;
  logger: Logger;
}

/** Why a job was stopped from outside; becomes its final state and message. */
export interface StopReason {
  state: 'cancelled' | 'failed';
  message: string;
}

const PARTIAL_SUFFIX = '.part';

export class JobRunner {
  private readonly abort = new AbortController();
  private stopReason: StopReason | undefined;
  private lastProgressAt = -Infinity;
  /** Seconds of media ripped per second, for tools that report no speed of their own. */
  private readonly mediaRate = new RateMeter(10_000);
  /** Titles that got any update; the others are still pending when a job stops. */
  private readonly touchedTitles = new Set<number>();
  private result: Promise<JobState> | undefined;

  constructor(readonly spec: JobSpec, private readonly options: JobRunnerOptions) {}

  /** Starts the job; the promise settles with its final state and never rejects. */
  run(): Promise<JobState> {
    this.result ??= this.execute().catch((error: unknown) => {
      this.options.logger.error({ err: error, job: this.spec.jobId }, 'Job failed unexpectedly');
      this.updateJob({ state: 'failed', error_message: 'Internal error on the station; its log has the details' });
      return 'failed' as const;
    });
    return this.result;
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.abort.abort(reason);
  }

  private async execute(): Promise<JobState> {
    const { spec, options } = this;
    const log = options.logger.child({ job: spec.jobId, drive: spec.drive });
    this.updateJob({ state: 'identifying', drive_id: spec.drive, volume_label: spec.volumeLabel, disc_type: spec.discType });

    const missing = await options.ripper.checkInstalled();
    if (missing) return this.fail(missing, log);

    let titles: DiscTitle[];
    try {
      titles = (await options.ripper.scan(spec.drive, this.abort.signal)).titles;
    } catch (error) {
      if (this.stopReason) return this.finishStopped([], log);
      return this.fail(error instanceof RipError ? error.message : 'Could not read the disc', log, error);
    }
    const selected = titles.filter((title) => title.durationSeconds >= options.minTitleSeconds);
    this.emit({
      type: 'titles_discovered', agent_id: spec.agentId, job_id: spec.jobId,
      titles: titles.map((title) => ({
        title_id: title.titleId,
        duration_seconds: title.durationSeconds,
        chapters: title.chapters,
        expected_size_bytes: title.expectedSizeBytes,
        selected: selected.includes(title),
        ...(title.name ? { name: title.name } : {}),
      })),
    });
    log.info({ titles: titles.length, selected: selected.length }, 'Disc scanned');
    if (selected.length === 0) {
      return this.fail(`No title is at least ${options.minTitleSeconds} s long (the disc has ${titles.length})`, log);
    }

    let folder: string;
    try {
      folder = await this.claimFolder();
    } catch (error) {
      return this.fail(`Cannot write to the output directory: ${describeFsError(error)}`, log, error);
    }
    this.updateJob({
      state: 'ripping', total_titles: selected.length, progress_percent: 0, output_dir: relative(options.outputDir, folder),
    });

    const errors: string[] = [];
    for (const [index, title] of selected.entries()) {
      if (this.stopReason) break;
      const error = await this.ripOne(title, index, selected, folder, log);
      if (error) errors.push(error);
    }

    if (this.stopReason) return this.finishStopped(selected, log, folder);
    if (errors.length > 0) {
      await removeIfEmpty(folder);
      const summary = errors.length === selected.length ? 'No title could be ripped' : `${errors.length} of ${selected.length} titles failed`;
      return this.fail(`${summary}: ${errors[0]}`, log);
    }
    this.updateJob({ state: 'completed', progress_percent: 100, eta_seconds: 0 });
    log.info({ folder }, 'Job completed');
    return 'completed';
  }

  /** Rips one title; returns the error message people should see if it failed. */
  private async ripOne(title: DiscTitle, index: number, selected: DiscTitle[], folder: string, log: Logger): Promise<string | undefined> {
    const { spec, options } = this;
    const finalFile = pathInside(folder, titleFileName(spec.volumeLabel, title.titleId));
    const partialFile = finalFile + PARTIAL_SUFFIX;
    let expected = title.expectedSizeBytes;
    this.updateTitle(title, { state: 'ripping', match_progress: 0, duration_seconds: title.durationSeconds, expected_size_bytes: expected });
    this.updateJob({ state: 'ripping', current_title: title.titleId, progress_percent: jobProgress(selected, index, 0).percent });
    this.lastProgressAt = -Infinity;
    try {
      await options.ripper.ripTitle({
        device: spec.drive,
        title,
        outputFile: partialFile,
        signal: this.abort.signal,
        onLog: (line) => log.trace({ tool: options.ripper.toolName }, line),
        onProgress: (progress) => {
          const now = performance.now();
          const job = jobProgress(selected, index, progress.fraction);
          this.mediaRate.add(now, job.mediaDoneSeconds);
          if (now - this.lastProgressAt < options.progressIntervalMs) return;
          this.lastProgressAt = now;
          void stat(partialFile).then((s) => s.size, () => undefined).then((written) => {
            if (this.stopReason || this.lastProgressAt !== now) return;
            // Once a few percent are done, the size so far says more about the final size than any guess.
            if (written && progress.fraction >= 0.05) expected = Math.round(written / progress.fraction);
            this.updateTitle(title, {
              state: 'ripping',
              match_progress: round2(progress.fraction * 100),
              expected_size_bytes: expected,
              ...(written !== undefined ? { actual_size_bytes: written } : {}),
            });
            const speed = progress.speed ?? this.mediaRate.rate();
            const speedText = formatSpeed(speed);
            this.updateJob({
              state: 'ripping',
              progress_percent: job.percent,
              current_title: title.titleId,
              ...(speed && speedText ? { current_speed: speedText, eta_seconds: Math.round(job.mediaLeftSeconds / speed) } : {}),
            });
          });
        },
      });
      await rename(partialFile, finalFile);
      const size = (await stat(finalFile)).size;
      this.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, expected_size_bytes: size, output_filename: basename(finalFile) });
      log.info({ title: title.titleId, file: finalFile, bytes: size }, 'Title ripped');
      return undefined;
    } catch (error) {
      await rm(partialFile, { force: true });
      if (this.stopReason) {
        this.updateTitle(title, { state: 'cancelled', error: this.stopReason.message });
        return this.stopReason.message;
      }
      const message = error instanceof RipError ? error.message : `Could not rip title ${title.titleId}: ${describeFsError(error)}`;
      log.warn({ title: title.titleId, err: error instanceof RipError ? error.detail : error }, message);
      this.updateTitle(title, { state: 'failed', error: message });
      return message;
    }
  }

  private async claimFolder(): Promise<string> {
    await mkdir(this.options.outputDir, { recursive: true });
    const base = safeName(this.spec.volumeLabel);
    for (let attempt = 1; ; attempt++) {
      const folder = pathInside(this.options.outputDir, attempt === 1 ? base : `${base} (${attempt})`);
      try {
        await mkdir(folder); // not recursive: failing on an existing folder is what claims a fresh one
        return folder;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  private async finishStopped(selected: DiscTitle[], log: Logger, folder?: string): Promise<JobState> {
    const reason = this.stopReason as StopReason;
    for (const title of selected) {
      // Titles never started are cancelled too, so none stays pending.
      if (!this.touchedTitles.has(title.titleId)) this.updateTitle(title, { state: 'cancelled', error: reason.message });
    }
    if (folder) await removeIfEmpty(folder);
    this.updateJob({ state: reason.state, error_message: reason.message });
    log.info({ reason: reason.message }, 'Job stopped');
    return reason.state;
  }

  private fail(message: string, log: Logger, error?: unknown): JobState {
    log.warn({ err: error instanceof RipError ? error.detail : error }, `Job failed: ${message}`);
    this.updateJob({ state: 'failed', error_message: message.slice(0, 500) });
    return 'failed';
  }

  private updateTitle(title: DiscTitle, fields: Omit<TitleUpdate, 'type' | 'agent_id' | 'job_id' | 'title_id'>): void {
    this.touchedTitles.add(title.titleId);
    this.emit({ type: 'title_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, title_id: title.titleId, ...fields });
  }

  private updateJob(fields: Omit<JobUpdate, 'type' | 'agent_id' | 'job_id'>): void {
    this.emit({ type: 'job_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, ...fields });
  }

  private emit(event: StationEvent): void {
    this.options.emit(event);
  }
}

async function removeIfEmpty(folder: string): Promise<void> {
  if ((await readdir(folder).catch(() => ['?'])).length === 0) await rmdir(folder).catch(() => undefined);
}

/** A file-system error in words, without the paths and internals of the station. */
function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC': return 'the disk is full';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOENT': return 'a file or folder is missing';
    default: return code ? `error ${code}` : 'unexpected error';
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
