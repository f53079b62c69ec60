// The transcode farm at the hub: the queue (transcode-queue.ts) as a hub component. It fills the queue from the
// stations' hand-offs, leases each task to a station with a free slot (the one that ripped it first), turns the
// workers' reports into the updates of the job the task belongs to, ends that job when its last task ends, expires
// leases whose worker went silent, answers people's actions (retry, cancel, prioritize), and tells every change of a
// task to the bus as a task_update. The hub owns the task: the ripping station's part of the job ended at hand-off.
// A station that cannot reach a task's files streams them through the hub: the ripping station sends the rip to the
// spool when such a station has a free slot, the worker fetches it and sends back its result, and the ripping
// station fetches that and puts it in place (task-files-http.ts has the HTTP side).
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type {
  AgentHello, HubMessage, JobLog, JobState, JobUpdate, TaskReport, TaskUpdate, TitleUpdate, TranscodeRequest, TranscodeTaskRecord,
  TranscodeTaskState,
} from '../../shared/index.js';
import type { EventBus } from '../events/event-bus.js';
import type { Db } from '../store/database.js';
import { jobOutcome, jobProgress, titleStateOf } from './job-outcome.js';
import type { TaskSpool } from './task-spool.js';
import { MAX_ATTEMPTS, TranscodeQueue, type TranscodeTask } from './transcode-queue.js';

/** A connected station that takes transcode tasks. */
export interface FarmStation {
  agentId: string;
  /** Transcodes it runs at once. */
  slots: number;
  /** It has the shared library mounted. */
  library: boolean;
}

/** The stations' side, as the agent socket offers it. */
export interface FarmLink {
  farmStations(): FarmStation[];
  /** False when the station is not connected. */
  sendToStation(agentId: string, message: HubMessage): boolean;
}

/** The jobs' side, as the station store keeps them: changes the hub itself makes to a station's job (hub job ids). */
export interface FarmJobs {
  change(event: JobUpdate | TitleUpdate | JobLog): void;
  progress(event: JobUpdate | TitleUpdate): void;
  /** The job's state now, if the hub knows the job. */
  jobState(jobId: number): JobState | undefined;
  /** Jobs waiting on the farm (state `transcoding`), to put right after a restart. */
  transcodingJobs(): { agent_id: string; job_id: number }[];
}

export interface TranscodesOptions {
  db: Db;
  bus: EventBus;
  link: FarmLink;
  /** Where streamed tasks' files wait at the hub. */
  spool: TaskSpool;
  jobs: FarmJobs;
  /** A lease lives this long after the worker's last report (DISCBRIDGE_LEASE_SECONDS). */
  leaseMs: number;
  logger: Logger;
  /** How often leases are checked for expiry. */
  sweepMs?: number;
  now?: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** How long a task waits before it goes back to the station it just failed on. */
const RETRY_SAME_STATION_MS = 3000;
/** Queued tasks looked at per page when handing out, and at most in all per round. */
const DISPATCH_PAGE = 200;
const DISPATCH_SCAN_LIMIT = 10_000;
/** How long a ripping station has to send a rip, or fetch a result, it was told of before it is told again. */
const ASK_AGAIN_MS = 30_000;

/**
 * Why a hand-off's title may not become a task: its result must be a new file beside the rip, named for the profile,
 * so that a worker never writes over, or deletes, anything else in the library.
 */
export function outputRefusal(source: string, output: string, profile: string): string | undefined {
  const folder = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
  if (output === source) return 'its output is its own rip';
  if (folder(output) !== folder(source)) return 'its output is not beside its rip';
  if (!output.endsWith(`.${profile}.mkv`)) return `its output is not named for the ${profile} profile`;
  return undefined;
}

/** A task as REST and the dashboard socket show it. */
export function taskRecord(task: TranscodeTask): TranscodeTaskRecord {
  return {
    task_id: task.id, agent_id: task.agentId, job_id: task.jobId, title_id: task.titleId, profile: task.profile, source: task.source, output: task.output,
    state: task.state, priority: task.priority, attempts: task.attempts,
    ...(task.state === 'transcoding' && task.leasedTo !== undefined ? { leased_to: task.leasedTo } : {}),
    ...(task.state === 'transcoding' && task.leaseExpiresAt !== undefined ? { lease_expires_at: iso(task.leaseExpiresAt) } : {}),
    ...(task.progressPercent !== undefined ? { progress_percent: task.progressPercent } : {}),
    ...(task.transcodedBy !== undefined ? { transcoded_by: task.transcodedBy } : {}),
    ...(task.streamed && (task.state === 'transcoding' || task.state === 'done') ? { streamed: true as const } : {}),
    ...(task.lastError !== undefined ? { last_error: task.lastError.slice(0, 500) } : {}),
    created_at: iso(task.createdAt), updated_at: iso(task.updatedAt),
    ...(task.finishedAt !== undefined ? { finished_at: iso(task.finishedAt) } : {}),
  };
}

export class Transcodes {
  private queue: TranscodeQueue | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /**
   * The latest report of each running task: its progress and speed (media seconds a second, for the job's time
   * left). Kept here, not written: the lease is written only when half of it has passed, so a running task costs
   * the hub's disk one write per half lease, not one per report.
   */
  private readonly live = new Map<number, { percent?: number; speed?: number }>();
  /** Leases their worker has reported under (the newest few thousand): taken up, not lost on the way. */
  private readonly reported = new Set<string>();
  /** Stations that declined a task, and until when they are given none. */
  private readonly resting = new Map<string, number>();
  /** Tasks only their own station can reach that were already said to wait for it, so it is said once. */
  private readonly toldWaiting = new Set<number>();
  /** Tasks whose rip the ripping station was asked to send to the spool, and when. */
  private readonly askedForSource = new Map<number, number>();
  private lastResultNudge = 0;

