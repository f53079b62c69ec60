// The hub's transcode queue, in its SQLite file: one task per ripped title that needs transcoding, leased to one
// station at a time. Every change is one statement guarded by the task's state, lease and the lease's end, so a task
// ends done exactly once: a result under a lease that was given away (or cancelled) is refused, and so is a second
// one. A lease that ran out puts the task back in the queue but stays its newest until the next lease: a worker back
// from a cut link may still deliver under it while nobody else has taken the task.
import { randomUUID } from 'node:crypto';
import type { TaskRoot, TranscodeTaskState } from '../../shared/index.js';
import type { Db } from '../store/database.js';

/** A task fails for good after this many attempts (a worker's failure, or a lease that ran out). */
export const MAX_ATTEMPTS = 3;

export interface NewTask {
  agentId: string;
  jobId: number;
  titleId: number;
  profile: string;
  /** The rip, relative to the library (or to the ripping station's output folder). */
  source: string;
  /** Where the result goes, relative to the same folder. */
  output: string;
  root: TaskRoot;
  durationSeconds: number;
  keepRip: boolean;
}

export interface TranscodeTask extends NewTask {
  id: number;
  state: TranscodeTaskState;
  priority: number;
  attempts: number;
  leaseId?: string;
  leasedTo?: string;
  leaseExpiresAt?: number;
  progressPercent?: number;
  transcodedBy?: string;
  lastFailedOn?: string;
  lastError?: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** A done task whose result its worker has put in place. */
  deliveredAt?: number;
  /** The rip is in the hub's spool (a task outside any library, for a station that cannot reach it). */
  staged?: { sha256: string; bytes: number };
  /** The newest lease streams its files through the hub. */
  streamed: boolean;
  /** That lease's result is in the hub's spool. */
  result?: { sha256: string; bytes: number };
}

interface TaskRow {
  id: number; agent_id: string; job_id: number; title_id: number; profile: string; source: string; output: string;
  root: TaskRoot; duration_seconds: number; keep_rip: number;
  state: TranscodeTaskState; priority: number; attempts: number; lease_id: string | null; leased_to: string | null;
  lease_expires_at: number | null; progress_percent: number | null; transcoded_by: string | null; last_failed_on: string | null;
  last_error: string | null; created_at: number; updated_at: number; finished_at: number | null; delivered_at: number | null;
  source_sha256: string | null; source_bytes: number | null; streamed: number; result_sha256: string | null; result_bytes: number | null;
}

function taskOf(row: TaskRow): TranscodeTask {
  return {
    id: row.id, agentId: row.agent_id, jobId: row.job_id, titleId: row.title_id, profile: row.profile, source: row.source, output: row.output,
    root: row.root, durationSeconds: row.duration_seconds, keepRip: row.keep_rip === 1,
    state: row.state, priority: row.priority, attempts: row.attempts, createdAt: row.created_at, updatedAt: row.updated_at, streamed: row.streamed === 1,
    ...(row.lease_id !== null ? { leaseId: row.lease_id } : {}),
    ...(row.leased_to !== null ? { leasedTo: row.leased_to } : {}),
    ...(row.lease_expires_at !== null ? { leaseExpiresAt: row.lease_expires_at } : {}),
    ...(row.progress_percent !== null ? { progressPercent: row.progress_percent } : {}),
    ...(row.transcoded_by !== null ? { transcodedBy: row.transcoded_by } : {}),
    ...(row.last_failed_on !== null ? { lastFailedOn: row.last_failed_on } : {}),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
    ...(row.delivered_at !== null ? { deliveredAt: row.delivered_at } : {}),
    ...(row.source_sha256 !== null && row.source_bytes !== null ? { staged: { sha256: row.source_sha256, bytes: row.source_bytes } } : {}),
    ...(row.result_sha256 !== null && row.result_bytes !== null ? { result: { sha256: row.result_sha256, bytes: row.result_bytes } } : {}),
  };
}

/** Why a person's action on a task was refused, in words for the REST answer (409). */
export class TaskRefusal extends Error {}

/** The action named a task the queue does not have (404). */
export class NoSuchTask extends TaskRefusal {}

/** Kept of a failure's reason: what the REST record and the dashboard show. */
const MAX_ERROR_LENGTH = 500;

export class TranscodeQueue {
  constructor(private readonly db: Db) {}

