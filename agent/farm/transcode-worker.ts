// The station's side of the transcode farm: it takes the tasks the hub leases it (up to its slots), runs each with its
// transcoder into a partial file beside the result, reports progress under the lease (which keeps it alive), and asks
// the hub before putting a checked result in place. Every task is in the station's journal (AgentStore) from the
// moment it is taken, so a cut link or a restart loses nothing: the task's end is said again until the hub has heard
// it, and a result the hub refuses (its lease was given away) is discarded, never put in place.
// A streamed task (a rip this station cannot reach) is fetched from the hub into the station's spool, and its result
// sent back there; the ripping station puts it in place.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { TASK_FILES_PATH, type ErrorCode, type TaskOffer, type TaskReport, type TaskVerdict } from '../../shared/index.js';
import { pathInside } from '../jobs/naming.js';
import { watched } from '../jobs/watchdog.js';
import { round2 } from '../measure/progress-math.js';
import type { AgentStore, HeldTask } from '../store/agent-store.js';
import { fullDiskMegabytes } from '../tools/disk-space.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../shared/files/partial-file.js';
import { RipError } from '../tools/rip-error.js';
import { BUILTIN_PROFILES, type Transcoder } from '../transcoders/transcoder.js';
import type { HubFiles } from './hub-files.js';
import { taskFile } from './library.js';

export interface TranscodeWorkerOptions {
  agentId: string;
  /** Transcodes run at once (DISCBRIDGE_TRANSCODE_SLOTS). */
  slots: number;
  /** This station's mount point of the shared library (DISCBRIDGE_LIBRARY_DIR). */
  libraryDir?: string | undefined;
  /** This station's output folder: where its own rips outside the library are. */
  outputDir: string;
  /** Where the files of tasks streamed through the hub stay while this station works on them. */
  spoolDir: string;
  /** The hub's file transfers, for streamed tasks. */
  files: HubFiles;
  transcoder: Transcoder;
  store: AgentStore;
  /** Sends a report; false when the hub is not there. */
  report: (report: TaskReport) => boolean;
  /** A transcode whose progress has not moved for this long is stopped and fails. */
  stallMs: number;
  logger: Logger;
  /** Least time between two progress reports of one task. */
  reportIntervalMs?: number;
}

/** How often a station says a streamed task is running while its files move: each report keeps the lease alive. */
const TRANSFER_REPORT_MS = 2000;

interface Running {
  leaseId: string;
  abort: AbortController;
  done: Promise<void>;
}

/** Why a running transcode was stopped from outside: it then ends as the stopper decides, not as a failure. */
class Stopped extends Error {}

/** The station shutting down: the transcode is told to the hub as failed, so that another station takes it at once. */
class ShutDown extends Stopped {}

export class TranscodeWorker {
  private readonly running = new Map<number, Running>();
  /** The newest progress report of each running task, to say again on reconnect. */
  private readonly progress = new Map<number, TaskReport>();
  /** Shutting down: an offer now is declined, and the hub gives it to another station. */
  private stopping = false;

  constructor(private readonly options: TranscodeWorkerOptions) {}

  /** Puts the journal right after the last run: transcodes it left running failed with it; accepted ones go in place. */
  async start(): Promise<void> {
    await this.sweepSpool();
    for (const task of this.options.store.heldTasks()) {
      if (task.state === 'running') {
        await this.removePartial(task.offer);
        this.hold({ ...task, state: 'failed', error: 'The station stopped during this transcode (crash, reboot or power loss)' });
        this.options.logger.warn({ task: task.offer.task_id }, `Transcode task ${task.offer.task_id} was cut short by the last stop; telling the hub`);
      } else if (task.state === 'accepted') {
        await this.putInPlace(task);
      }
    }
  }

  /** Stops every transcode; each is told to the hub as failed (at once if it is there, else after the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = [...this.running.entries()];
    for (const [, task] of running) task.abort.abort(new ShutDown('The station was shut down during this transcode'));
    await Promise.all(running.map(([, task]) => task.done));
  }

  /** The leases this station holds, for its hello. */
  held(): { task_id: number; lease_id: string }[] {
    return this.options.store.heldTasks().map(({ offer }) => ({ task_id: offer.task_id, lease_id: offer.lease_id }));
  }