  constructor(private readonly options: TranscodesOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.queue = new TranscodeQueue(this.options.db);
    await this.options.spool.start();
    const swept = await this.options.spool.sweep(this.queue.openIds());
    if (swept > 0) this.options.logger.info({ files: swept }, `Removed ${swept} file(s) of finished transcode tasks from the spool`);
    const extended = this.queue.extendLeases(this.now(), this.options.leaseMs);
    // Leases running when the hub stopped were taken up then: a station that drops its link now still holds them.
    for (const task of this.queue.list({ state: 'transcoding', limit: 10_000 })) if (task.leaseId) this.reported.add(task.leaseId);
    if (extended > 0) this.options.logger.info({ tasks: extended }, `${extended} transcode task(s) were running when the hub stopped: their stations have ${this.options.leaseMs / 1000} s to report`);
    for (const job of this.options.jobs.transcodingJobs()) this.settleJob(job.agent_id, job.job_id, true);
    this.sweepTimer = setInterval(() => this.tick(), this.options.sweepMs ?? 1000);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * A station handed a job's ripped titles to the queue (`job_id` is the hub's), all in one transaction: throws when
   * the database refuses it, and then none is queued. A title whose result would not be a new file beside its rip is
   * refused: a station's hand-off must not make workers overwrite or delete other files of the library.
   */
  requested(request: TranscodeRequest): void {
    const now = this.now();
    const added = this.options.db.transaction(() => request.titles.flatMap((title) => {
      const refusal = outputRefusal(title.source, title.output, request.profile);
      if (refusal) {
        this.options.logger.warn({ station: request.agent_id, job: request.job_id, title: title.title_id }, `Refused to queue title ${title.title_id} of job ${request.job_id}: ${refusal}`);
        return [];
      }
      const { task, added: fresh } = this.tasks.enqueue({
        agentId: request.agent_id, jobId: request.job_id, titleId: title.title_id, profile: request.profile, source: title.source,
        output: title.output, root: request.root, durationSeconds: title.duration_seconds, keepRip: request.keep_rip,
      }, now);
      return fresh ? [task] : [];
    }))();
    for (const task of added) this.publish(task);
    this.dispatch();
  }

