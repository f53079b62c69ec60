// The hub's record of every station: agents, drives, jobs and titles, kept in SQLite.
// Events are applied in memory at once (so dashboards get them without waiting) and written in batched
// transactions; the last sequence number applied per agent commits in the same transaction as the rows it changed,
// and only committed sequence numbers are acknowledged to agents. Every state change raises the hub's revision.
// Progress-only updates are latest-wins: they change the job and title rows but add no event and no revision.
import {
  FINISHED_JOB_STATES,
  type AgentEvent, type AgentHello, type AgentProgress, type LogLine, type DriveRecord, type JobDetail, type JobRecord, type JobState,
  type StationEvent, type TitleRecord, type TitleState,
} from '../../shared/index.js';
import type { Logger } from 'pino';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

export interface JobQuery {
  limit: number;
  before?: number;
  agent_id?: string;
  drive_id?: string;
  state?: JobState;
}

export interface StoredAgent {
  agent_id: string;
  name: string;
  version: string;
  last_seen: number;
}

/** A job as stored; the REST API adds whether its station can be reached. */
export type StoredJob = Omit<JobRecord, 'reachable'>;
export type StoredJobDetail = Omit<JobDetail, 'reachable'>;

/** How an agent's sequence and job numbers map to the hub's: hub = agent + offset. */
export interface Numbering {
  seqOffset: number;
  jobOffset: number;
}

export interface JobRef {
  agent_id: string;
  agent_job_id: number;
  drive_id: string | undefined;
  state: JobState;
}

type Write = () => void;

export type CommitListener = (agents: ReadonlyMap<string, number>, events: readonly StationEvent[]) => void;

/** Told how long each flush's writing took (seconds), for the metrics of the hub's disk. */
export type FlushListener = (seconds: number) => void;

/** The finished job states as an SQL list, from the one set the protocol defines. */
const FINISHED_SQL = `(${[...FINISHED_JOB_STATES].map((state) => `'${state}'`).join(',')})`;

