// Runs one job on one drive: identify the disc's titles, pick those long enough, rip each into the disc's own
// folder, optionally transcode them, and report every step. A job ends `completed` only when every selected title
// produced a non-empty file that passed its checks. Each phase has a stall watchdog: work that stops moving is ended.
import { mkdir, readdir, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import type { Logger } from 'pino';
import { FINISHED_JOB_STATES, type DiscType, type JobState, type JobUpdate, type StationEvent, type TitleUpdate } from '../../shared/index.js';
import { RipError, type DiscTitle, type Ripper } from '../rippers/ripper.js';
import type { TranscodeProfile, Transcoder } from '../transcoders/transcoder.js';
import { discoveredTitle } from './discovered-title.js';
import { JobLog } from './job-log.js';
import { clock, humanBytes } from './human-units.js';
import { pathInside, safeName, titleFileName } from './naming.js';
import { RateMeter, formatSpeed, jobProgress, type TitleSpan } from './progress-math.js';

export interface JobSpec {
  agentId: string;
  jobId: number;
  drive: string;
  volumeLabel: string;
  discType: DiscType;
  /** Rip as soon as the titles are known; otherwise wait in `ready` for ripNow(). */
  autoRip: boolean;
  /** Titles to rip instead of those long enough (a person's choice). */
  selection?: readonly number[] | undefined;
}

export interface TranscodeStep {
  transcoder: Transcoder;
  profile: TranscodeProfile;
  /** Keep the lossless rip beside the transcoded file. */
  keepRip: boolean;
}

export interface JobRunnerOptions {
  ripper: Ripper;
  transcode?: TranscodeStep;
  outputDir: string;
  minTitleSeconds: number;
  /** Least time between two progress updates of the same job. */
  progressIntervalMs: number;
  /** A phase (scan, rip, transcode) whose progress has not moved for this long is stopped. */
  stallMs: number;
  /** `progressOnly` marks updates that only move percentages, speed or ETA (latest wins on the way to the hub). */
  emit: (event: StationEvent, progressOnly: boolean) => void;
  logger: Logger;
}

/** Why a job was stopped from outside; becomes its final state and message. */
export interface StopReason {
  state: 'cancelled' | 'failed' | 'interrupted';
  message: string;
}

class Stalled extends Error {}

const PARTIAL_SUFFIX = '.part';
/** Below this much free space the output disk counts as full. */
const FULL_DISK_BYTES = 64 * 1024 * 1024;

export class JobRunner {
  private readonly abort = new AbortController();
  private stopReason: StopReason | undefined;
  private lastProgressAt = -Infinity;
  /** Seconds of media processed per second, for tools that report no speed of their own. */
  private mediaRate = new RateMeter(10_000);
  /** How far the current phase had got at its last sign of life, in seconds of media. */
  private lastMediaDone = 0;
  private phaseState: 'ripping' | 'transcoding' = 'ripping';
  private result: Promise<JobState> | undefined;
  private readonly log: Logger;
  private readonly jobLog: JobLog;
  /** The disc's titles once scanned, and the ids of those to rip: a person may change them until each starts. */
  private titles: DiscTitle[] = [];
  private readonly selection = new Set<number>();
  /** Titles whose rip has begun (or ended): their selection can no longer change. */
  private readonly started = new Set<number>();
  private state: JobState = 'identifying';
  private releaseReady: (() => void) | undefined;

  constructor(readonly spec: JobSpec, private readonly options: JobRunnerOptions) {
    this.log = options.logger.child({ job: spec.jobId, drive: spec.drive });
    this.jobLog = new JobLog((lines) => this.emit({ type: 'job_log', agent_id: spec.agentId, job_id: spec.jobId, lines }));
  }

  get currentState(): JobState {
    return this.state;
  }

  /** Starts ripping a job that waits in `ready`, with `titles` as the selection if given. */
  ripNow(titles?: readonly number[]): string | undefined {
    if (this.state !== 'ready' || !this.releaseReady) return 'The job is not waiting to rip';
    if (titles) {
      const refusal = this.selectTitles(titles);
      if (refusal) return refusal;
    }
    this.releaseReady();
    return undefined;
  }

  /** Changes which titles to rip. Returns why not, when it cannot. */
  selectTitles(titles: readonly number[]): string | undefined {
    if (FINISHED_JOB_STATES.has(this.state) || this.state === 'transcoding') return 'The job has finished ripping; its selection can no longer change';
    if (this.titles.length === 0) return 'The disc has not been scanned yet';
    const known = new Set(this.titles.map((title) => title.titleId));
    const unknown = titles.filter((id) => !known.has(id));
    if (unknown.length > 0) return `The disc has no title ${unknown.join(', ')}`;
    const wanted = new Set(titles);
    for (const title of this.titles) {
      if (this.started.has(title.titleId) || wanted.has(title.titleId) === this.selection.has(title.titleId)) continue;
      if (wanted.has(title.titleId)) this.selection.add(title.titleId);
      else this.selection.delete(title.titleId);
      this.updateTitle(title, { state: wanted.has(title.titleId) ? 'pending' : 'skipped' });
    }
    this.updateJob({ state: this.state, total_titles: this.selection.size });
    this.jobLog.write('info', `Selection changed: titles ${[...this.selection].join(', ') || 'none'}`);
    return undefined;
  }

  /** Starts the job; the promise settles with its final state and never rejects. */
  run(): Promise<JobState> {
    this.result ??= this.execute().catch((error: unknown) => {
      this.log.error({ err: error }, 'Job failed unexpectedly');
      this.updateJob({ state: 'failed', error_message: 'Internal error on the station; its log has the details' });
      return 'failed' as const;
    });
    return this.result;
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.abort.abort(reason);
    this.releaseReady?.();
  }

  private async execute(): Promise<JobState> {
    const { spec, options } = this;
    this.updateJob({ state: 'identifying', drive_id: spec.drive, volume_label: spec.volumeLabel, disc_type: spec.discType });

    const missing = (await options.ripper.checkInstalled()) ?? (await options.transcode?.transcoder.checkInstalled());
    if (missing) return this.fail(missing);

    let discType = spec.discType;
    this.jobLog.write('info', `Reading the titles of "${spec.volumeLabel || 'unnamed disc'}" in ${spec.drive} with ${options.ripper.toolName}`);
    try {
      const scan = await this.phase('The disc scan', (signal, alive) => options.ripper.scan({
        device: spec.drive, signal, onLog: (line) => { alive(); this.toolLog(options.ripper.toolName, line); },
      }));
      this.titles = scan.titles;
      if (scan.discType && scan.discType !== 'unknown') discType = scan.discType;
    } catch (error) {
      if (this.stopReason) return this.finishStopped();
      return this.fail(error instanceof RipError ? error.message : 'Could not read the disc', error);
    }
    const titles = this.titles;
    const known = new Set(titles.map((title) => title.titleId));
    const initial = spec.selection?.filter((id) => known.has(id))
      ?? titles.filter((title) => title.durationSeconds >= options.minTitleSeconds).map((title) => title.titleId);
    for (const id of initial) this.selection.add(id);
    this.emit({
      type: 'titles_discovered', agent_id: spec.agentId, job_id: spec.jobId,
      titles: titles.map((title) => discoveredTitle(title, this.selection.has(title.titleId))),
    });
    this.log.info({ titles: titles.length, selected: this.selection.size, discType }, 'Disc scanned');
    this.jobLog.write('info', `Found ${titles.length} title(s); ${this.selection.size} selected (at least ${options.minTitleSeconds} s long or chosen)`);

    if (!spec.autoRip) {
      this.updateJob({ state: 'ready', total_titles: this.selection.size, ...(discType !== spec.discType ? { disc_type: discType } : {}) });
      this.jobLog.write('info', 'Waiting for "rip now"');
      await new Promise<void>((resolve) => { this.releaseReady = resolve; });
      this.releaseReady = undefined;
      if (this.stopReason) return this.finishStopped();
    }
    if (this.selection.size === 0) {
      return this.fail(`No title is at least ${options.minTitleSeconds} s long (the disc has ${titles.length})`);
    }

    let folder: string;
    try {
      folder = await this.claimFolder();
    } catch (error) {
      return this.fail(`Cannot write to the output directory: ${describeFsError(error)}`, error);
    }
    this.updateJob({
      state: 'ripping', total_titles: this.selection.size, progress_percent: 0, output_dir: relative(options.outputDir, folder),
      // The ripper knows the disc better than a look at its file system (a Blu-ray's UDF, an unusual DVD).
      ...(discType !== spec.discType ? { disc_type: discType } : {}),
    });

    const ripped = new Map<DiscTitle, string>();
    const errors: string[] = [];
    // The selection may change while ripping: each round takes the next selected title not yet started.
    for (let title = this.nextTitle(); title && !this.stopReason; title = this.nextTitle()) {
      this.started.add(title.titleId);
      const order = this.selectedTitles();
      const outcome = await this.ripOne(title, order.indexOf(title), order, folder, discType);
      if (typeof outcome === 'string') ripped.set(title, outcome);
      else errors.push(outcome.error);
      if (typeof outcome !== 'string' && outcome.fatal) break;
    }
    const total = this.selectedTitles().length;
    if (this.stopReason) return this.finishStopped(folder);
    if (errors.length > 0) return this.failTitles(errors, total, folder);
    if (ripped.size === 0) return this.fail('No title was left selected to rip');

    if (options.transcode) {
      const transcodeErrors = await this.transcodeAll(options.transcode, ripped, folder);
      if (this.stopReason) return this.finishStopped(folder);
      if (transcodeErrors.length > 0) return this.failTitles(transcodeErrors, total, folder);
    }

    // The log first: whoever sees the final state may read the log at once.
    this.jobLog.write('info', `Done: ${ripped.size} title(s) in ${relative(options.outputDir, folder)}`);
    this.jobLog.flush();
    this.updateJob({ state: 'completed', progress_percent: 100, eta_seconds: 0 });
    this.log.info({ folder }, 'Job completed');
    return 'completed';
  }

  private selectedTitles(): DiscTitle[] {
    return this.titles.filter((title) => this.selection.has(title.titleId));
  }

  private nextTitle(): DiscTitle | undefined {
    return this.selectedTitles().find((title) => !this.started.has(title.titleId));
  }

  /** Rips one title; returns its file, or the error people should see (fatal when no later title can succeed). */
  private async ripOne(
    title: DiscTitle, index: number, selected: DiscTitle[], folder: string, discType: DiscType,
  ): Promise<string | { error: string; fatal?: true }> {
    const { spec, options } = this;
    const finalFile = pathInside(folder, titleFileName(spec.volumeLabel, title.titleId));
    const partialFile = finalFile + PARTIAL_SUFFIX;
    let expected = title.expectedSizeBytes;
    this.updateTitle(title, { state: 'ripping', match_progress: 0, duration_seconds: title.durationSeconds, expected_size_bytes: expected });
    this.jobLog.write('info', `Ripping title ${title.titleId}${title.name ? ` "${title.name}"` : ''} (${clock(title.durationSeconds)}, ${title.chapters} chapters)`);
    this.updateJob({ state: 'ripping', current_title: title.titleId, progress_percent: jobProgress(selected, index, 0).percent });
    this.lastProgressAt = -Infinity;
    try {
      await this.phase(`Ripping title ${title.titleId}`, (signal, alive) => options.ripper.ripTitle({
        device: spec.drive, discType, title, outputFile: partialFile, signal,
        onLog: (line) => this.toolLog(options.ripper.toolName, line),
        onProgress: (progress) => this.progress(selected, index, progress, alive, async (fraction) => {
          const written = await stat(partialFile).then((s) => s.size, () => undefined);
          // Once a few percent are done, the size so far says more about the final size than any guess.
          if (!options.ripper.knowsOutputSize && written && fraction >= 0.05) expected = Math.round(written / fraction);
          this.updateTitle(title, {
            state: 'ripping', match_progress: round2(fraction * 100), expected_size_bytes: expected,
            ...(written !== undefined ? { actual_size_bytes: written } : {}),
          }, true);
        }),
      }));
      await rename(partialFile, finalFile);
      const size = (await stat(finalFile)).size;
      this.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, expected_size_bytes: size, output_filename: basename(finalFile) });
      this.log.info({ title: title.titleId, file: finalFile, bytes: size }, 'Title ripped');
      this.jobLog.write('info', `Title ${title.titleId} ripped: ${basename(finalFile)} (${humanBytes(size)})`);
      return finalFile;
    } catch (error) {
      await rm(partialFile, { force: true });
      return this.titleFailed(title, error, folder);
    }
  }

  /** Transcodes every ripped title in turn; returns the errors people should see. */
  private async transcodeAll(step: TranscodeStep, ripped: Map<DiscTitle, string>, folder: string): Promise<string[]> {
    const titles = [...ripped.keys()];
    const errors: string[] = [];
    this.mediaRate = new RateMeter(10_000);
    this.updateJob({ state: 'transcoding', progress_percent: 0, current_title: titles[0]?.titleId ?? 0 });
    for (const [index, title] of titles.entries()) {
      if (this.stopReason) break;
      const source = ripped.get(title) as string;
      const finalFile = pathInside(folder, titleFileName(this.spec.volumeLabel, title.titleId, `${safeName(step.profile.name)}.mkv`));
      const partialFile = finalFile + PARTIAL_SUFFIX;
      this.updateTitle(title, { state: 'transcoding', match_progress: 0 });
      this.jobLog.write('info', `Transcoding title ${title.titleId} with the ${step.profile.name} profile`);
      this.updateJob({ state: 'transcoding', current_title: title.titleId, progress_percent: jobProgress(titles, index, 0).percent });
      this.lastProgressAt = -Infinity;
      try {
        await this.phase(`Transcoding title ${title.titleId}`, (signal, alive) => step.transcoder.transcode({
          input: source, output: partialFile, durationSeconds: title.durationSeconds, profile: step.profile, signal,
          onLog: (line) => this.toolLog(step.transcoder.toolName, line),
          onProgress: (progress) => this.progress(titles, index, progress, alive, async (fraction) => {
            this.updateTitle(title, { state: 'transcoding', match_progress: round2(fraction * 100) }, true);
          }),
        }));
        await rename(partialFile, finalFile);
        // Only now, with the result checked, may the source go.
        if (!step.keepRip) await rm(source, { force: true });
        const size = (await stat(finalFile)).size;
        this.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, output_filename: basename(finalFile) });
        this.log.info({ title: title.titleId, file: finalFile, bytes: size, keptRip: step.keepRip }, 'Title transcoded');
        this.jobLog.write('info', `Title ${title.titleId} transcoded: ${basename(finalFile)} (${humanBytes(size)})${step.keepRip ? '' : '; the rip was removed'}`);
      } catch (error) {
        await rm(partialFile, { force: true });
        const outcome = await this.titleFailed(title, error, folder);
        errors.push(outcome.error);
        if (outcome.fatal) break;
      }
    }
    return errors;
  }

  /** Reports tool progress for the title at `index` of `titles`, at most once per progress interval. */
  private progress(
    titles: readonly TitleSpan[], index: number, progress: { fraction: number; speed?: number; etaSeconds?: number },
    alive: () => void, updateTitle: (fraction: number) => Promise<void>,
  ): void {
    const now = performance.now();
    const job = jobProgress(titles, index, progress.fraction);
    // Only movement counts as life: a tool can keep printing while it is stuck.
    if (job.mediaDoneSeconds > this.lastMediaDone) {
      this.lastMediaDone = job.mediaDoneSeconds;
      alive();
    }
    this.mediaRate.add(now, job.mediaDoneSeconds);
    if (now - this.lastProgressAt < this.options.progressIntervalMs) return;
    this.lastProgressAt = now;
    void updateTitle(progress.fraction).then(() => {
      if (this.stopReason || this.lastProgressAt !== now) return;
      const rate = this.mediaRate.rate();
      const speed = formatSpeed(progress.speed ?? rate);
      const laterMedia = titles.slice(index + 1).reduce((sum, title) => sum + title.durationSeconds, 0);
      // The tool's own ETA covers its title; later titles take their length at the measured rate.
      const eta = progress.etaSeconds !== undefined && (laterMedia === 0 || rate)
        ? progress.etaSeconds + (rate ? laterMedia / rate : 0)
        : rate ? job.mediaLeftSeconds / rate : undefined;
      this.updateJob({
        state: this.phaseState,
        progress_percent: job.percent,
        ...(speed ? { current_speed: speed } : {}),
        ...(eta !== undefined && Number.isFinite(eta) ? { eta_seconds: Math.max(0, Math.round(eta)) } : {}),
      }, true);
    });
  }

  /**
   * Runs one phase of work with its own abort signal: aborted when the job stops, or by the stall watchdog when
   * `alive` has not been called for the stall time.
   */
  private async phase<T>(what: string, work: (signal: AbortSignal, alive: () => void) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const forwardStop = () => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', forwardStop, { once: true });
    this.phaseState = what.startsWith('Transcoding') ? 'transcoding' : 'ripping';
    this.lastMediaDone = 0;
    const seconds = Math.round(this.options.stallMs / 1000);
    let timer: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.log.warn({ phase: what, seconds }, 'No progress: stopping the tool');
        controller.abort(new Stalled(`${what} made no progress for ${seconds} s and was stopped`));
      }, this.options.stallMs);
    };
    alive();
    try {
      return await work(controller.signal, alive);
    } catch (error) {
      if (controller.signal.reason instanceof Stalled) throw new RipError(controller.signal.reason.message);
      throw error;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', forwardStop);
    }
  }

  /** Marks a title failed or cancelled and words why; a full disk is fatal for the titles after it too. */
  private async titleFailed(title: DiscTitle, error: unknown, folder: string): Promise<{ error: string; fatal?: true }> {
    if (this.stopReason) {
      this.updateTitle(title, { state: 'cancelled', error: this.stopReason.message });
      return { error: this.stopReason.message };
    }
    const free = await statfs(folder).then((s) => s.bavail * s.bsize, () => undefined);
    if (free !== undefined && free < FULL_DISK_BYTES) {
      const message = `The output disk is full (${Math.round(free / 1024 / 1024)} MB free)`;
      this.log.error({ title: title.titleId, free, err: error instanceof RipError ? error.detail : error }, message);
      this.jobLog.write('error', `Title ${title.titleId}: ${message}`);
      this.updateTitle(title, { state: 'failed', error: message });
      return { error: message, fatal: true };
    }
    const message = error instanceof RipError ? error.message : `Could not finish title ${title.titleId}: ${describeFsError(error)}`;
    this.log.warn({ title: title.titleId, err: error instanceof RipError ? error.detail : error }, message);
    this.jobLog.write('error', `Title ${title.titleId}: ${message}`);
    this.updateTitle(title, { state: 'failed', error: message });
    return { error: message };
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

  private async failTitles(errors: string[], selectedCount: number, folder: string): Promise<JobState> {
    await removeIfEmpty(folder);
    const summary = errors.length >= selectedCount ? 'No title could be finished' : `${errors.length} of ${selectedCount} titles failed`;
    return this.fail(`${summary}: ${errors[0]}`);
  }

  private async finishStopped(folder?: string): Promise<JobState> {
    const reason = this.stopReason as StopReason;
    for (const title of this.selectedTitles()) {
      // Titles never started are cancelled too, so none stays pending.
      if (!this.started.has(title.titleId)) this.updateTitle(title, { state: 'cancelled', error: reason.message });
    }
    if (folder) await removeIfEmpty(folder);
    this.jobLog.write('warn', `Stopped: ${reason.message}`);
    this.jobLog.flush();
    this.updateJob({ state: reason.state, error_message: reason.message });
    this.log.info({ reason: reason.message }, 'Job stopped');
    return reason.state;
  }

  private fail(message: string, error?: unknown): JobState {
    this.log.warn({ err: error instanceof RipError ? error.detail : error }, `Job failed: ${message}`);
    this.jobLog.write('error', `Failed: ${message}`);
    this.jobLog.flush();
    this.updateJob({ state: 'failed', error_message: message.slice(0, 500) });
    return 'failed';
  }

  private toolLog(tool: string, line: string): void {
    this.log.trace({ tool }, line);
    this.jobLog.tool(tool, line);
  }

  private updateTitle(title: DiscTitle, fields: Omit<TitleUpdate, 'type' | 'agent_id' | 'job_id' | 'title_id'>, progressOnly = false): void {
    this.emit({ type: 'title_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, title_id: title.titleId, ...fields }, progressOnly);
  }

  private updateJob(fields: Omit<JobUpdate, 'type' | 'agent_id' | 'job_id'>, progressOnly = false): void {
    this.state = fields.state;
    this.emit({ type: 'job_update', agent_id: this.spec.agentId, job_id: this.spec.jobId, ...fields }, progressOnly);
  }

  private emit(event: StationEvent, progressOnly = false): void {
    this.options.emit(event, progressOnly);
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