  /**
   * A station connected: a lease the hub gave it that it does not hold was lost on the way (an offer sent as the link
   * dropped), so that task is queued again without counting an attempt. Then it may take work.
   */
  stationOnline(hello: AgentHello): void {
    // Leases it held through a cut link are its own again if nobody took the task meanwhile (before anything is
    // handed out anew), so that what it finished while away counts.
    for (const { task_id, lease_id } of hello.tasks ?? []) this.tasks.renew(task_id, lease_id, hello.agent_id, undefined, this.now(), this.options.leaseMs);
    const held = new Set((hello.tasks ?? []).map((task) => task.lease_id));
    this.releaseLost(hello.agent_id, (task) => !held.has(task.leaseId as string), 'warn', (task) =>
      `Transcode task ${task.id} was leased to ${hello.agent_id}, which came back without it; queued again`);
    // Results streamed to the hub while it was away are its to put in place; a rip it was asked for, to send again.
    for (const task of this.tasks.undeliveredStreams(hello.agent_id)) this.tellResultReady(task);
    for (const [id] of this.askedForSource) if (this.tasks.get(id)?.agentId === hello.agent_id) this.askedForSource.delete(id);
    this.dispatch();
  }

  /**
   * A station went away: a lease offered to it that it never took up (no report yet) was most likely lost with the
   * link, so that task is queued again at once. A lease it reported under stays until it runs out: a worker cut off
   * from the hub goes on transcoding and may deliver when it is back.
   */
  stationOffline(agentId: string): void {
    this.releaseLost(agentId, (task) => !this.reported.has(task.leaseId as string), 'info', (task) =>
      `${agentId} went away before taking transcode task ${task.id}; queued again`);
    this.dispatch();
  }

  /** Queues again, no attempt counted, each running lease of the station that `lost` says it never got, and says so. */
  private releaseLost(agentId: string, lost: (task: TranscodeTask) => boolean, level: 'info' | 'warn', say: (task: TranscodeTask) => string): void {
    for (const task of this.tasks.runningOn(agentId)) {
      if (!lost(task) || !this.tasks.release(task.id, task.leaseId as string, this.now())) continue;
      this.options.logger[level]({ task: task.id, station: agentId }, say(task));
      this.publish(this.tasks.get(task.id) as TranscodeTask);
    }
  }

  /** A worker's report under its lease; the answer, when one is due, goes back to it. */
  report(agentId: string, report: TaskReport): void {
    const task = this.tasks.get(report.task_id);
    const verdict = (accepted: boolean, reason?: string) => this.options.link.sendToStation(agentId, {
      kind: 'task_verdict', task_id: report.task_id, lease_id: report.lease_id, accepted, ...(reason ? { reason: reason.slice(0, 500) } : {}),
    });
    if (!task) return void verdict(false, `There is no transcode task ${report.task_id}`);
    if (task.leaseId === report.lease_id && task.leasedTo === agentId) {
      this.reported.add(report.lease_id);
      if (this.reported.size > 10_000) this.reported.delete(this.reported.values().next().value as string);
    }
    switch (report.status) {
      case 'running':
        return this.running(agentId, task, report, verdict);
      case 'finished':
        return this.finished(agentId, task, report, verdict);
      case 'delivered':
        return this.delivered(agentId, task, report, verdict);
      case 'failed':
        return this.failed(agentId, task, report, verdict);
      case 'declined':
        return this.declined(agentId, task, report);
    }
  }

  /** The ripping station cannot send a task's rip (it is gone): no station can get it, so the task fails at once. */
  sourceUnavailable(agentId: string, taskId: number, error: string): void {
    const task = this.tasks.get(taskId);
    if (!task || task.agentId !== agentId) return;
    const reason = `The rip is not on ${agentId} any more: ${error}`;
    if (!this.tasks.giveUp(taskId, reason, this.now())) return;
    this.askedForSource.delete(taskId);
    this.afterFailure(this.tasks.get(taskId) as TranscodeTask, agentId, reason);
  }

  /** The rip of a task is whole in the spool: stations that cannot reach it may take the task now. */
  sourceStaged(taskId: number, sha256: string, bytes: number): boolean {
    if (!this.tasks.staged(taskId, sha256, bytes, this.now())) return false;
    this.askedForSource.delete(taskId);
    const task = this.tasks.get(taskId) as TranscodeTask;
    this.options.logger.info({ task: taskId, station: task.agentId, bytes }, `The rip of transcode task ${taskId} is at the hub (${megabytes(bytes)} MB from ${task.agentId}), for a station without its files`);
    this.dispatch();
    return true;
  }