  get slots(): number {
    return this.options.slots;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Connected (again): every task's word is said again, since the hub may have missed it, and a result the hub
   * accepted that could not be put in place (the library was not mounted) is tried again.
   */
  async connected(): Promise<void> {
    for (const task of this.options.store.heldTasks()) {
      if (task.state === 'accepted') await this.putInPlace(task);
      const report = this.wordOf(task);
      if (report) this.options.report(report);
    }
  }

  /** A task the hub leases this station. */
  offer(offer: TaskOffer): void {
    const { logger } = this.options;
    const known = this.options.store.heldTasks().find((task) => task.offer.task_id === offer.task_id);
    if (known?.offer.lease_id === offer.lease_id) return;
    const busy = this.stopping ? 'This station is shutting down'
      : this.running.size >= this.options.slots && !this.running.has(offer.task_id) ? `This station has no free transcode slot (DISCBRIDGE_TRANSCODE_SLOTS=${this.options.slots})` : undefined;
    if (busy) {
      this.options.report({ kind: 'task_report', task_id: offer.task_id, lease_id: offer.lease_id, status: 'declined', error: busy });
      return;
    }
    const refusal = this.refusal(offer);
    if (refusal) {
      logger.warn({ task: offer.task_id }, `Refusing transcode task ${offer.task_id}: ${refusal.message}`);
      this.hold({ offer, state: 'failed', error: refusal.message });
      this.options.report({ kind: 'task_report', task_id: offer.task_id, lease_id: offer.lease_id, status: 'failed', error: refusal.message, ...(refusal.code ? { error_code: refusal.code } : {}) });
      return;
    }
    // A newer lease of a task this station still holds replaces the old one: the hub gave it up.
    if (known) this.running.get(offer.task_id)?.abort.abort(new Stopped('Replaced by a newer lease'));
    this.hold({ offer, state: 'running' });
    const abort = new AbortController();
    const running: Running = { leaseId: offer.lease_id, abort, done: Promise.resolve() };
    running.done = this.run(offer, abort.signal).finally(() => {
      if (this.running.get(offer.task_id) !== running) return;
      this.running.delete(offer.task_id);
      this.progress.delete(offer.task_id);
    });
    this.running.set(offer.task_id, running);
  }

  /** The hub's answer under a lease. */
  async verdict(verdict: TaskVerdict): Promise<void> {
    const task = this.options.store.heldTasks().find((held) => held.offer.task_id === verdict.task_id && held.offer.lease_id === verdict.lease_id);
    if (!task) return;
    const { logger } = this.options;
    const id = verdict.task_id;
    switch (task.state) {
      case 'running': {
        if (verdict.accepted) return;
        logger.warn({ task: id }, `Stopping transcode task ${id}: ${verdict.reason ?? 'the hub took it back'}`);
        const running = this.running.get(id);
        running?.abort.abort(new Stopped(verdict.reason ?? 'The hub took the task back'));
        await running?.done;
        await this.removePartial(task.offer);
        this.options.store.dropTask(id, verdict.lease_id);
        return;
      }
      case 'finished':
        if (verdict.accepted) {
          await this.putInPlace({ ...task, state: 'accepted' });
          return;
        }
        logger.warn({ task: id }, `Discarding the result of transcode task ${id}: ${verdict.reason ?? 'the hub refused it'}`);
        await this.removePartial(task.offer);
        this.options.store.dropTask(id, verdict.lease_id);
        return;
      case 'delivered':
      case 'failed':
        this.options.store.dropTask(id, verdict.lease_id);
        return;
      case 'accepted':
        return;
    }
  }

  private refusal(offer: TaskOffer): RipError | undefined {
    if (!BUILTIN_PROFILES[offer.profile]) return new RipError(`This station does not know the transcode profile "${offer.profile}"`);
    if (offer.streamed) return undefined;
    if (offer.root === 'library' && !this.options.libraryDir) return new RipError('This station has no shared library (DISCBRIDGE_LIBRARY_DIR)');
    if (offer.root === 'output' && offer.agent_id !== this.options.agentId) return new RipError(`The rip is in the output folder of ${offer.agent_id}, which this station cannot reach`);
    try {
      this.paths(offer);
    } catch {
      return new RipError('The task names a file outside the library');
    }
    return undefined;
  }

  private async run(offer: TaskOffer, signal: AbortSignal): Promise<void> {
    const { transcoder, logger } = this.options;
    const id = offer.task_id;
    const { source, output, partial } = this.paths(offer);
    const started = Date.now();
    this.say({ kind: 'task_report', task_id: id, lease_id: offer.lease_id, status: 'running', progress_percent: 0 });
    logger.info({ task: id, source, profile: offer.profile, from: offer.agent_id }, `Transcoding task ${id}: ${basename(offer.source)} with the ${offer.profile} profile${offer.streamed ? ', fetched from the hub' : ''}`);
    try {
      const missing = await transcoder.checkInstalled();
      if (missing) throw new RipError(missing, undefined, 'tool_missing');
      if (offer.streamed) await this.fetchSource(offer, offer.streamed, source, signal);
      else await this.removeOtherPartials(output, partial);
      let lastReport = 0;
      await watched({ what: `Transcoding task ${id}`, stallMs: this.options.stallMs, jobSignal: signal, logger }, (toolSignal, alive) => transcoder.transcode({
        input: source, output: partial, durationSeconds: offer.duration_seconds, profile: BUILTIN_PROFILES[offer.profile] as NonNullable<(typeof BUILTIN_PROFILES)[string]>,
        signal: toolSignal,
        onLog: (line) => logger.trace({ tool: transcoder.toolName, task: id }, line),
        onProgress: (progress) => {
          alive();
          const now = Date.now();
          if (now - lastReport < (this.options.reportIntervalMs ?? 500) && progress.fraction < 1) return;
          lastReport = now;
          this.say({
            kind: 'task_report', task_id: id, lease_id: offer.lease_id, status: 'running', progress_percent: round2(progress.fraction * 100),
            ...(progress.speed !== undefined ? { current_speed: `${round2(progress.speed)}x` } : {}),
            ...(progress.etaSeconds !== undefined ? { eta_seconds: Math.round(progress.etaSeconds) } : {}),
          });
        },
      }));
      if (offer.streamed) await this.sendResult(offer, partial, signal);
      const size = (await stat(partial)).size;
      // Stopped as it finished (a newer lease, a cancel): what it made is not this lease's to offer.
      if (signal.aborted) throw signal.reason;
      this.hold({ offer, state: 'finished', size });
      logger.info({ task: id, bytes: size, seconds: Math.round((Date.now() - started) / 1000) }, `Transcode task ${id} finished and checked; asking the hub to deliver it`);
      this.options.report({ kind: 'task_report', task_id: id, lease_id: offer.lease_id, status: 'finished', size_bytes: size });
    } catch (error) {
      await this.removePartial(offer);
      if (signal.reason instanceof Stopped && !(signal.reason instanceof ShutDown)) return;
      const failure = signal.reason instanceof Stopped ? { message: signal.reason.message } : await this.describeFailure(error, output);
      this.hold({ offer, state: 'failed', error: failure.message });
      logger.warn({ task: id, err: error instanceof RipError ? error.detail : error }, `Transcode task ${id} failed: ${failure.message}`);
      this.options.report({ kind: 'task_report', task_id: id, lease_id: offer.lease_id, status: 'failed', error: failure.message.slice(0, 500), ...(failure.code ? { error_code: failure.code } : {}) });
    }
  }

  /** Fetches a streamed task's rip from the hub into the spool. */
  private async fetchSource(offer: TaskOffer, streamed: NonNullable<TaskOffer['streamed']>, source: string, signal: AbortSignal): Promise<void> {
    await mkdir(this.options.spoolDir, { recursive: true });
    const started = Date.now();
    await this.keepingLease(offer, 0, () => this.options.files.download(
      `${TASK_FILES_PATH}/${offer.task_id}/source?lease=${encodeURIComponent(offer.lease_id)}`, source, streamed.source_sha256, streamed.source_bytes, signal,
    ));
    this.options.logger.info({ task: offer.task_id, bytes: streamed.source_bytes, seconds: Math.round((Date.now() - started) / 1000) },
      `Fetched the rip of transcode task ${offer.task_id} from the hub (${Math.round(streamed.source_bytes / 1024 / 1024)} MB, checked)`);
  }

  /** Sends a streamed task's checked result to the hub, where the ripping station fetches it. */
  private async sendResult(offer: TaskOffer, result: string, signal: AbortSignal): Promise<void> {
    await this.keepingLease(offer, 100, () => this.options.files.upload(`${TASK_FILES_PATH}/${offer.task_id}/result?lease=${encodeURIComponent(offer.lease_id)}`, result, signal));
  }

  /**
   * Runs a transfer of a streamed task's files, reporting the task running every TRANSFER_REPORT_MS meanwhile: moving
   * and hashing many gigabytes takes longer than a lease, and the hub must hear that the station is at it.
   */
  private async keepingLease<T>(offer: TaskOffer, percent: number, transfer: () => Promise<T>): Promise<T> {
    const report = () => this.say({ kind: 'task_report', task_id: offer.task_id, lease_id: offer.lease_id, status: 'running', progress_percent: percent });
    const timer = setInterval(report, TRANSFER_REPORT_MS);
    try {
      return await transfer();
    } finally {
      clearInterval(timer);
    }
  }

  /** Removes spool files no held task owns: what a crash left behind. */
  private async sweepSpool(): Promise<void> {
    const owned = new Set(this.options.store.heldTasks().filter((task) => task.offer.streamed).map((task) => streamBase(task.offer)));
    for (const name of await readdir(this.options.spoolDir).catch(() => [] as string[])) {
      if (!owned.has(name.replace(/\.(source|result\.mkv)(\.part)?$/, ''))) await rm(join(this.options.spoolDir, name), { force: true });
    }
  }

  /** A running report: said now if the hub is there, and kept to say again on reconnect. */
  private say(report: TaskReport): void {
    this.progress.set(report.task_id, report);
    this.options.report(report);
  }

  /** The word a held task has for the hub now. */
  private wordOf(task: HeldTask): TaskReport | undefined {
    const { task_id, lease_id } = task.offer;
    switch (task.state) {
      case 'running':
        return this.progress.get(task_id) ?? { kind: 'task_report', task_id, lease_id, status: 'running' };
      case 'finished':
        return { kind: 'task_report', task_id, lease_id, status: 'finished', ...(task.size !== undefined ? { size_bytes: task.size } : {}) };
      case 'delivered':
        return { kind: 'task_report', task_id, lease_id, status: 'delivered', ...(task.size !== undefined ? { size_bytes: task.size } : {}) };
      case 'failed':
        return { kind: 'task_report', task_id, lease_id, status: 'failed', error: (task.error ?? 'The transcode failed').slice(0, 500) };
      case 'accepted':
        return undefined;
    }
  }

  /**
   * The hub said yes: the checked result takes its final name (durably), then the rip goes unless it is kept, and
   * the hub hears that it is in place.
   */
  private async putInPlace(task: HeldTask): Promise<void> {
    const { offer } = task;
    if (offer.streamed) {
      // The result is at the hub, for the ripping station to put in place: this station's part is over.
      await this.removePartial(offer);
      this.options.store.dropTask(offer.task_id, offer.lease_id);
      this.options.logger.info({ task: offer.task_id }, `Transcode task ${offer.task_id} is at the hub; ${offer.agent_id} puts it in place`);
      return;
    }
    this.hold(task);
    const { source, output, partial } = this.paths(offer);
    try {
      // In place already (a stop came between the rename and telling the hub) only when the result is there.
      const partialThere = await stat(partial).then(() => true, () => false);
      if (partialThere) await finishPartial(partial, output);
      else await stat(output);
      if (!offer.keep_rip) await rm(source, { force: true });
      this.options.logger.info({ task: offer.task_id, file: output, keptRip: offer.keep_rip }, `Transcode task ${offer.task_id} delivered: ${basename(output)}`);
      const delivered: HeldTask = { ...task, state: 'delivered' };
      this.hold(delivered);
      const word = this.wordOf(delivered);
      if (word) this.options.report(word);
    } catch (error) {
      // Kept as accepted: the next start tries again, and the partial file is still whole.
      this.options.logger.error({ task: offer.task_id, err: error }, `Could not put the result of transcode task ${offer.task_id} in place (${(error as Error).message}); trying again at the next start`);
    }
  }

  /** Partial files of earlier leases of the same result: their leases are over, so they are nobody's. */
  private async removeOtherPartials(output: string, partial: string): Promise<void> {
    const folder = dirname(output);
    const prefix = `${basename(output)}.`;
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      if (name.startsWith(prefix) && name.endsWith(PARTIAL_SUFFIX) && name !== basename(partial)) await rm(pathInside(folder, name), { force: true });
    }
  }