export class StationStore {
  private pending: Write[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private nextJobId = 1;
  /** Hub job id by agent and agent job id. */
  private readonly jobIds = new Map<string, number>();
  /** State of every unfinished job, to tell a state change from a progress update. */
  private readonly liveJobs = new Map<number, JobState>();
  private readonly liveTitles = new Map<string, TitleState>();
  private readonly lastSeqs = new Map<string, number>();
  /** The newest sequence number per agent in the writes not yet committed. */
  private pendingSeqs = new Map<string, number>();
  private readonly committedSeqs = new Map<string, number>();
  private rev = 0;
  /** State-changing events applied but not yet written, in order: told to the commit listeners once they are. */
  private uncommitted: StationEvent[] = [];
  private readonly commitListeners: CommitListener[] = [];
  private readonly flushListeners = new Set<FlushListener>();
  /** The newest hello of every station since the hub started: what it said of itself (version, outbox) last time. */
  private readonly hellos = new Map<string, AgentHello>();

  /** Prepared statements by SQL text: compiling one costs more than running it, and events arrive by the thousand. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Db, private readonly logger: Logger, private readonly flushMs = 100) {}

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Adds a listener called after each commit with the newest committed sequence number of every agent whose events it
   * held, and those events in the order they were applied.
   */
  onCommit(listener: CommitListener): void {
    this.commitListeners.push(listener);
  }

  /** Adds a listener told the duration of every flush that wrote; returns what removes it. */
  onFlush(listener: FlushListener): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  /** The newest hello this station sent since the hub started. */
  latestHello(agentId: string): AgentHello | undefined {
    return this.hellos.get(agentId);
  }

  /** The hub's revision: the number of state changes applied, ever. */
  get revision(): number {
    return this.rev;
  }

  /** Counts a state change that is not a station event (a station going on- or offline). */
  nextRevision(): number {
    this.rev++;
    this.pending.push(this.writeRevision);
    return this.rev;
  }

  private readonly writeRevision = () => {
    this.statement(`INSERT INTO meta (key, value) VALUES ('rev', ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`).run(this.rev);
  };

  start(): void {
    const max = this.statement('SELECT MAX(job_id) AS id FROM jobs').get() as { id: number | null };
    this.nextJobId = (max.id ?? 0) + 1;
    for (const row of this.statement('SELECT agent_id, last_seq FROM agents').all() as { agent_id: string; last_seq: number }[]) {
      this.lastSeqs.set(row.agent_id, row.last_seq);
      this.committedSeqs.set(row.agent_id, row.last_seq);
    }
    this.rev = (this.statement(`SELECT value FROM meta WHERE key = 'rev'`).get() as { value: number } | undefined)?.value ?? 0;
    const unfinished = this.statement(
      `SELECT job_id, agent_id, agent_job_id, state FROM jobs WHERE state NOT IN ${FINISHED_SQL}`,
    ).all() as { job_id: number; agent_id: string; agent_job_id: number; state: JobState }[];
    for (const job of unfinished) {
      this.jobIds.set(jobKey(job.agent_id, job.agent_job_id), job.job_id);
      this.liveJobs.set(job.job_id, job.state);
    }
    const titles = this.statement(
      `SELECT t.job_id, t.title_id, t.state FROM titles t JOIN jobs j USING (job_id)
       WHERE j.state NOT IN ${FINISHED_SQL}`,
    ).all() as { job_id: number; title_id: number; state: TitleState }[];
    for (const title of titles) this.liveTitles.set(titleKey(title.job_id, title.title_id), title.state);
    this.flushTimer = setInterval(() => this.flush(), this.flushMs);
    this.flushTimer.unref();
  }

  stop(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
  }

  /**
   * Writes everything applied so far, in one transaction. If the batch fails, a busy or full database keeps it for
   * the next flush; any other error writes the batch one step at a time so that one bad step loses only itself.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const writes = this.pending;
    const seqs = this.pendingSeqs;
    const events = this.uncommitted;
    this.pending = [];
    this.pendingSeqs = new Map();
    this.uncommitted = [];
    const began = performance.now();
    try {
      this.db.transaction(() => {
        for (const write of writes) write();
      })();
      this.wrote(began);
      this.committed(seqs, events);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR)/.test(code)) {
        this.logger.error({ code, waiting: writes.length }, 'Cannot write the hub database (busy or disk full); will retry');
        this.pending = writes.concat(this.pending);
        this.uncommitted = events.concat(this.uncommitted);
        for (const [agent, seq] of seqs) this.pendingSeqs.set(agent, Math.max(seq, this.pendingSeqs.get(agent) ?? 0));
        return;
      }
      this.logger.error({ err: error }, 'A batch of hub database writes failed; writing it step by step');
      for (const write of writes) {
        try {
          this.db.transaction(write)();
        } catch (stepError) {
          this.logger.error({ err: stepError }, 'Dropped one hub database write');
        }
      }
      this.wrote(began);
      this.committed(seqs, events);
    }
  }

  private wrote(began: number): void {
    const seconds = (performance.now() - began) / 1000;
    for (const listener of this.flushListeners) listener(seconds);
  }

  private committed(seqs: ReadonlyMap<string, number>, events: readonly StationEvent[]): void {
    if (seqs.size === 0) return;
    for (const [agent, seq] of seqs) this.committedSeqs.set(agent, Math.max(seq, this.committedSeqs.get(agent) ?? 0));
    for (const listener of this.commitListeners) listener(seqs, events);
  }

  /** The newest sequence number of this agent that is safely in the database. */
  committedSeq(agentId: string): number {
    return this.committedSeqs.get(agentId) ?? 0;
  }

  /** The highest job number this agent has used, as far as the hub knows. */
  lastAgentJobId(agentId: string): number {
    this.flush();
    const row = this.statement('SELECT MAX(agent_job_id) AS id FROM jobs WHERE agent_id = ?').get(agentId) as { id: number | null };
    return row.id ?? 0;
  }

  /**
   * Records an agent that said hello, and replaces what we knew of its drives with what it reports now. Returns how
   * its numbers map to the hub's: a new installation of a known station (its data folder wiped) numbers from 1 again.
   */
  registerAgent(hello: AgentHello, now: number): Numbering {
    this.flush();
    this.hellos.set(hello.agent_id, hello);
    const known = this.statement('SELECT instance, seq_offset, job_offset FROM agents WHERE agent_id = ?').get(hello.agent_id) as
      { instance: string | null; seq_offset: number; job_offset: number } | undefined;
    let numbering: Numbering = { seqOffset: known?.seq_offset ?? 0, jobOffset: known?.job_offset ?? 0 };
    if (known?.instance && hello.instance && known.instance !== hello.instance) {
      numbering = { seqOffset: this.lastSeq(hello.agent_id), jobOffset: this.lastAgentJobId(hello.agent_id) };
      this.logger.warn({ agent: hello.agent_id, ...numbering }, 'A station came back as a new installation (its data was wiped); its numbers continue after the old ones');
    }
    this.pending.push(() => {
      this.statement(
        `INSERT INTO agents (agent_id, name, version, last_seen, instance, seq_offset, job_offset) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name, version = excluded.version, last_seen = excluded.last_seen,
           instance = excluded.instance, seq_offset = excluded.seq_offset, job_offset = excluded.job_offset`,
      ).run(hello.agent_id, hello.name, hello.version, now, hello.instance ?? known?.instance ?? null, numbering.seqOffset, numbering.jobOffset);
      // The same disc still in the drive keeps showing how its last job ended.
      const before = new Map((this.statement('SELECT drive_id, has_disc, volume_label, last_job_id FROM drives WHERE agent_id = ?').all(hello.agent_id) as
        { drive_id: string; has_disc: number; volume_label: string | null; last_job_id: number | null }[]).map((row) => [row.drive_id, row]));
      this.statement('DELETE FROM drives WHERE agent_id = ?').run(hello.agent_id);
      const insert = this.statement(
        `INSERT INTO drives (agent_id, drive_id, has_disc, volume_label, disc_type, job_id, last_job_id, waiting, waiting_count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const drive of hello.drives) {
        const old = before.get(drive.drive_id);
        const sameDisc = drive.has_disc && old?.has_disc === 1 && (old.volume_label ?? '') === (drive.volume_label ?? '');
        insert.run(hello.agent_id, drive.drive_id, drive.has_disc ? 1 : 0, drive.volume_label ?? null, drive.disc_type ?? null,
          this.runningJobOn(hello.agent_id, drive.drive_id) ?? null, sameDisc ? old.last_job_id : null,
          drive.waiting ? JSON.stringify(drive.waiting) : null, drive.waiting_count ?? null);
      }
    });
    this.flush();
    return numbering;
  }

  touchAgent(agentId: string, now: number): void {
    this.pending.push(() => this.statement('UPDATE agents SET last_seen = ? WHERE agent_id = ?').run(now, agentId));
  }

  lastSeq(agentId: string): number {
    return this.lastSeqs.get(agentId) ?? 0;
  }

  /**
   * Applies one event from an agent. Returns the event as dashboards see it (job ids are the hub's own),
   * or undefined when this sequence number was applied before.
   */
  apply(agentId: string, envelope: Omit<AgentEvent, 'kind'>): StationEvent | undefined {
    if (envelope.seq <= this.lastSeq(agentId)) return undefined;
    this.lastSeqs.set(agentId, envelope.seq);
    this.pendingSeqs.set(agentId, envelope.seq);
    this.rev++;
    const { rev } = this;
    const event = { ...envelope.event, agent_id: agentId, rev } as StationEvent;
    const { seq, at } = envelope;
    let publicEvent: StationEvent;
    switch (event.type) {
      case 'drive_event':
        publicEvent = event;
        this.pending.push(() => this.writeDriveEvent(agentId, event));
        break;
      case 'titles_discovered': {
        const jobId = this.hubJobId(agentId, event.job_id, at);
        publicEvent = { ...event, job_id: jobId };
        for (const title of event.titles) this.liveTitles.set(titleKey(jobId, title.title_id), title.selected ? 'pending' : 'skipped');
        this.pending.push(() => {
          const insert = this.statement(
            `INSERT INTO titles (job_id, title_id, name, duration_seconds, chapters, expected_size_bytes, selected, state, source_file, streams)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (job_id, title_id) DO UPDATE SET name = excluded.name, duration_seconds = excluded.duration_seconds,
               chapters = excluded.chapters, expected_size_bytes = excluded.expected_size_bytes,
               selected = excluded.selected, state = excluded.state, source_file = excluded.source_file, streams = excluded.streams`,
          );
          for (const t of event.titles) {
            insert.run(jobId, t.title_id, t.name ?? null, t.duration_seconds, t.chapters, t.expected_size_bytes,
              t.selected ? 1 : 0, t.selected ? 'pending' : 'skipped', t.source_file ?? null, t.streams ? JSON.stringify(t.streams) : null);
          }
          // An audio CD's ids come with its tracks and belong to the job.
          if (event.musicbrainz_disc_id !== undefined || event.freedb_disc_id !== undefined) {
            this.statement('UPDATE jobs SET musicbrainz_disc_id = COALESCE(?, musicbrainz_disc_id), freedb_disc_id = COALESCE(?, freedb_disc_id) WHERE job_id = ?')
              .run(event.musicbrainz_disc_id ?? null, event.freedb_disc_id ?? null, jobId);
          }
        });
        break;
      }
      case 'job_update': {
        const jobId = this.hubJobId(agentId, event.job_id, at, event);
        publicEvent = { ...event, job_id: jobId };
        if (FINISHED_JOB_STATES.has(event.state)) this.forgetJob(agentId, event.job_id, jobId);
        else this.liveJobs.set(jobId, event.state);
        this.pending.push(() => this.writeJobUpdate(jobId, publicEvent as typeof event, at));
        break;
      }
      case 'job_log': {
        const jobId = this.hubJobId(agentId, event.job_id, at);
        publicEvent = { ...event, job_id: jobId };
        this.pending.push(() => {
          const insert = this.statement(
            'INSERT INTO job_logs (job_id, line, at, level, text) VALUES (?, (SELECT COALESCE(MAX(line), 0) + 1 FROM job_logs WHERE job_id = ?), ?, ?, ?)',
          );
          for (const line of event.lines) insert.run(jobId, jobId, line.at, line.level, line.text);
        });
        break;
      }
      case 'title_update': {
        const jobId = this.hubJobId(agentId, event.job_id, at);
        publicEvent = { ...event, job_id: jobId };
        if (this.liveJobs.has(jobId)) this.liveTitles.set(titleKey(jobId, event.title_id), event.state);
        this.pending.push(() => this.writeTitleUpdate(publicEvent as typeof event));
        break;
      }
    }
    this.uncommitted.push(publicEvent);
    this.pending.push(() => {
      this.statement('INSERT OR IGNORE INTO events (agent_id, seq, at, type, job_id, body) VALUES (?, ?, ?, ?, ?, ?)').run(
        agentId, seq, at, publicEvent.type, 'job_id' in publicEvent ? publicEvent.job_id : null, JSON.stringify(publicEvent),
      );
      this.statement('UPDATE agents SET last_seq = MAX(last_seq, ?), last_seen = ? WHERE agent_id = ?').run(seq, Date.now(), agentId);
    }, this.writeRevision);
    return publicEvent;
  }

  /**
   * Applies a progress-only update, latest wins. Returns it as dashboards see it (with the current revision), or
   * undefined when it is stale: an event after it was already applied, or its job or title is no longer in that state.
   */
  applyProgress(agentId: string, progress: AgentProgress): StationEvent | undefined {
    if (progress.after_seq !== this.lastSeq(agentId)) return undefined;
    const agentJobId = progress.event.job_id;
    const jobId = this.jobIds.get(jobKey(agentId, agentJobId));
    if (jobId === undefined) return undefined;
    const event = { ...progress.event, agent_id: agentId, job_id: jobId, rev: this.rev };
    if (event.type === 'job_update') {
      if (this.liveJobs.get(jobId) !== event.state) return undefined;
      this.pending.push(() => this.writeJobUpdate(jobId, event, progress.at, false));
    } else {
      if (this.liveTitles.get(titleKey(jobId, event.title_id)) !== event.state) return undefined;
      this.pending.push(() => this.writeTitleUpdate(event));
    }
    return event;
  }

  /** A finished job needs no fast path any more; later events for it find it in the database. */
  private forgetJob(agentId: string, agentJobId: number, jobId: number): void {
    this.liveJobs.delete(jobId);
    this.jobIds.delete(jobKey(agentId, agentJobId));
    for (const key of this.liveTitles.keys()) if (key.startsWith(`${jobId}:`)) this.liveTitles.delete(key);
  }

  private hubJobId(agentId: string, agentJobId: number, at: number, update?: { state: JobState; drive_id?: string | undefined }): number {
    const key = jobKey(agentId, agentJobId);
    let id = this.jobIds.get(key);
    if (id === undefined) {
      const row = this.statement('SELECT job_id FROM jobs WHERE agent_id = ? AND agent_job_id = ?').get(agentId, agentJobId) as
        { job_id: number } | undefined;
      id = row?.job_id;
    }
    if (id === undefined) {
      const jobId = this.nextJobId++;
      id = jobId;
      const state = update?.state ?? 'identifying';
      this.pending.push(() => {
        this.statement(
          'INSERT INTO jobs (job_id, agent_id, agent_job_id, drive_id, state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(jobId, agentId, agentJobId, update?.drive_id ?? null, state, at, at);
      });
    }
    if (!update || !FINISHED_JOB_STATES.has(update.state)) this.jobIds.set(key, id);
    return id;
  }

  private writeDriveEvent(agentId: string, event: StationEvent & { type: 'drive_event' }): void {
    const waiting = event.waiting ? JSON.stringify(event.waiting) : null;
    if (event.event === 'waiting_changed') {
      this.statement('UPDATE drives SET waiting = ?, waiting_count = ? WHERE agent_id = ? AND drive_id = ?')
        .run(waiting, event.waiting_count ?? null, agentId, event.drive_id);
      return;
    }
    const inserted = event.event === 'inserted';
    this.statement(
      // A disc going in or out ends what the drive showed of the last disc.
      `INSERT INTO drives (agent_id, drive_id, has_disc, volume_label, disc_type, waiting, waiting_count) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_id, drive_id) DO UPDATE SET has_disc = excluded.has_disc,
         volume_label = excluded.volume_label, disc_type = excluded.disc_type, last_job_id = NULL,
         waiting = excluded.waiting, waiting_count = excluded.waiting_count`,
    ).run(agentId, event.drive_id, inserted ? 1 : 0, inserted ? event.volume_label : null, inserted ? event.disc_type ?? null : null,
      waiting, event.waiting_count ?? null);
  }

  /** `stateChanged` false for progress: the job keeps its state, so its drive's running job stays as it is. */
  private writeJobUpdate(jobId: number, event: StationEvent & { type: 'job_update' }, at: number, stateChanged = true): void {
    const finished = FINISHED_JOB_STATES.has(event.state);
    this.statement(
      `UPDATE jobs SET state = ?, updated_at = ?, finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE NULL END,
         drive_id = COALESCE(?, drive_id), volume_label = COALESCE(?, volume_label), disc_type = COALESCE(?, disc_type),
         progress_percent = COALESCE(?, progress_percent),
         current_speed = CASE WHEN ? THEN NULL ELSE COALESCE(?, current_speed) END,
         eta_seconds = CASE WHEN ? THEN NULL ELSE COALESCE(?, eta_seconds) END, current_title = COALESCE(?, current_title),
         total_titles = COALESCE(?, total_titles), error_message = COALESCE(?, error_message), output_dir = COALESCE(?, output_dir),
         bytes_per_second = CASE WHEN ? THEN NULL ELSE COALESCE(?, bytes_per_second) END,
         sha256 = COALESCE(?, sha256), unreadable_bytes = COALESCE(?, unreadable_bytes),
         musicbrainz_disc_id = COALESCE(?, musicbrainz_disc_id), freedb_disc_id = COALESCE(?, freedb_disc_id),
         error_code = COALESCE(?, error_code)
       WHERE job_id = ?`,
    ).run(
      event.state, at, finished ? 1 : 0, at,
      event.drive_id ?? null, event.volume_label ?? null, event.disc_type ?? null,
      // A finished job has no speed or time left: clear what the last progress update said.
      event.progress_percent ?? null, finished ? 1 : 0, event.current_speed ?? null, finished ? 1 : 0, event.eta_seconds ?? null,
      event.current_title ?? null,
      event.total_titles ?? null, event.error_message ?? null, event.output_dir ?? null,
      finished ? 1 : 0, event.bytes_per_second ?? null, event.sha256 ?? null, event.unreadable_bytes ?? null,
      event.musicbrainz_disc_id ?? null, event.freedb_disc_id ?? null, event.error_code ?? null, jobId,
    );
    if (!stateChanged) return;
    const job = this.statement(
      'SELECT j.agent_id, j.drive_id, d.has_disc FROM jobs j LEFT JOIN drives d ON d.agent_id = j.agent_id AND d.drive_id = j.drive_id WHERE j.job_id = ?',
    ).get(jobId) as { agent_id: string; drive_id: string | null; has_disc: number | null };
    if (job.drive_id !== null) {
      this.statement(
        `UPDATE drives SET job_id = CASE WHEN ? THEN NULL ELSE ? END, last_job_id = CASE WHEN ? THEN ? ELSE last_job_id END
         WHERE agent_id = ? AND drive_id = ? AND (job_id IS NULL OR job_id = ?)`,
      ).run(finished ? 1 : 0, jobId, finished && job.has_disc === 1 ? 1 : 0, jobId, job.agent_id, job.drive_id, jobId);
    }
  }

  private writeTitleUpdate(event: StationEvent & { type: 'title_update' }): void {
    this.statement(
      // A title never seen in titles_discovered: what its update says is all we know, and 0 chapters is honest.
      `INSERT INTO titles (job_id, title_id, chapters, selected, state) VALUES (?, ?, 0, 1, ?) ON CONFLICT (job_id, title_id) DO NOTHING`,
    ).run(event.job_id, event.title_id, event.state);
    this.statement(
      `UPDATE titles SET state = ?, selected = CASE ? WHEN 'pending' THEN 1 WHEN 'skipped' THEN 0 ELSE selected END,
         match_progress = COALESCE(?, match_progress), duration_seconds = COALESCE(?, duration_seconds),
         expected_size_bytes = COALESCE(?, expected_size_bytes), actual_size_bytes = COALESCE(?, actual_size_bytes),
         output_filename = COALESCE(?, output_filename), error = COALESCE(?, error), error_code = COALESCE(?, error_code)
       WHERE job_id = ? AND title_id = ?`,
    ).run(
      event.state, event.state, event.match_progress ?? null, event.duration_seconds ?? null, event.expected_size_bytes ?? null,
      event.actual_size_bytes ?? null, event.output_filename ?? null, event.error ?? null, event.error_code ?? null, event.job_id, event.title_id,
    );
  }

  private runningJobOn(agentId: string, driveId: string): number | undefined {
    const row = this.statement(
      `SELECT job_id FROM jobs WHERE agent_id = ? AND drive_id = ? AND state NOT IN ${FINISHED_SQL}
       ORDER BY job_id DESC LIMIT 1`,
    ).get(agentId, driveId) as { job_id: number } | undefined;
    return row?.job_id;
  }

  // ---- Reads for the REST API. Each flushes first, so a read never misses an event already sent to dashboards.

  listAgents(): StoredAgent[] {
    this.flush();
    return this.statement('SELECT agent_id, name, version, last_seen FROM agents ORDER BY agent_id').all() as StoredAgent[];
  }

  listDrives(): Omit<DriveRecord, 'reachable'>[] {
    this.flush();
    const rows = this.statement(
      'SELECT agent_id, drive_id, has_disc, volume_label, disc_type, job_id, last_job_id, waiting, waiting_count FROM drives ORDER BY agent_id, drive_id',
    ).all() as Record<string, unknown>[];
    return rows.map((row) => withoutNulls({
      ...row, has_disc: row.has_disc === 1, waiting: typeof row.waiting === 'string' ? JSON.parse(row.waiting) : null,
    }) as Omit<DriveRecord, 'reachable'>);
  }

  listJobs(query: JobQuery): { jobs: StoredJob[]; next_before?: number } {
    this.flush();
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.before !== undefined) { where.push('job_id < ?'); params.push(query.before); }
    if (query.agent_id !== undefined) { where.push('agent_id = ?'); params.push(query.agent_id); }
    if (query.drive_id !== undefined) { where.push('drive_id = ?'); params.push(query.drive_id); }
    if (query.state !== undefined) { where.push('state = ?'); params.push(query.state); }
    const rows = this.statement(
      `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY job_id DESC LIMIT ?`,
    ).all(...params, query.limit + 1) as Record<string, unknown>[];
    const jobs = rows.slice(0, query.limit).map(toJobRecord);
    const last = jobs.at(-1);
    return rows.length > query.limit && last ? { jobs, next_before: last.job_id } : { jobs };
  }

  getJob(jobId: number): StoredJobDetail | undefined {
    this.flush();
    const row = this.statement('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const titles = (this.statement('SELECT * FROM titles WHERE job_id = ? ORDER BY title_id').all(jobId) as Record<string, unknown>[])
      .map((title) => {
        const { job_id: _job, streams, ...rest } = title;
        return withoutNulls({
          ...rest, selected: title.selected === 1, streams: typeof streams === 'string' ? JSON.parse(streams) : null,
        }) as TitleRecord;
      });
    return { ...toJobRecord(row), titles };
  }

  /** A job's log lines in order, or undefined for an unknown job. */
  getJobLog(jobId: number, limit = 5000): LogLine[] | undefined {
    this.flush();
    if (!this.statement('SELECT 1 FROM jobs WHERE job_id = ?').get(jobId)) return undefined;
    // The newest lines when there are more than the limit: the end of a log says most.
    return (this.statement('SELECT at, level, text FROM (SELECT * FROM job_logs WHERE job_id = ? ORDER BY line DESC LIMIT ?) ORDER BY line')
      .all(jobId, limit) as LogLine[]);
  }

  jobRef(jobId: number): JobRef | undefined {
    this.flush();
    const row = this.statement('SELECT agent_id, agent_job_id, drive_id, state FROM jobs WHERE job_id = ?').get(jobId) as
      { agent_id: string; agent_job_id: number; drive_id: string | null; state: JobState } | undefined;
    return row && { agent_id: row.agent_id, agent_job_id: row.agent_job_id, drive_id: row.drive_id ?? undefined, state: row.state };
  }
}

function jobKey(agentId: string, agentJobId: number): string {
  return `${agentId}\u0000${agentJobId}`;
}

function titleKey(jobId: number, titleId: number): string {
  return `${jobId}:${titleId}`;
}

function toJobRecord(row: Record<string, unknown>): StoredJob {
  const { agent_job_id: _agentJobId, started_at, updated_at, finished_at, ...rest } = row;
  return withoutNulls({
    ...rest,
    started_at: new Date(started_at as number).toISOString(),
    updated_at: new Date(updated_at as number).toISOString(),
    finished_at: finished_at === null ? null : new Date(finished_at as number).toISOString(),
  }) as StoredJob;
}

/** Optional fields are absent, never null, in everything the hub sends. */
function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null));
}