  /** A streamed lease's result is whole in the spool; the worker's `finished` comes next. */
  resultArrived(taskId: number, leaseId: string, worker: string, sha256: string, bytes: number): boolean {
    if (!this.tasks.resultArrived(taskId, leaseId, worker, sha256, bytes, this.now())) return false;
    this.options.logger.info({ task: taskId, station: worker, bytes }, `The result of transcode task ${taskId} is at the hub (${megabytes(bytes)} MB from ${worker})`);
    return true;
  }

  list(options: { state?: TranscodeTaskState; limit: number }): TranscodeTaskRecord[] {
    return this.tasks.list(options).map((task) => taskRecord(this.withLive(task)));
  }

  /** A running task with its latest reported progress, which is kept in memory between lease writes. */
  private withLive(task: TranscodeTask): TranscodeTask {
    const percent = this.live.get(task.id)?.percent;
    return task.state === 'transcoding' && percent !== undefined ? { ...task, progressPercent: percent } : task;
  }

  private speedsOfRunning(): Map<number, number> {
    return new Map([...this.live].flatMap(([id, { speed }]) => (speed === undefined ? [] : [[id, speed] as [number, number]])));
  }

  retry(id: number): TranscodeTaskRecord {
    const task = this.tasks.retry(id, this.now());
    this.toldWaiting.delete(id);
    // Its files at the hub are sent afresh: the retry may be because one of them was wrong.
    this.dropFiles(id);
    // A job that ended with this task failed waits on the farm again.
    if (this.options.jobs.jobState(task.jobId) !== 'transcoding') this.jobChange(task, { type: 'job_update', state: 'transcoding', progress_percent: 0 });
    this.titleChange(task, { state: 'transcoding', match_progress: 0 });
    const record = this.acted(task, 'retried');
    this.dispatch();
    return record;
  }

  cancel(id: number): TranscodeTaskRecord {
    const before = this.tasks.get(id);
    const task = this.tasks.cancel(id, this.now());
    this.live.delete(id);
    if (before?.state === 'transcoding' && before.leasedTo && before.leaseId) {
      this.options.link.sendToStation(before.leasedTo, { kind: 'task_verdict', task_id: id, lease_id: before.leaseId, accepted: false, reason: 'The transcode was cancelled' });
    }
    this.titleChange(task, { state: 'cancelled', error: 'The transcode was cancelled' });
    this.dropFiles(id);
    const record = this.acted(task, 'cancelled');
    this.settleJob(task.agentId, task.jobId);
    return record;
  }

  /** Cancels every open task of a job (a person cancelled the job): false when it has none, and the station decides. */
  cancelJob(agentId: string, jobId: number): boolean {
    const open = this.tasks.tasksOfJob(agentId, jobId).filter((task) => task.state === 'queued' || task.state === 'transcoding');
    for (const task of open) this.cancel(task.id);
    return open.length > 0;
  }

  prioritize(id: number): TranscodeTaskRecord {
    return this.acted(this.tasks.prioritize(id, this.now()), 'moved to the head of the queue');
  }

  /** The queue itself, for the parts that lease and report (and for tests). */
  get tasks(): TranscodeQueue {
    if (!this.queue) throw new Error('The transcode queue is not started');
    return this.queue;
  }

  /**
   * Leases queued tasks to stations with a free slot, highest priority first. A task goes to a station that reaches
   * its files (the shared library, or the ripping station's own output folder) if one is free, the ripping station
   * first; else to any free station, which streams the files through the hub once the ripping station has sent the
   * rip there (it is asked to when needed). The station a task failed on last gets it only when no other can.
   */
  dispatch(): void {
    const now = this.now();
    for (const [station, until] of this.resting) if (until <= now) this.resting.delete(station);
    const stations = this.options.link.farmStations().filter((station) => !this.resting.has(station.agentId));
    if (stations.length === 0) return;
    const used = this.tasks.runningByStation();
    const free = (station: FarmStation) => station.slots - (used.get(station.agentId) ?? 0);
    // Page by page: tasks only a busy station can reach must not hold up those behind them.
    for (let offset = 0; offset < DISPATCH_SCAN_LIMIT && stations.some((station) => free(station) > 0); offset += DISPATCH_PAGE) {
      const page = this.tasks.queued(DISPATCH_PAGE, offset);
      this.dispatchPage(page, stations, used, free);
      if (page.length < DISPATCH_PAGE) return;
    }
  }

