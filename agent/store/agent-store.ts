// The agent's own SQLite file: the durable outbox of events for the hub, the latest progress per job and title,
// a journal of the jobs it runs (so a restart can tell which were cut short), the transcode tasks it holds, and its
// counters.
// Every event is written here before it is sent; the hub's acknowledgement is what removes it.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  FINISHED_JOB_STATES, discoveredTitleState, isFinished,
  type AgentEvent, type AgentProgress, type JobState, type LinkEvent, type TaskOffer, type TitleState,
} from '../../shared/index.js';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';

export interface UnfinishedJob {
  jobId: number;
  drive: string;
  /** The job's folder relative to the output directory, once it had one. */
  outputDir?: string;
  /** Titles not yet in a final state. */
  openTitles: { titleId: number; state: TitleState }[];
}

const FINISHED_TITLE_STATES: ReadonlySet<TitleState> = new Set(['completed', 'failed', 'skipped', 'cancelled', 'interrupted']);

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS identity (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS progress (key TEXT PRIMARY KEY, job_id INTEGER NOT NULL, after_seq INTEGER NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS jobs (job_id INTEGER PRIMARY KEY, drive TEXT, state TEXT NOT NULL, output_dir TEXT);
  CREATE TABLE IF NOT EXISTS titles (job_id INTEGER NOT NULL, title_id INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (job_id, title_id));
  CREATE TABLE IF NOT EXISTS tasks (task_id INTEGER PRIMARY KEY, lease_id TEXT NOT NULL, state TEXT NOT NULL, offer TEXT NOT NULL, error TEXT, size INTEGER);
`;

/**
 * A transcode task this station holds, as its journal keeps it: running (ffmpeg at work), finished (the checked
 * result waits under its partial name for the hub's yes), accepted (the hub said yes: put it in place), delivered (in
 * place: to tell the hub), failed (to tell the hub). A row goes once the hub has heard the end.
 */
export type HeldTaskState = 'running' | 'finished' | 'accepted' | 'delivered' | 'failed';

export interface HeldTask {
  offer: TaskOffer;
  state: HeldTaskState;
  error?: string;
  /** finished, accepted: the result's size. */
  size?: number;
}

export class AgentStore {
  private db: SqliteFile | undefined;

  constructor(private readonly dataDir: string) {}

  start(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const db = openSqliteFile(join(this.dataDir, 'agent.sqlite'));
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: an event the agent has reported as written must survive a power cut, or the hub would never learn of it.
    db.exec('PRAGMA synchronous = FULL');
    db.exec(SCHEMA);
    this.db = db;
  }

  stop(): void {
    this.db?.close();
    this.db = undefined;
  }

  /** Which SQLite driver holds the file (better-sqlite3, or node:sqlite where there is no native binary). */
  get driver(): string | undefined {
    return this.db?.driver;
  }

  private get handle(): SqliteFile {
    if (!this.db) throw new Error('AgentStore is not started');
    return this.db;
  }

  /** This installation's id, made once: the hub tells a wiped-and-reinstalled station from a restarted one by it. */
  instanceId(): string {
    this.handle.prepare(`INSERT OR IGNORE INTO identity (key, value) VALUES ('instance', ?)`).run(randomUUID());
    return (this.handle.prepare(`SELECT value FROM identity WHERE key = 'instance'`).get() as { value: string }).value;
  }

  nextJobId(): number {
    return this.next('job');
  }

  /** The newest sequence number given to an event (0 before the first). */
  lastSeq(): number {
    return this.counter('seq');
  }

  /**
   * Keeps the counters ahead of what the hub has seen: an agent whose data folder was wiped must not reuse
   * sequence numbers (the hub would drop its events as replays) nor job numbers (they would join old jobs).
   */
  catchUp(hubLastSeq: number, hubLastJobId: number): boolean {
    const behind = this.lastSeq() < hubLastSeq || this.counter('job') < hubLastJobId;
    if (!behind) return false;
    const raise = this.handle.prepare(
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)',
    );
    this.handle.transaction(() => {
      raise.run('seq', hubLastSeq);
      raise.run('job', hubLastJobId);
    });
    return true;
  }

  /**
   * Stores an event and returns the message that carries it. A state change gets the next sequence number and a
   * row in the outbox; a progress update replaces the previous one for its job or title.
   */
  record(event: LinkEvent, progressOnly: boolean, at = Date.now()): AgentEvent | AgentProgress {
    return this.handle.transaction(() => {
      this.journal(event);
      if (progressOnly && (event.type === 'job_update' || event.type === 'title_update')) {
        const key = event.type === 'job_update' ? `job:${event.job_id}` : `title:${event.job_id}:${event.title_id}`;
        const message: AgentProgress = { kind: 'progress', after_seq: this.lastSeq(), at, event };
        this.handle.prepare(
          'INSERT INTO progress (key, job_id, after_seq, at, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET after_seq = excluded.after_seq, at = excluded.at, body = excluded.body',
        ).run(key, event.job_id, message.after_seq, at, JSON.stringify(event));
        return message;
      }
      const seq = this.next('seq');
      this.handle.prepare('INSERT INTO outbox (seq, at, body) VALUES (?, ?, ?)').run(seq, at, JSON.stringify(event));
      if (event.type === 'job_update' && isFinished(event.state)) {
        // A finished job's last word is its final state: older progress must not follow it.
        this.handle.prepare('DELETE FROM progress WHERE job_id = ?').run(event.job_id);
      }
      return { kind: 'event', seq, at, event } satisfies AgentEvent;
    });
  }

  /** Outbox events after `seq`, oldest first. */
  eventsAfter(seq: number, limit: number): AgentEvent[] {
    const rows = this.handle.prepare('SELECT seq, at, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as
      { seq: number; at: number; body: string }[];
    return rows.map((row) => ({ kind: 'event', seq: row.seq, at: row.at, event: JSON.parse(row.body) as LinkEvent }));
  }

  /** The newest progress of every job and title still running. */
  latestProgress(): AgentProgress[] {
    const rows = this.handle.prepare('SELECT after_seq, at, body FROM progress ORDER BY at').all() as { after_seq: number; at: number; body: string }[];
    return rows.map((row) => ({ kind: 'progress', after_seq: row.after_seq, at: row.at, event: JSON.parse(row.body) as AgentProgress['event'] }));
  }

  /** The hub has stored everything up to `seq`. */
  acknowledge(seq: number): void {
    this.handle.prepare('DELETE FROM outbox WHERE seq <= ?').run(seq);
  }

  outboxSize(): number {
    return (this.handle.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /**
   * Jobs the journal says were still running: after a restart, the ones that were cut short. A job handed to the
   * transcode queue is not among them: its station's part ended, and the hub ends the rest.
   */
  unfinishedJobs(): UnfinishedJob[] {
    const jobs = this.handle.prepare(
      `SELECT job_id, drive, output_dir FROM jobs WHERE state NOT IN (${[...FINISHED_JOB_STATES].map(() => '?').join(',')}) ORDER BY job_id`,
    ).all(...FINISHED_JOB_STATES) as { job_id: number; drive: string; output_dir: string | null }[];
    const titles = this.handle.prepare('SELECT title_id, state FROM titles WHERE job_id = ? ORDER BY title_id');
    return jobs.map((job) => ({
      jobId: job.job_id,
      drive: job.drive,
      ...(job.output_dir ? { outputDir: job.output_dir } : {}),
      openTitles: (titles.all(job.job_id) as { title_id: number; state: TitleState }[])
        .filter((title) => !FINISHED_TITLE_STATES.has(title.state))
        .map((title) => ({ titleId: title.title_id, state: title.state })),
    }));
  }

  /** The transcode tasks this station holds, oldest first. */
  heldTasks(): HeldTask[] {
    const rows = this.handle.prepare('SELECT state, offer, error, size FROM tasks ORDER BY task_id').all() as
      { state: HeldTaskState; offer: string; error: string | null; size: number | null }[];
    return rows.map((row) => ({
      offer: JSON.parse(row.offer) as TaskOffer, state: row.state, ...(row.error !== null ? { error: row.error } : {}), ...(row.size !== null ? { size: row.size } : {}),
    }));
  }

  /** Records a task taken, or how it stands now. */
  holdTask(task: HeldTask): void {
    this.handle.prepare(
      `INSERT INTO tasks (task_id, lease_id, state, offer, error, size) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (task_id) DO UPDATE SET lease_id = excluded.lease_id, state = excluded.state, offer = excluded.offer, error = excluded.error, size = excluded.size`,
    ).run(task.offer.task_id, task.offer.lease_id, task.state, JSON.stringify(task.offer), task.error ?? null, task.size ?? null);
  }

  /** Forgets a task under this lease (the hub has heard its end); a newer lease of the same task stays. */
  dropTask(taskId: number, leaseId: string): void {
    this.handle.prepare('DELETE FROM tasks WHERE task_id = ? AND lease_id = ?').run(taskId, leaseId);
  }

  /** Keeps the job journal in step with what the agent reports. */
  private journal(event: LinkEvent): void {
    switch (event.type) {
      case 'transcode_request':
        // The station's part of the job is over: nothing of it is left to recover, nor any progress to send again.
        for (const table of ['jobs', 'titles', 'progress']) this.handle.prepare(`DELETE FROM ${table} WHERE job_id = ?`).run(event.job_id);
        break;
      case 'job_update':
        this.handle.prepare(
          `INSERT INTO jobs (job_id, drive, state, output_dir) VALUES (?, ?, ?, ?)
           ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, drive = COALESCE(excluded.drive, drive),
             output_dir = COALESCE(excluded.output_dir, output_dir)`,
        ).run(event.job_id, event.drive_id ?? null, event.state satisfies JobState, event.output_dir ?? null);
        if (isFinished(event.state)) this.handle.prepare('DELETE FROM titles WHERE job_id = ?').run(event.job_id);
        break;
      case 'titles_discovered': {
        const insert = this.handle.prepare('INSERT OR REPLACE INTO titles (job_id, title_id, state) VALUES (?, ?, ?)');
        for (const title of event.titles) insert.run(event.job_id, title.title_id, discoveredTitleState(title.selected));
        break;
      }
      case 'title_update':
        this.handle.prepare('INSERT OR REPLACE INTO titles (job_id, title_id, state) VALUES (?, ?, ?)').run(event.job_id, event.title_id, event.state);
        break;
      case 'drive_event':
        break;
    }
  }

  private counter(name: string): number {
    return (this.handle.prepare('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined)?.value ?? 0;
  }

  private next(name: string): number {
    const row = this.handle.prepare(
      'INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value',
    ).get(name) as { value: number };
    return row.value;
  }
}