  /** Adds the task, or returns the one already there for that title (a replayed enqueue adds nothing). */
  enqueue(task: NewTask, now: number): { task: TranscodeTask; added: boolean } {
    const added = this.db.prepare(`
      INSERT INTO transcode_tasks (agent_id, job_id, title_id, profile, source, output, root, duration_seconds, keep_rip, state, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)
      ON CONFLICT (agent_id, job_id, title_id) DO NOTHING
    `).run(task.agentId, task.jobId, task.titleId, task.profile, task.source, task.output, task.root, task.durationSeconds, task.keepRip ? 1 : 0, now, now).changes === 1;
    const row = this.db.prepare('SELECT * FROM transcode_tasks WHERE agent_id = ? AND job_id = ? AND title_id = ?').get(task.agentId, task.jobId, task.titleId);
    return { task: taskOf(row as TaskRow), added };
  }

  get(id: number): TranscodeTask | undefined {
    const row = this.db.prepare('SELECT * FROM transcode_tasks WHERE id = ?').get(id) as TaskRow | undefined;
    return row ? taskOf(row) : undefined;
  }

  /** Tasks newest first, optionally in one state; at most `limit`. */
  list(options: { state?: TranscodeTaskState; limit: number }): TranscodeTask[] {
    const rows = options.state
      ? this.db.prepare('SELECT * FROM transcode_tasks WHERE state = ? ORDER BY id DESC LIMIT ?').all(options.state, options.limit)
      : this.db.prepare('SELECT * FROM transcode_tasks ORDER BY id DESC LIMIT ?').all(options.limit);
    return (rows as TaskRow[]).map(taskOf);
  }

  /** The tasks of one job, in title order. */
  tasksOfJob(agentId: string, jobId: number): TranscodeTask[] {
    return (this.db.prepare('SELECT * FROM transcode_tasks WHERE agent_id = ? AND job_id = ? ORDER BY title_id').all(agentId, jobId) as TaskRow[]).map(taskOf);
  }

  /** Queued tasks in the order they are handed out: highest priority first, then oldest. */
  queued(limit: number, offset = 0): TranscodeTask[] {
    return (this.db.prepare("SELECT * FROM transcode_tasks WHERE state = 'queued' ORDER BY priority DESC, id LIMIT ? OFFSET ?").all(limit, offset) as TaskRow[]).map(taskOf);
  }

  /** The tasks running under a lease of this station. */
  runningOn(agentId: string): TranscodeTask[] {
    return (this.db.prepare("SELECT * FROM transcode_tasks WHERE state = 'transcoding' AND leased_to = ? ORDER BY id").all(agentId) as TaskRow[]).map(taskOf);
  }

  /** How many tasks are in each state. */
  countByState(): Record<TranscodeTaskState, number> {
    const counts: Record<TranscodeTaskState, number> = { queued: 0, transcoding: 0, done: 0, failed: 0, cancelled: 0 };
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM transcode_tasks GROUP BY state').all() as { state: TranscodeTaskState; n: number }[]) counts[row.state] = row.n;
    return counts;
  }

  /** Running tasks per station, for counting their used slots. */
  runningByStation(): Map<string, number> {
    const rows = this.db.prepare("SELECT leased_to, COUNT(*) AS n FROM transcode_tasks WHERE state = 'transcoding' GROUP BY leased_to").all() as { leased_to: string; n: number }[];
    return new Map(rows.map((row) => [row.leased_to, row.n]));
  }

  /**
   * Leases a queued task to `worker` until `now + leaseMs` (`streamed`: its files go through the hub); the new lease's
   * id, or undefined if it is no longer queued. An earlier lease's result in the spool is no longer the task's.
   */
  lease(id: number, worker: string, now: number, leaseMs: number, streamed = false): string | undefined {
    const leaseId = randomUUID();
    const changed = this.db.prepare(`
      UPDATE transcode_tasks SET state = 'transcoding', lease_id = ?, leased_to = ?, lease_expires_at = ?, progress_percent = 0, updated_at = ?,
        streamed = ?, result_sha256 = NULL, result_bytes = NULL
      WHERE id = ? AND state = 'queued' AND (? = 0 OR source_sha256 IS NOT NULL)
    `).run(leaseId, worker, now + leaseMs, now, streamed ? 1 : 0, id, streamed ? 1 : 0).changes;
    return changed === 1 ? leaseId : undefined;
  }