  private dispatchPage(page: readonly TranscodeTask[], stations: readonly FarmStation[], used: Map<string, number>, free: (station: FarmStation) => number): void {
    for (const task of page) {
      if (stations.every((station) => free(station) <= 0)) return;
      // The station a task just failed on gets it again only after a pause: its missing tool or full disk is likely
      // still so, and another station may come.
      const resting = task.lastFailedOn !== undefined && this.now() - task.updatedAt < RETRY_SAME_STATION_MS ? task.lastFailedOn : undefined;
      const open = stations.filter((station) => free(station) > 0 && station.agentId !== resting);
      const direct = open.filter((station) => (task.root === 'library' ? station.library : station.agentId === task.agentId));
      const reach = direct.length > 0 ? direct : task.staged ? open : [];
      if (reach.length === 0) {
        if (open.length > 0) this.askForSource(task);
        else this.tellWaiting(task, stations);
        continue;
      }
      const rank = (station: FarmStation) => [station.agentId === task.lastFailedOn ? 1 : 0, station.agentId === task.agentId ? 0 : 1, -free(station)];
      const station = reach.sort((a, b) => compareRanks(rank(a), rank(b)))[0] as FarmStation;
      if (this.offer(task, station, direct.length === 0)) used.set(station.agentId, (used.get(station.agentId) ?? 0) + 1);
    }
  }

  /** Leases the task to the station and sends the offer; false when it could not (taken meanwhile, or the station gone). */
  private offer(task: TranscodeTask, station: FarmStation, streamed: boolean): boolean {
    const leaseId = this.tasks.lease(task.id, station.agentId, this.now(), this.options.leaseMs, streamed);
    if (!leaseId) return false;
    const sent = this.options.link.sendToStation(station.agentId, {
      kind: 'task_offer', task_id: task.id, lease_id: leaseId, agent_id: task.agentId, profile: task.profile, keep_rip: task.keepRip,
      root: task.root, source: task.source, output: task.output, duration_seconds: task.durationSeconds, lease_seconds: Math.ceil(this.options.leaseMs / 1000),
      ...(streamed && task.staged ? { streamed: { source_sha256: task.staged.sha256, source_bytes: task.staged.bytes } } : {}),
    });
    if (!sent) {
      this.tasks.release(task.id, leaseId, this.now());
      return false;
    }
    this.live.delete(task.id);
    if (streamed) this.options.spool.remove(task.id, true).catch((error: unknown) => this.options.logger.warn({ task: task.id, err: error }, `Could not remove an earlier result of transcode task ${task.id} from the spool: ${(error as Error).message}`));
    const leased = this.tasks.get(task.id) as TranscodeTask;
    this.options.logger.info({ task: task.id, job: task.jobId, title: task.titleId, station: station.agentId, attempt: task.attempts + 1, streamed },
      `Transcode task ${task.id} leased to ${station.agentId}${streamed ? ', its files streamed through the hub' : ''}`);
    this.jobLog(leased, 'info', `Title ${task.titleId}: transcoding on ${station.agentId} with the ${task.profile} profile${streamed ? ', the files sent through the hub' : ''}${task.attempts > 0 ? ` (attempt ${task.attempts + 1} of ${MAX_ATTEMPTS})` : ''}`);
    this.publish(leased);
    return true;
  }

  /** Asks the ripping station to send the task's rip to the spool, at most once in ASK_AGAIN_MS. */
  private askForSource(task: TranscodeTask): void {
    const asked = this.askedForSource.get(task.id);
    if (task.staged || (asked !== undefined && this.now() - asked < ASK_AGAIN_MS)) return;
    if (!this.options.link.sendToStation(task.agentId, { kind: 'source_wanted', task_id: task.id, root: task.root, source: task.source })) {
      this.tellWaiting(task, []);
      return;
    }
    this.askedForSource.set(task.id, this.now());
    this.options.logger.info({ task: task.id, station: task.agentId }, `Asked ${task.agentId} to send the rip of transcode task ${task.id} to the hub, for a free station that cannot reach it`);
  }

