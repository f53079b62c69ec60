// Runs one job on one drive as a short state machine: the plan's phases in order, each in its own state, then
// completed; failed with the reason when a phase fails; cancelled, failed or interrupted when stopped from outside.
// What the phases do is theirs: the runner only moves between them and says how the job ended.
import { relative } from 'node:path';
import { FINISHED_JOB_STATES, type JobState } from '../../shared/index.js';
import { RipError } from '../tools/rip-error.js';
import { JobContext, type JobEnvironment, type JobSpec, type StopReason } from './job-context.js';
import { JobFailure, type Plan } from './phase.js';

export class JobRunner {
  private readonly job: JobContext;
  private result: Promise<JobState> | undefined;

  constructor(readonly spec: JobSpec, private readonly plan: Plan, environment: JobEnvironment) {
    this.job = new JobContext(spec, environment);
  }

  get currentState(): JobState {
    return this.job.state;
  }

  /** Why the job did not complete, once it has ended so. */
  get errorMessage(): string | undefined {
    return this.job.errorMessage;
  }

  /** Starts the work of a job that waits in `ready`, with `titles` as the selection if given. */
  ripNow(titles?: readonly number[]): string | undefined {
    if (this.job.state !== 'ready' || !this.job.waitingForRipNow) return 'The job is not waiting to rip';
    if (titles) {
      const refusal = this.selectTitles(titles);
      if (refusal) return refusal;
    }
    this.job.ripNow();
    return undefined;
  }

  /** Changes which titles to rip. Returns why not, when it cannot. */
  selectTitles(titles: readonly number[]): string | undefined {
    const { job } = this;
    if (FINISHED_JOB_STATES.has(job.state) || job.state === 'transcoding') return 'The job has finished ripping; its selection can no longer change';
    const outcome = job.titles.change(titles);
    if ('refusal' in outcome) return outcome.refusal;
    for (const { title, selected } of outcome.changes) job.updateTitle(title, { state: selected ? 'pending' : 'skipped' });
    job.updateJob({ total_titles: job.titles.selected().length });
    job.jobLog.write('info', `Selection changed: titles ${job.titles.selected().map((title) => title.titleId).join(', ') || 'none'}`);
    return undefined;
  }

  /**
   * Starts the job; the promise settles with its final state and never rejects. `transcoding`: the station's part
   * ended with the titles handed to the hub's transcode queue, and the hub ends the job.
   */
  run(): Promise<JobState> {
    this.result ??= this.execute().catch((error: unknown) => {
      this.job.log.error({ err: error }, 'Job failed unexpectedly');
      this.job.finish('failed', { error_message: 'Internal error on the station; its log has the details' });
      return 'failed' as const;
    });
    return this.result;
  }

  /** Whether it has been told to stop and is ending. */
  get stopping(): boolean {
    return this.job.stopReason !== undefined;
  }

  stop(reason: StopReason): void {
    this.job.stop(reason);
  }

  private async execute(): Promise<JobState> {
    const { job, spec, plan } = this;
    job.updateJob({ drive_id: spec.drive, volume_label: spec.volumeLabel, disc_type: spec.discType });
    for (const tool of plan.tools) {
      const missing = await tool.checkInstalled();
      if (missing) return this.fail(new RipError(missing, undefined, 'tool_missing'));
    }
    for (const phase of plan.phases) {
      if (job.stopReason) break;
      job.state = phase.state;
      try {
        await phase.run(job);
      } catch (error) {
        if (job.stopReason) break;
        return this.fail(error);
      }
    }
    if (job.stopReason) return this.finishStopped(job.stopReason);
    return job.handedOff ? this.handedOff() : this.complete();
  }

  /**
   * The titles wait in the hub's transcode queue: the job stays `transcoding` there and the hub ends it. The disc's
   * part is done, so what a finished disc does next (the tray opens) happens now.
   */
  private async handedOff(): Promise<JobState> {
    const { job } = this;
    job.jobLog.flush();
    await this.afterCompleted();
    return 'transcoding';
  }

  private async complete(): Promise<JobState> {
    const { job } = this;
    // The log first: whoever sees the final state may read the log at once.
    const where = job.folder ? ` in ${relative(job.environment.outputDir, job.folder) || '.'}` : '';
    job.jobLog.write('info', `Done: ${job.files.size} file(s)${where}`);
    job.jobLog.flush();
    job.finish('completed', { progress_percent: 100, eta_seconds: 0, ...job.results });
    job.log.info({ folder: job.folder, ...job.results }, 'Job completed');
    await this.afterCompleted();
    return 'completed';
  }

  private async afterCompleted(): Promise<void> {
    const { job, plan } = this;
    for (const phase of plan.afterCompleted) {
      try {
        await phase.run(job);
      } catch (error) {
        // The job is done and said so; what follows can only be reported.
        const message = error instanceof RipError ? error.message : String(error);
        job.log.warn({ phase: phase.name, err: error }, `After the job: ${message}`);
        job.jobLog.write('warn', message);
        job.jobLog.flush();
      }
    }
  }

  private async finishStopped(reason: StopReason): Promise<JobState> {
    const { job } = this;
    // Titles never started are cancelled too, so none stays pending.
    for (const title of job.titles.selected()) {
      if (!job.titles.hasStarted(title.titleId)) job.updateTitle(title, { state: 'cancelled', error: reason.message });
    }
    await job.removeFolderIfEmpty();
    job.jobLog.write('warn', `Stopped: ${reason.message}`);
    job.jobLog.flush();
    job.finish(reason.state, { error_message: reason.message, ...(reason.code ? { error_code: reason.code } : {}) });
    job.log.info({ reason: reason.message }, 'Job stopped');
    return reason.state;
  }

  private async fail(error: unknown): Promise<JobState> {
    const { job } = this;
    if (!(error instanceof RipError)) throw error;
    await job.removeFolderIfEmpty();
    job.log.warn({ err: error.detail }, `Job failed: ${error.message}`);
    job.jobLog.write('error', `Failed: ${error.message}`);
    job.jobLog.flush();
    job.finish('failed', {
      error_message: error.message.slice(0, 500), ...(error.code ? { error_code: error.code } : {}), ...(error instanceof JobFailure ? error.fields : {}),
    });
    return 'failed';
  }
}
