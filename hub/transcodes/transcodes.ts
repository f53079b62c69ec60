// The transcode farm at the hub: the queue (transcode-queue.ts) as a hub component. It hands out nothing itself yet
// (leasing to stations comes with their task messages); it gives running leases their full time again when the hub
// starts, expires those whose worker went silent, answers the REST actions of people (retry, cancel, prioritize),
// and tells every change it makes to the bus as a task_update.
import type { Logger } from 'pino';
import type { TaskUpdate, TranscodeTaskRecord, TranscodeTaskState } from '../../shared/index.js';
import type { EventBus } from '../events/event-bus.js';
import type { Db } from '../store/database.js';
import { TranscodeQueue, type NewTask, type TranscodeTask } from './transcode-queue.js';

export interface TranscodesOptions {
  db: Db;
  bus: EventBus;
  /** A lease lives this long after the worker's last report (DISCBRIDGE_LEASE_SECONDS). */
  leaseMs: number;
  logger: Logger;
  /** How often leases are checked for expiry. */
  sweepMs?: number;
  now?: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A task as REST and the dashboard socket show it. */
export function taskRecord(task: TranscodeTask): TranscodeTaskRecord {
  return {
    task_id: task.id, agent_id: task.agentId, job_id: task.jobId, title_id: task.titleId, profile: task.profile, source: task.source, output: task.output,
    state: task.state, priority: task.priority, attempts: task.attempts,
    ...(task.state === 'transcoding' && task.leasedTo !== undefined ? { leased_to: task.leasedTo } : {}),
    ...(task.state === 'transcoding' && task.leaseExpiresAt !== undefined ? { lease_expires_at: iso(task.leaseExpiresAt) } : {}),
    ...(task.progressPercent !== undefined ? { progress_percent: task.progressPercent } : {}),
    ...(task.transcodedBy !== undefined ? { transcoded_by: task.transcodedBy } : {}),
    ...(task.lastError !== undefined ? { last_error: task.lastError.slice(0, 500) } : {}),
    created_at: iso(task.createdAt), updated_at: iso(task.updatedAt),
    ...(task.finishedAt !== undefined ? { finished_at: iso(task.finishedAt) } : {}),
  };
}

export class Transcodes {
  private queue: TranscodeQueue | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: TranscodesOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.queue = new TranscodeQueue(this.options.db);
    const extended = this.queue.extendLeases(this.now(), this.options.leaseMs);
    if (extended > 0) this.options.logger.info({ tasks: extended }, `${extended} transcode task(s) were running when the hub stopped: their stations have ${this.options.leaseMs / 1000} s to report`);
    this.sweepTimer = setInterval(() => this.expireLeases(), this.options.sweepMs ?? 1000);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** A ripped title that needs transcoding, added (and told) once however often it is asked for. */
  enqueue(task: NewTask): TranscodeTask {
    const { task: queued, added } = this.tasks.enqueue(task, this.now());
    if (added) this.publish(queued);
    return queued;
  }

  list(options: { state?: TranscodeTaskState; limit: number }): TranscodeTaskRecord[] {
    return this.tasks.list(options).map(taskRecord);
  }

  retry(id: number): TranscodeTaskRecord {
    return this.acted(this.tasks.retry(id, this.now()), 'retried');
  }

  cancel(id: number): TranscodeTaskRecord {
    return this.acted(this.tasks.cancel(id, this.now()), 'cancelled');
  }

  prioritize(id: number): TranscodeTaskRecord {
    return this.acted(this.tasks.prioritize(id, this.now()), 'moved to the head of the queue');
  }

  /** The queue itself, for the parts that lease and report (and for tests). */
  get tasks(): TranscodeQueue {
    if (!this.queue) throw new Error('The transcode queue is not started');
    return this.queue;
  }

  private expireLeases(): void {
    let expired: TranscodeTask[];
    try {
      expired = this.tasks.expireLeases(this.now());
    } catch (error) {
      this.options.logger.error({ err: error }, `Could not check the transcode leases (tried again in a second): ${(error as Error).message}`);
      return;
    }
    for (const task of expired) {
      this.options.logger.warn({ task: task.id, job: task.jobId, title: task.titleId, state: task.state, attempts: task.attempts },
        task.state === 'failed'
          ? `Transcode task ${task.id} failed for good: ${task.lastError} on its last attempt`
          : `Transcode task ${task.id} is queued again: ${task.lastError}`);
      this.publish(task);
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