  /** Tells the ripping station that a streamed result waits at the hub for it to fetch and put in place. */
  private tellResultReady(task: TranscodeTask): void {
    if (!task.result || !task.leaseId) return;
    this.options.link.sendToStation(task.agentId, {
      kind: 'result_ready', task_id: task.id, lease_id: task.leaseId, root: task.root, source: task.source, output: task.output, duration_seconds: task.durationSeconds,
      keep_rip: task.keepRip, sha256: task.result.sha256, size_bytes: task.result.bytes,
    });
  }

  /** The task's files at the hub are no longer wanted. */
  private dropFiles(taskId: number): void {
    this.askedForSource.delete(taskId);
    this.options.spool.remove(taskId).catch((error: unknown) => {
      this.options.logger.warn({ task: taskId, err: error }, `Could not remove the files of transcode task ${taskId} from the spool: ${(error as Error).message}`);
    });
  }

  private running(agentId: string, task: TranscodeTask, report: TaskReport, verdict: (accepted: boolean, reason?: string) => void): void {
    const now = this.now();
    const held = task.leaseId === report.lease_id && task.leasedTo === agentId && task.state === 'transcoding' && (task.leaseExpiresAt ?? 0) >= now;
    const fresh = held && (task.leaseExpiresAt ?? 0) - now > this.options.leaseMs / 2;
    // A lease past its half (or one that ran out while nobody took the task) is written anew, under the same guard.
    if (!fresh && !this.tasks.renew(task.id, report.lease_id, agentId, report.progress_percent, now, this.options.leaseMs)) {
      return void verdict(false, this.lostLease(task, report.lease_id));
    }
    const speed = report.current_speed === undefined ? undefined : Number.parseFloat(report.current_speed);
    const latest = { ...this.live.get(task.id) };
    if (report.progress_percent !== undefined) latest.percent = report.progress_percent;
    if (speed !== undefined && speed > 0) latest.speed = speed;
    this.live.set(task.id, latest);
    const current = this.withLive(fresh ? task : this.tasks.get(task.id) as TranscodeTask);
    this.options.jobs.progress({
      type: 'title_update', agent_id: task.agentId, job_id: task.jobId, title_id: task.titleId, state: 'transcoding',
      ...(report.progress_percent !== undefined ? { match_progress: report.progress_percent } : {}),
    });
    this.options.jobs.progress({
      type: 'job_update', agent_id: task.agentId, job_id: task.jobId, state: 'transcoding', current_title: task.titleId,
      ...jobProgress(this.tasks.tasksOfJob(task.agentId, task.jobId).map((t) => this.withLive(t)), this.speedsOfRunning()),
    });
    this.publish(current);
  }

  private finished(agentId: string, task: TranscodeTask, report: TaskReport, verdict: (accepted: boolean, reason?: string) => void): void {
    if (!this.tasks.complete(task.id, report.lease_id, agentId, this.now())) {
      // The same word again (the answer was lost with the link): the same answer.
      if (task.state === 'done' && task.leaseId === report.lease_id && task.transcodedBy === agentId) return void verdict(true);
      const reason = this.lostLease(task, report.lease_id);
      this.options.logger.warn({ task: task.id, station: agentId }, `Discarded the result of transcode task ${task.id} from ${agentId}: ${reason}`);
      return void verdict(false, reason);
    }
    this.live.delete(task.id);
    this.options.logger.info({ task: task.id, job: task.jobId, title: task.titleId, station: agentId, bytes: report.size_bytes }, `Transcode task ${task.id} done by ${agentId}`);
    const done = this.tasks.get(task.id) as TranscodeTask;
    this.publish(done);
    verdict(true);
    // Its result is at the hub: the ripping station puts it in place.
    if (done.streamed) this.tellResultReady(done);
    this.dispatch();
  }