  /** The task's rip arrived whole in the hub's spool; false when the task is no longer open. */
  staged(id: number, sha256: string, bytes: number, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET source_sha256 = ?, source_bytes = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'transcoding')
    `).run(sha256, bytes, now, id).changes === 1;
  }

  /** A streamed lease's result arrived whole in the spool; false when the lease is no longer the task's. */
  resultArrived(id: number, leaseId: string, worker: string, sha256: string, bytes: number, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET result_sha256 = ?, result_bytes = ?, updated_at = ?
      WHERE id = ? AND lease_id = ? AND leased_to = ? AND streamed = 1 AND state IN ('queued', 'transcoding')
    `).run(sha256, bytes, now, id, leaseId, worker).changes === 1;
  }

  /** Done tasks whose streamed result the ripping station (this one, or any) has not put in place yet. */
  undeliveredStreams(agentId?: string): TranscodeTask[] {
    return (this.db.prepare("SELECT * FROM transcode_tasks WHERE (? IS NULL OR agent_id = ?) AND state = 'done' AND streamed = 1 AND delivered_at IS NULL ORDER BY id LIMIT 1000")
      .all(agentId ?? null, agentId ?? null) as TaskRow[]).map(taskOf);
  }

  /** The ids of tasks that may still need their files in the spool (not finished, or done and not yet in place). */
  openIds(): Set<number> {
    const rows = this.db.prepare("SELECT id FROM transcode_tasks WHERE state IN ('queued', 'transcoding') OR (state = 'done' AND delivered_at IS NULL)").all() as { id: number }[];
    return new Set(rows.map((row) => row.id));
  }

  /** A queued task whose rip is gone for good: failed at once, with the reason. False when it is not queued. */
  giveUp(id: number, reason: string, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET state = 'failed', last_error = ?, progress_percent = NULL, finished_at = ?, updated_at = ? WHERE id = ? AND state = 'queued'
    `).run(reason.slice(0, MAX_ERROR_LENGTH), now, now, id).changes === 1;
  }

  /**
   * A report from the worker holding the lease: its progress, and the lease renewed until `now + leaseMs`. A lease
   * that ran out while nobody took the task is taken up again (its worker was cut off, not gone). False when the
   * lease is no longer this task's (given away, cancelled): the worker should stop.
   */
  renew(id: number, leaseId: string, worker: string, progressPercent: number | undefined, now: number, leaseMs: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET state = 'transcoding', lease_expires_at = ?, progress_percent = COALESCE(?, progress_percent), updated_at = ?
      WHERE id = ? AND lease_id = ? AND leased_to = ? AND state IN ('queued', 'transcoding')
    `).run(now + leaseMs, progressPercent ?? null, now, id, leaseId, worker).changes === 1;
  }

  /**
   * The result under the task's newest lease: done, by `worker`. Taken while the lease runs, or after it ran out as
   * long as nobody has been given the task since (the lease is still the task's newest). False (and nothing changes)
   * for any other lease, and a second time.
   */
  complete(id: number, leaseId: string, worker: string, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET state = 'done', transcoded_by = leased_to, progress_percent = 100, lease_expires_at = NULL,
        updated_at = ?, finished_at = ?
      WHERE id = ? AND lease_id = ? AND leased_to = ? AND state IN ('queued', 'transcoding') AND (streamed = 0 OR result_sha256 IS NOT NULL)
    `).run(now, now, id, leaseId, worker).changes === 1;
  }

  /**
   * The done task's result is in place, said by the station that put it there: the worker whose lease it was done
   * under, or for a streamed lease the ripping station. False for any other, and a second time.
   */
  delivered(id: number, leaseId: string, by: string, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET delivered_at = ?, updated_at = ?
      WHERE id = ? AND lease_id = ? AND (CASE WHEN streamed = 1 THEN agent_id ELSE transcoded_by END) = ? AND state = 'done' AND delivered_at IS NULL
    `).run(now, now, id, leaseId, by).changes === 1;
  }

  /** A lease handed out that its station never took (the offer was lost with the link): queued again, no attempt counted. */
  release(id: number, leaseId: string, now: number): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET state = 'queued', lease_id = NULL, leased_to = NULL, lease_expires_at = NULL, progress_percent = NULL, updated_at = ?
      WHERE id = ? AND lease_id = ? AND state = 'transcoding'
    `).run(now, id, leaseId).changes === 1;
  }

  /**
   * A failure under a current lease: the task goes back to the queue (remembering the station it failed on), or
   * fails for good after its last attempt. False for a lease that is no longer current.
   */
  fail(id: number, leaseId: string, reason: string, now: number): boolean {
    return this.failLease(id, leaseId, reason, now, now, false);
  }

  /** Leases whose worker went silent: each counts as a failed attempt on that worker. Returns the tasks affected. */
  expireLeases(now: number): TranscodeTask[] {
    const expired = (this.db.prepare("SELECT * FROM transcode_tasks WHERE state = 'transcoding' AND lease_expires_at < ?").all(now) as TaskRow[]).map(taskOf);
    this.db.transaction(() => {
      for (const task of expired) this.failLease(task.id, task.leaseId as string, `${task.leasedTo} went silent: its lease ran out`, now, 0, true);
    })();
    return expired.map((task) => this.get(task.id) as TranscodeTask);
  }

  /**
   * Every running lease runs from `now` again: after the hub itself was down, its workers had nowhere to report, and
   * their silence must not count against them.
   */
  extendLeases(now: number, leaseMs: number): number {
    return this.db.prepare("UPDATE transcode_tasks SET lease_expires_at = ? WHERE state = 'transcoding' AND lease_expires_at < ?")
      .run(now + leaseMs, now + leaseMs).changes;
  }

  /** Ends a lease as failed if it is current and (unless expiring it) has not run out by `notExpiredAt`. */
  /**
   * `keepLease`: a lease that ran out stays the task's newest until the next lease, so its worker, only cut off, may
   * still deliver; a worker that said it failed gave its lease up.
   */
  private failLease(id: number, leaseId: string, reason: string, now: number, notExpiredAt: number, keepLease: boolean): boolean {
    return this.db.prepare(`
      UPDATE transcode_tasks SET attempts = attempts + 1, last_error = ?, last_failed_on = leased_to, progress_percent = NULL,
        state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'queued' END,
        finished_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE NULL END,
        lease_id = CASE WHEN ? THEN lease_id ELSE NULL END, lease_expires_at = NULL, updated_at = ?
      WHERE id = ? AND lease_id = ? AND state = 'transcoding' AND lease_expires_at >= ?
    `).run(reason.slice(0, MAX_ERROR_LENGTH), MAX_ATTEMPTS, MAX_ATTEMPTS, now, keepLease ? 1 : 0, now, id, leaseId, notExpiredAt).changes === 1;
  }

  /** A failed or cancelled task back in the queue, with its attempts counted afresh. */
  retry(id: number, now: number): TranscodeTask {
    const changed = this.db.prepare(`
      UPDATE transcode_tasks SET state = 'queued', attempts = 0, last_error = NULL, last_failed_on = NULL, progress_percent = NULL,
        leased_to = NULL, transcoded_by = NULL, finished_at = NULL, result_sha256 = NULL, result_bytes = NULL,
        source_sha256 = NULL, source_bytes = NULL, updated_at = ?
      WHERE id = ? AND (state IN ('failed', 'cancelled') OR (state = 'done' AND delivered_at IS NULL))
    `).run(now, id).changes;
    return this.afterAction(id, changed, 'only a failed or cancelled task (or one done whose result never arrived) can be retried');
  }

  /** Cancels a queued or running task; a running one's lease is void, so its worker's result will be refused. */
  cancel(id: number, now: number): TranscodeTask {
    const changed = this.db.prepare(`
      UPDATE transcode_tasks SET state = 'cancelled', lease_id = NULL, leased_to = NULL, lease_expires_at = NULL, updated_at = ?, finished_at = ?
      WHERE id = ? AND (state IN ('queued', 'transcoding') OR (state = 'done' AND delivered_at IS NULL))
    `).run(now, now, id).changes;
    return this.afterAction(id, changed, 'only a queued or running task (or one done whose result never arrived) can be cancelled');
  }

  /** Puts a queued task at the head of the queue. */
  prioritize(id: number, now: number): TranscodeTask {
    const changed = this.db.prepare(`
      UPDATE transcode_tasks SET priority = (SELECT COALESCE(MAX(priority), 0) + 1 FROM transcode_tasks), updated_at = ?
      WHERE id = ? AND state = 'queued'
    `).run(now, id).changes;
    return this.afterAction(id, changed, 'only a queued task can be moved up');
  }

  private afterAction(id: number, changed: number, refusal: string): TranscodeTask {
    const task = this.get(id);
    if (!task) throw new NoSuchTask(`There is no transcode task ${id}`);
    if (changed !== 1) throw new TaskRefusal(`Task ${id} is ${task.state}: ${refusal}`);
    return task;
  }
}