  private async describeFailure(error: unknown, output: string): Promise<{ message: string; code?: ErrorCode }> {
    const freeMb = await fullDiskMegabytes(dirname(output));
    if (freeMb !== undefined) return { message: `The disk this station writes the transcode to is full (${freeMb} MB free)`, code: 'output_full' };
    if (error instanceof RipError) return { message: error.message, ...(error.code ? { code: error.code } : {}) };
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return { message: code === 'ENOENT' ? 'The rip to transcode is not there' : `The transcode failed: ${code ?? (error as Error).message}` };
  }

  /** The task's files on this station (in its spool, when streamed); throws for a path outside its root. */
  private paths(offer: TaskOffer): { source: string; output: string; partial: string } {
    if (offer.streamed) {
      const base = join(this.options.spoolDir, streamBase(offer));
      return { source: `${base}.source`, output: `${base}.result.mkv`, partial: `${base}.result.mkv${PARTIAL_SUFFIX}` };
    }
    const source = taskFile(this.options, offer.root, offer.source);
    const output = taskFile(this.options, offer.root, offer.output);
    return { source, output, partial: `${output}.${offer.lease_id.slice(0, 8)}${PARTIAL_SUFFIX}` };
  }

  /** Removes what this lease wrote: its partial result, and a streamed task's fetched rip. */
  private async removePartial(offer: TaskOffer): Promise<void> {
    try {
      const { source, partial } = this.paths(offer);
      await rm(partial, { force: true });
      if (offer.streamed) await rm(source, { force: true });
    } catch {
      // no such root here any more, or already gone
    }
  }

  private hold(task: HeldTask): void {
    this.options.store.holdTask(task);
  }
}

/** The spool name of a streamed lease's files: one task, one lease. */
function streamBase(offer: TaskOffer): string {
  return `task-${offer.task_id}.${offer.lease_id.slice(0, 8)}`;
}