  /**
   * The done task's result is in place (said by its worker, or for a streamed task by the ripping station): now its
   * title is completed (its file is there), and maybe its job.
   */
  private delivered(agentId: string, task: TranscodeTask, report: TaskReport, verdict: (accepted: boolean, reason?: string) => void): void {
    const first = this.tasks.delivered(task.id, report.lease_id, agentId, this.now());
    // Yes to the first word and to its repeats; no when the task moved on meanwhile (retried, cancelled): the
    // station then keeps its rip.
    const again = !first && task.deliveredAt !== undefined && task.leaseId === report.lease_id;
    verdict(first || again, first || again ? undefined : this.lostLease(task, report.lease_id));
    if (!first) return;
    const delivered = this.tasks.get(task.id) as TranscodeTask;
    const by = delivered.transcodedBy ?? agentId;
    this.titleChange(delivered, {
      state: 'completed', match_progress: 100, output_filename: basename(task.output), transcoded_by: by,
      ...(report.size_bytes !== undefined ? { actual_size_bytes: report.size_bytes } : {}),
    });
    this.jobLog(delivered, 'info', `Title ${task.titleId} transcoded by ${by}: ${basename(task.output)}${delivered.streamed ? ' (sent through the hub)' : ''}`);
    // A rip sent to the hub for a streaming station that the ripping station then took itself is no longer wanted either.
    this.dropFiles(task.id);
    this.publish(delivered);
    this.settleJob(task.agentId, task.jobId);
  }

  private failed(agentId: string, task: TranscodeTask, report: TaskReport, verdict: (accepted: boolean) => void): void {
    const reason = report.error ?? 'The transcode failed';
    const recorded = task.leasedTo === agentId && this.tasks.fail(task.id, report.lease_id, `${agentId}: ${reason}`, this.now());
    // Heard either way: a failure under a lease that is no longer current changes nothing.
    verdict(true);
    if (!recorded) return;
    this.live.delete(task.id);
    this.afterFailure(this.tasks.get(task.id) as TranscodeTask, agentId, reason);
    this.dispatch();
  }

  /** Not taken at all: queued again, no attempt counted, and the station is given nothing for a moment. */
  private declined(agentId: string, task: TranscodeTask, report: TaskReport): void {
    if (task.leasedTo !== agentId || !this.tasks.release(task.id, report.lease_id, this.now())) return;
    this.resting.set(agentId, this.now() + RETRY_SAME_STATION_MS);
    this.options.logger.info({ task: task.id, station: agentId }, `${agentId} declined transcode task ${task.id}: ${report.error ?? 'no reason given'}`);
    this.publish(this.tasks.get(task.id) as TranscodeTask);
    this.dispatch();
  }

  private afterFailure(task: TranscodeTask, station: string, reason: string): void {
    const final = task.state === 'failed';
    this.options.logger.warn({ task: task.id, job: task.jobId, title: task.titleId, station, attempts: task.attempts },
      final ? `Transcode task ${task.id} failed for good on its last attempt: ${reason}` : `Transcode task ${task.id} failed on ${station} (attempt ${task.attempts} of ${MAX_ATTEMPTS}) and is queued again: ${reason}`);
    this.jobLog(task, final ? 'error' : 'warn', final
      ? `Title ${task.titleId}: the transcode failed on its last attempt: ${reason}`
      : `Title ${task.titleId}: the transcode failed on ${station} (attempt ${task.attempts} of ${MAX_ATTEMPTS}); queued again: ${reason}`);
    this.publish(task);
    if (final) {
      this.dropFiles(task.id);
      this.titleChange(task, { state: 'failed', error: (task.lastError ?? reason).slice(0, 500) });
      this.settleJob(task.agentId, task.jobId);
    }
  }

  /** Why a lease no longer counts, in words for the worker's log. */
  private lostLease(task: TranscodeTask, leaseId: string): string {
    if (task.state === 'cancelled') return 'The transcode was cancelled';
    if (task.leaseId !== leaseId) return 'The lease ran out and the task was given to another station';
    if (task.state === 'done') return 'The task is done already';
    return `The task is ${task.state}`;
  }

  /**
   * Ends a job waiting on the farm once none of its tasks waits or runs. `restart`: after the hub stopped, titles
   * whose task ended are put right first (the task's end committed, the title's update not yet).
   */
  private settleJob(agentId: string, jobId: number, restart = false): void {
    if (this.options.jobs.jobState(jobId) !== 'transcoding') return;
    const tasks = this.tasks.tasksOfJob(agentId, jobId);
    if (restart) {
      for (const task of tasks) {
        const state = titleStateOf(task);
        if (state) this.titleChange(task, { state, ...(task.state === 'done' ? { output_filename: basename(task.output), ...(task.transcodedBy ? { transcoded_by: task.transcodedBy } : {}) } : {}) });
      }
    }
    const outcome = jobOutcome(tasks);
    if (!outcome) return;
    this.jobLog(tasks[0] as TranscodeTask, outcome.state === 'completed' ? 'info' : 'warn', outcome.state === 'completed'
      ? `Done: ${tasks.length} title(s) transcoded`
      : `${outcome.state === 'failed' ? 'Failed' : 'Stopped'}: ${outcome.error_message}`);
    this.jobChange(tasks[0] as TranscodeTask, { type: 'job_update', ...outcome, ...(outcome.state === 'completed' ? { eta_seconds: 0 } : {}) });
    this.options.logger.info({ job: jobId, station: agentId, state: outcome.state }, `Job ${jobId} ${outcome.state} after its transcodes`);
  }

  private titleChange(task: TranscodeTask, fields: Omit<TitleUpdate, 'type' | 'agent_id' | 'job_id' | 'title_id'>): void {
    this.options.jobs.change({ type: 'title_update', agent_id: task.agentId, job_id: task.jobId, title_id: task.titleId, ...fields });
  }

  private jobChange(task: TranscodeTask, fields: Omit<JobUpdate, 'agent_id' | 'job_id'>): void {
    this.options.jobs.change({ ...fields, agent_id: task.agentId, job_id: task.jobId });
  }

  private jobLog(task: TranscodeTask, level: 'info' | 'warn' | 'error', text: string): void {
    this.options.jobs.change({ type: 'job_log', agent_id: task.agentId, job_id: task.jobId, lines: [{ at: this.now(), level, text: text.slice(0, 500) }] });
  }

  /** Said once per task: it waits for its ripping station, the only one that can reach or send its rip. */
  private tellWaiting(task: TranscodeTask, stations: readonly FarmStation[]): void {
    if (task.root !== 'output' || task.staged || this.toldWaiting.has(task.id) || stations.some((station) => station.agentId === task.agentId)) return;
    this.toldWaiting.add(task.id);
    this.options.logger.warn({ task: task.id, station: task.agentId },
      `Transcode task ${task.id} waits for ${task.agentId}: its rip is in that station's output folder, outside any shared library (DISCBRIDGE_LIBRARY_DIR), and only that station can transcode it or send it through the hub`);
  }

  private tick(): void {
    try {
      for (const task of this.tasks.expireLeases(this.now())) {
        this.live.delete(task.id);
        this.afterFailure(task, task.lastFailedOn ?? 'its station', task.lastError ?? 'its lease ran out');
      }
      // A ripping station whose fetch of a result failed hears of it again (one busy fetching ignores it).
      if (this.now() - this.lastResultNudge >= ASK_AGAIN_MS) {
        this.lastResultNudge = this.now();
        for (const task of this.tasks.undeliveredStreams()) this.tellResultReady(task);
      }
      this.dispatch();
    } catch (error) {
      this.options.logger.error({ err: error }, `Could not check the transcode leases or hand tasks out (tried again in a second): ${(error as Error).message}`);
    }
  }

  private acted(task: TranscodeTask, what: string): TranscodeTaskRecord {
    this.options.logger.info({ task: task.id, job: task.jobId, title: task.titleId }, `Transcode task ${task.id} ${what}`);
    return this.publish(task);
  }

  private publish(task: TranscodeTask): TranscodeTaskRecord {
    const record = taskRecord(task);
    const update: TaskUpdate = { type: 'task_update', ...record };
    this.options.bus.publish('applied', { type: 'task_update', update });
    return record;
  }
}

const megabytes = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) - (b[i] as number);
  return 0;
}
