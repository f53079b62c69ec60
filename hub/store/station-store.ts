// The hub's record of every station: agents, drives, jobs and titles, kept in SQLite.
// Events are applied in memory at once (so dashboards get them without waiting) and written in batched
// transactions; the last sequence number applied per agent commits in the same transaction as the rows it changed,
// and only committed sequence numbers are acknowledged to agents. Every state change raises the hub's revision.
// Progress-only updates are latest-wins: they change the job and title rows but add no event and no revision.
// A job, title or drive changed many times between two flushes is written once, as it is at the flush: a replay
// brings a job's whole life in one batch.
// What an event does to a job, title or drive is the shared rules' (shared/state/rules.ts), applied to the records
// kept in memory for unfinished jobs and every drive; the rows written are those records.
import {
  FINISHED_JOB_STATES, applyDiscoveryToJob, applyDriveEvent, applyJobUpdate, applyTitlesDiscovered, applyTitleUpdate, isFinished,
  holdsDrive, linkDriveToJob, newDrive, newJob, newTitle,
  type AgentEvent, type AgentHello, type AgentProgress, type JobLog, type JobUpdate, type LogLine, type TitleUpdate, type DriveRecord, type JobDetail, type JobRecord, type JobState,
  type KeptDrive, type KeptJob, type KeptTitle, type StationEvent, type TitleRecord,
} from '../../shared/index.js';
import type { Logger } from 'pino';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

export interface JobQuery {
  limit: number;
  before?: number;
  agent_id?: string;
  /** Only these stations' jobs (a dashboard that follows some). */
  agent_ids?: readonly string[];
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

/** How many finished jobs' drives are remembered for routing their late events. */
const ENDED_JOB_DRIVES = 10_000;

export class StationStore {
  private pending: Write[] = [];
  /** The records changed since the last flush, by key: each flush writes their rows after the pending writes. */
  private changedJobs = new Map<number, KeptJob>();
  private changedTitles = new Map<string, { jobId: number; title: KeptTitle }>();
  private changedDrives = new Map<string, KeptDrive>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushQueued = false;
  private nextJobId = 1;
  /** Hub job id by agent and agent job id. */
  private readonly jobIds = new Map<string, number>();
  /** Every unfinished job as the rules keep it, and its titles by id: events change these, then their rows. */
  private readonly liveJobs = new Map<number, KeptJob>();
  private readonly liveTitles = new Map<number, Map<number, KeptTitle>>();
  /** The drive of recently finished jobs, by job id. */
  private readonly endedJobDrives = new Map<number, string>();
  /** Every drive of every station, by agent and drive id. */
  private readonly drives = new Map<string, KeptDrive>();
  private readonly lastSeqs = new Map<string, number>();
  /** The newest sequence number per agent in the writes not yet committed. */
  private pendingSeqs = new Map<string, number>();
  private readonly committedSeqs = new Map<string, number>();
  private rev = 0;
  /** Each station's revision: its own count of state changes, so a client following one station sees no gaps. */
  private readonly stationRevs = new Map<string, number>();
  private readonly stationRevsToWrite = new Set<string>();
  /** Whether the pending writes hold the revisions' write already: one per flush, with the newest values. */
  private revisionWriteQueued = false;
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

  /**
   * A station's revision now: right after apply() or nextRevision() for it, the revision of that state change (and
   * what its progress updates repeat).
   */
  stationRevision(agentId: string): number {
    return this.stationRevs.get(agentId) ?? 0;
  }

  /** Every station's revision now. */
  stationRevisions(): Record<string, number> {
    return Object.fromEntries(this.stationRevs);
  }

  /** Counts a state change of a station that is not one of its events (it went on- or offline). */
  nextRevision(agentId: string): number {
    this.countStateChange(agentId);
    this.queueRevisionWrite();
    return this.rev;
  }

  private countStateChange(agentId: string): void {
    this.rev++;
    this.stationRevs.set(agentId, this.stationRevision(agentId) + 1);
    this.stationRevsToWrite.add(agentId);
  }

  private queueRevisionWrite(): void {
    if (this.revisionWriteQueued) return;
    this.revisionWriteQueued = true;
    this.pending.push(this.writeRevision);
  }

  /** Writes the revisions as they are when the flush runs; the stations to write are forgotten once committed. */
  private readonly writeRevision = () => {
    const upsert = this.statement(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`);
    upsert.run('rev', this.rev);
    for (const agentId of this.stationRevsToWrite) upsert.run(`rev:${agentId}`, this.stationRevision(agentId));
  };

  start(): void {
    const max = this.statement('SELECT MAX(job_id) AS id FROM jobs').get() as { id: number | null };
    this.nextJobId = (max.id ?? 0) + 1;
    for (const row of this.statement('SELECT agent_id, last_seq FROM agents').all() as { agent_id: string; last_seq: number }[]) {
      this.lastSeqs.set(row.agent_id, row.last_seq);
      this.committedSeqs.set(row.agent_id, row.last_seq);
    }
    this.rev = (this.statement(`SELECT value FROM meta WHERE key = 'rev'`).get() as { value: number } | undefined)?.value ?? 0;
    for (const row of this.statement(`SELECT key, value FROM meta WHERE key LIKE 'rev:%'`).all() as { key: string; value: number }[]) {
      this.stationRevs.set(row.key.slice('rev:'.length), row.value);
    }
    const unfinished = this.statement(`SELECT * FROM jobs WHERE state NOT IN ${FINISHED_SQL}`).all() as Record<string, unknown>[];
    for (const row of unfinished) {
      const job = toJobRecord(row);
      this.jobIds.set(jobKey(job.agent_id, row.agent_job_id as number), job.job_id);
      this.liveJobs.set(job.job_id, job);
      this.liveTitles.set(job.job_id, new Map());
    }
    const titles = this.statement(
      `SELECT t.* FROM titles t JOIN jobs j USING (job_id) WHERE j.state NOT IN ${FINISHED_SQL}`,
    ).all() as Record<string, unknown>[];
    for (const row of titles) this.liveTitles.get(row.job_id as number)?.set(row.title_id as number, toTitleRecord(row));
    for (const row of this.statement('SELECT * FROM drives').all() as Record<string, unknown>[]) {
      const drive = toDriveRecord(row);
      this.drives.set(driveKey(drive.agent_id, drive.drive_id), drive);
    }
    this.flushTimer = setInterval(() => this.flush(), this.flushMs);
    this.flushTimer.unref();
  }

  stop(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.flush();
  }

  /**
   * Writes soon, once the event loop has taken what else arrived with this: replays of many stations at once then
   * share one transaction, and one fsync, instead of one each.
   */
  flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /**
   * Writes everything applied so far, in one transaction. If the batch fails, a busy or full database keeps it for
   * the next flush; any other error writes the batch one step at a time so that one bad step loses only itself.
   */
  flush(): void {
    if (this.pending.length === 0 && this.changedJobs.size + this.changedTitles.size + this.changedDrives.size === 0) return;
    // Rows after the writes queued before them: a job's row is inserted by one of those before it is updated.
    const writes = this.pending.concat(this.takeChangedRows());
    const seqs = this.pendingSeqs;
    const events = this.uncommitted;
    this.pending = [];
    this.pendingSeqs = new Map();
    this.uncommitted = [];
    this.revisionWriteQueued = false;
    const began = performance.now();
    try {
      this.db.transaction(() => {
        for (const write of writes) write();
        this.writeLastSeqs(seqs);
      })();
      this.stationRevsToWrite.clear();
      this.wrote(began);
      this.committed(seqs, events);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR)/.test(code)) {
        this.logger.error({ code, waiting: writes.length }, 'Cannot write the hub database (busy or disk full); will retry');
        this.pending = writes.concat(this.pending);
        this.revisionWriteQueued ||= writes.includes(this.writeRevision);
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
      this.db.transaction(() => this.writeLastSeqs(seqs))();
      this.stationRevsToWrite.clear();
      this.wrote(began);
      this.committed(seqs, events);
    }
  }

  /** Each station's newest applied sequence number, once per flush (not once per event: thousands in a replay). */
  private writeLastSeqs(seqs: ReadonlyMap<string, number>): void {
    const update = this.statement('UPDATE agents SET last_seq = MAX(last_seq, ?), last_seen = ? WHERE agent_id = ?');
    const now = Date.now();
    for (const [agentId, seq] of seqs) update.run(seq, now, agentId);
  }

  private wrote(began: number): void {
    const seconds = (performance.now() - began) / 1000;
    for (const listener of this.flushListeners) listener(seconds);
  }

  private committed(seqs: ReadonlyMap<string, number>, events: readonly StationEvent[]): void {
    if (seqs.size === 0 && events.length === 0) return;
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
    // The drives are what the hello says now: the kept records follow the rows just written.
    for (const key of [...this.drives.keys()]) if (key.startsWith(`${hello.agent_id}\u0000`)) this.drives.delete(key);
    const rows = this.statement('SELECT * FROM drives WHERE agent_id = ?').all(hello.agent_id) as Record<string, unknown>[];
    for (const row of rows) this.drives.set(driveKey(hello.agent_id, row.drive_id as string), toDriveRecord(row));
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
    // A hand-off to the transcode queue changes no station state here: the agent socket gives it to the queue.
    if (envelope.event.type === 'transcode_request') {
      this.acceptSeq(agentId, envelope.seq);
      return undefined;
    }
    if (envelope.seq <= this.lastSeq(agentId)) return undefined;
    this.lastSeqs.set(agentId, envelope.seq);
    this.pendingSeqs.set(agentId, envelope.seq);
    this.countStateChange(agentId);
    const { rev } = this;
    const event = { ...envelope.event, agent_id: agentId, rev } as StationEvent;
    const { seq, at } = envelope;
    let publicEvent: StationEvent;
    const when = new Date(at).toISOString();
    switch (event.type) {
      case 'drive_event': {
        publicEvent = event;
        const key = driveKey(agentId, event.drive_id);
        const known = this.drives.get(key);
        const drive = known ? applyDriveEvent(known, event) : newDrive(event);
        this.drives.set(key, drive);
        this.changedDrive(drive);
        break;
      }
      case 'titles_discovered': {
        const jobId = this.hubJobId(agentId, event.job_id, at);
        publicEvent = { ...event, job_id: jobId };
        const known = this.titlesOf(jobId);
        const titles = applyTitlesDiscovered([...known.values()], event);
        for (const title of titles) known.set(title.title_id, title);
        for (const title of titles) this.changedTitle(jobId, title);
        this.changedJob(applyDiscoveryToJob(this.jobOf(jobId), event));
        break;
      }
      case 'job_update':
      case 'job_log':
      case 'title_update': {
        const jobId = this.hubJobId(agentId, event.job_id, at, event.type === 'job_update' ? event : undefined);
        publicEvent = { ...event, job_id: jobId };
        this.applyToJob(publicEvent, when, event.job_id);
        break;
      }
    }
    this.recordEvent(agentId, seq, at, publicEvent);
    return publicEvent;
  }

  /**
   * Marks a sequence number of this agent applied for a message that changes no station state (a hand-off to the
   * transcode queue, which keeps its own): false when it was applied before. It commits with the next flush.
   */
  acceptSeq(agentId: string, seq: number): boolean {
    if (seq <= this.lastSeq(agentId)) return false;
    this.lastSeqs.set(agentId, seq);
    this.pendingSeqs.set(agentId, seq);
    return true;
  }

  /**
   * A change the hub itself makes to a station's job (the transcode farm ending its titles, and then the job): applied
   * like the station's own events, told as committed once written. Its event row takes the revision, negated, as its
   * sequence number, which no station number can be. Undefined when the job is unknown or already finished.
   */
  applyHubEvent(event: JobUpdate | TitleUpdate | JobLog, at = Date.now()): StationEvent | undefined {
    // A finished job comes back to life only by an update that says it runs again (a person retried its transcode).
    if (!this.liveJobs.has(event.job_id) && !(event.type === 'job_update' && !isFinished(event.state) && this.revive(event.job_id))) return undefined;
    this.countStateChange(event.agent_id);
    const publicEvent = { ...event, rev: this.rev };
    this.applyToJob(publicEvent, new Date(at).toISOString());
    this.recordEvent(event.agent_id, -this.rev, at, publicEvent);
    return publicEvent;
  }

  /** The hub's own progress update of a running job or title (the farm's worker reporting): latest wins, like a station's. */
  applyHubProgress(event: JobUpdate | TitleUpdate, at = Date.now()): StationEvent | undefined {
    return this.applyProgressEvent({ ...event, rev: this.rev }, at);
  }

  /** The hub's number of a station's job, if it knows the job. */
  hubJobIdOf(agentId: string, agentJobId: number): number | undefined {
    const live = this.jobIds.get(jobKey(agentId, agentJobId));
    if (live !== undefined) return live;
    this.flush();
    return (this.statement('SELECT job_id FROM jobs WHERE agent_id = ? AND agent_job_id = ?').get(agentId, agentJobId) as { job_id: number } | undefined)?.job_id;
  }

  /** What a job's update, title update or log lines (hub job ids) do to the job, its titles and its drive. */
  private applyToJob(event: (JobUpdate | TitleUpdate | JobLog) & { job_id: number }, when: string, agentJobId?: number): void {
    const jobId = event.job_id;
    switch (event.type) {
      case 'job_update': {
        const job = applyJobUpdate(this.jobOf(jobId), event, when);
        this.changedJob(job);
        this.linkDrive(job);
        if (isFinished(job.state)) this.forgetJob(job.agent_id, agentJobId ?? this.agentJobIdOf(jobId), jobId);
        break;
      }
      case 'job_log':
        this.pending.push(() => {
          const insert = this.statement(
            'INSERT INTO job_logs (job_id, line, at, level, text) VALUES (?, (SELECT COALESCE(MAX(line), 0) + 1 FROM job_logs WHERE job_id = ?), ?, ?, ?)',
          );
          for (const line of event.lines) insert.run(jobId, jobId, line.at, line.level, line.text);
        });
        break;
      case 'title_update': {
        const titles = this.titlesOf(jobId);
        const known = titles.get(event.title_id);
        const title = known ? applyTitleUpdate(known, event) : newTitle(event);
        titles.set(title.title_id, title);
        this.changedTitle(jobId, title);
        break;
      }
    }
  }

  private recordEvent(agentId: string, seq: number, at: number, publicEvent: StationEvent): void {
    this.uncommitted.push(publicEvent);
    this.pending.push(() => {
      this.statement('INSERT OR IGNORE INTO events (agent_id, seq, at, type, job_id, body) VALUES (?, ?, ?, ?, ?, ?)').run(
        agentId, seq, at, publicEvent.type, 'job_id' in publicEvent ? publicEvent.job_id : null, JSON.stringify(publicEvent),
      );
    });
    this.queueRevisionWrite();
  }

  /** Keeps a finished job live again, from its rows; false when there is no such job. */
  private revive(jobId: number): boolean {
    this.flush();
    const row = this.statement('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as Record<string, unknown> | undefined;
    if (!row) return false;
    this.liveJobs.set(jobId, toJobRecord(row));
    this.liveTitles.set(jobId, this.titlesOf(jobId));
    this.jobIds.set(jobKey(row.agent_id as string, row.agent_job_id as number), jobId);
    return true;
  }

  /** Jobs waiting on the transcode farm. */
  transcodingJobs(): { agent_id: string; job_id: number }[] {
    return [...this.liveJobs.values()].filter((job) => job.state === 'transcoding').map(({ agent_id, job_id }) => ({ agent_id, job_id }));
  }

  /** A running job's state, from memory; undefined for a finished or unknown one. */
  liveJobState(jobId: number): JobState | undefined {
    return this.liveJobs.get(jobId)?.state;
  }

  /** The station's own number of a job the hub keeps live (rarely needed: only when the hub ends a job itself). */
  private agentJobIdOf(jobId: number): number {
    for (const [key, id] of this.jobIds) if (id === jobId) return Number(key.slice(key.lastIndexOf('\u0000') + 1));
    return -1;
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
    return this.applyProgressEvent({ ...progress.event, agent_id: agentId, job_id: jobId, rev: this.rev }, progress.at);
  }

  /** A progress update (hub job ids) of a job or title still in the state it names; undefined when stale. */
  private applyProgressEvent(event: JobUpdate | TitleUpdate, at: number): StationEvent | undefined {
    const jobId = event.job_id;
    if (event.type === 'job_update') {
      const job = this.liveJobs.get(jobId);
      if (job?.state !== event.state) return undefined;
      this.changedJob(applyJobUpdate(job, event, new Date(at).toISOString()));
    } else {
      const title = this.liveTitles.get(jobId)?.get(event.title_id);
      if (title?.state !== event.state) return undefined;
      this.changedTitle(jobId, applyTitleUpdate(title, event));
    }
    return event;
  }

  /** A finished job needs no fast path any more; later events for it find it in the database. */
  private forgetJob(agentId: string, agentJobId: number, jobId: number): void {
    const drive = this.liveJobs.get(jobId)?.drive_id;
    if (drive !== undefined) {
      // Its final event is routed after this; keep the newest few thousand for late events too.
      this.endedJobDrives.set(jobId, drive);
      if (this.endedJobDrives.size > ENDED_JOB_DRIVES) this.endedJobDrives.delete(this.endedJobDrives.keys().next().value as number);
    }
    this.liveJobs.delete(jobId);
    this.liveTitles.delete(jobId);
    this.jobIds.delete(jobKey(agentId, agentJobId));
  }

  /** The job as the rules keep it: from memory while it runs, else (rare: a late event) from its row. */
  private jobOf(jobId: number): KeptJob {
    const live = this.liveJobs.get(jobId);
    if (live) return live;
    this.flush(); // a row read must see every write already applied
    return toJobRecord(this.statement('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as Record<string, unknown>);
  }

  /** The job's titles by id: kept in memory while it runs, else read from their rows for this one event. */
  private titlesOf(jobId: number): Map<number, KeptTitle> {
    const live = this.liveTitles.get(jobId);
    if (live) return live;
    this.flush();
    const rows = this.statement('SELECT * FROM titles WHERE job_id = ?').all(jobId) as Record<string, unknown>[];
    return new Map(rows.map((row) => [row.title_id as number, toTitleRecord(row)]));
  }

  /** A job's drive after its update: its running job, or the last one while the disc is still in. */
  private linkDrive(job: KeptJob): void {
    if (job.drive_id === undefined) return;
    const drive = this.drives.get(driveKey(job.agent_id, job.drive_id));
    if (!drive) return;
    const before = [drive.job_id, drive.last_job_id];
    linkDriveToJob(drive, job, (other) => other !== job.job_id && !holdsDrive(this.liveJobs.get(other)?.state ?? 'completed'));
    if (drive.job_id !== before[0] || drive.last_job_id !== before[1]) this.changedDrive(drive);
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
      const when = new Date(at).toISOString();
      this.liveJobs.set(jobId, newJob({ type: 'job_update', agent_id: agentId, job_id: jobId, state }, when));
      this.liveTitles.set(jobId, new Map());
      this.pending.push(() => {
        this.statement(
          'INSERT INTO jobs (job_id, agent_id, agent_job_id, drive_id, state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(jobId, agentId, agentJobId, update?.drive_id ?? null, state, at, at);
      });
    }
    if (!update || !FINISHED_JOB_STATES.has(update.state)) this.jobIds.set(key, id);
    return id;
  }

  private changedJob(job: KeptJob): void {
    this.changedJobs.set(job.job_id, job);
  }

  private changedTitle(jobId: number, title: KeptTitle): void {
    this.changedTitles.set(`${jobId}:${title.title_id}`, { jobId, title });
  }

  private changedDrive(drive: KeptDrive): void {
    this.changedDrives.set(driveKey(drive.agent_id, drive.drive_id), drive);
  }

  /** The writes of every changed record's row as the record is when they run, and forgets them as changed. */
  private takeChangedRows(): Write[] {
    const jobs = [...this.changedJobs.values()];
    const titles = [...this.changedTitles.values()];
    const drives = [...this.changedDrives.values()];
    this.changedJobs = new Map();
    this.changedTitles = new Map();
    this.changedDrives = new Map();
    return [
      ...jobs.map((job) => () => this.writeJob(job)),
      ...titles.map(({ jobId, title }) => () => this.writeTitle(jobId, title)),
      ...drives.map((drive) => () => this.writeDrive(drive)),
    ];
  }

  private writeDrive(row: KeptDrive): void {
    this.statement(
      `INSERT INTO drives (agent_id, drive_id, has_disc, volume_label, disc_type, job_id, last_job_id, waiting, waiting_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_id, drive_id) DO UPDATE SET has_disc = excluded.has_disc, volume_label = excluded.volume_label,
         disc_type = excluded.disc_type, job_id = excluded.job_id, last_job_id = excluded.last_job_id, waiting = excluded.waiting,
         waiting_count = excluded.waiting_count`,
    ).run(row.agent_id, row.drive_id, row.has_disc ? 1 : 0, row.volume_label ?? null, row.disc_type ?? null, row.job_id ?? null,
      row.last_job_id ?? null, row.waiting ? JSON.stringify(row.waiting) : null, row.waiting_count ?? null);
  }

  private writeJob(row: KeptJob): void {
    const time = (iso: string | undefined) => (iso === undefined ? null : Date.parse(iso));
    this.statement(
      `UPDATE jobs SET state = ?, drive_id = ?, volume_label = ?, disc_type = ?, progress_percent = ?, current_speed = ?, eta_seconds = ?,
         current_title = ?, total_titles = ?, error_message = ?, error_code = ?, output_dir = ?, bytes_per_second = ?, sha256 = ?,
         unreadable_bytes = ?, musicbrainz_disc_id = ?, freedb_disc_id = ?, updated_at = ?, finished_at = ?
       WHERE job_id = ?`,
    ).run(
      row.state, row.drive_id ?? null, row.volume_label ?? null, row.disc_type ?? null, row.progress_percent ?? null, row.current_speed ?? null,
      row.eta_seconds ?? null, row.current_title ?? null, row.total_titles ?? null, row.error_message ?? null, row.error_code ?? null,
      row.output_dir ?? null, row.bytes_per_second ?? null, row.sha256 ?? null, row.unreadable_bytes ?? null, row.musicbrainz_disc_id ?? null,
      row.freedb_disc_id ?? null, time(row.updated_at), time(row.finished_at), row.job_id,
    );
  }

  private writeTitle(jobId: number, row: KeptTitle): void {
    this.statement(
      `INSERT INTO titles (job_id, title_id, name, duration_seconds, chapters, expected_size_bytes, selected, state, match_progress,
         actual_size_bytes, output_filename, error, error_code, source_file, streams, transcoded_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, title_id) DO UPDATE SET name = excluded.name, duration_seconds = excluded.duration_seconds,
         chapters = excluded.chapters, expected_size_bytes = excluded.expected_size_bytes, selected = excluded.selected,
         state = excluded.state, match_progress = excluded.match_progress, actual_size_bytes = excluded.actual_size_bytes,
         output_filename = excluded.output_filename, error = excluded.error, error_code = excluded.error_code,
         source_file = excluded.source_file, streams = excluded.streams, transcoded_by = excluded.transcoded_by`,
    ).run(
      jobId, row.title_id, row.name ?? null, row.duration_seconds ?? null, row.chapters, row.expected_size_bytes ?? null, row.selected ? 1 : 0,
      row.state, row.match_progress ?? null, row.actual_size_bytes ?? null, row.output_filename ?? null, row.error ?? null,
      row.error_code ?? null, row.source_file ?? null, row.streams ? JSON.stringify(row.streams) : null, row.transcoded_by ?? null,
    );
  }

  /** The job that has this drive now (not one waiting on the transcode farm: see holdsDrive). */
  private runningJobOn(agentId: string, driveId: string): number | undefined {
    const row = this.statement(
      `SELECT job_id FROM jobs WHERE agent_id = ? AND drive_id = ? AND state NOT IN ${FINISHED_SQL} AND state <> 'transcoding'
       ORDER BY job_id DESC LIMIT 1`,
    ).get(agentId, driveId) as { job_id: number } | undefined;
    return row?.job_id;
  }

  // ---- Reads for the REST API. Each flushes first, so a read never misses an event already sent to dashboards.

  listAgents(): StoredAgent[] {
    this.flush();
    return this.statement('SELECT agent_id, name, version, last_seen FROM agents ORDER BY agent_id').all() as StoredAgent[];
  }

  agent(agentId: string): StoredAgent | undefined {
    this.flush();
    return this.statement('SELECT agent_id, name, version, last_seen FROM agents WHERE agent_id = ?').get(agentId) as StoredAgent | undefined;
  }

  listDrives(): Omit<DriveRecord, 'reachable'>[] {
    this.flush();
    const rows = this.statement(
      'SELECT agent_id, drive_id, has_disc, volume_label, disc_type, job_id, last_job_id, waiting, waiting_count FROM drives ORDER BY agent_id, drive_id',
    ).all() as Record<string, unknown>[];
    return rows.map(toDriveRecord);
  }

  listJobs(query: JobQuery): { jobs: StoredJob[]; next_before?: number } {
    this.flush();
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.before !== undefined) { where.push('job_id < ?'); params.push(query.before); }
    if (query.agent_id !== undefined) { where.push('agent_id = ?'); params.push(query.agent_id); }
    if (query.agent_ids !== undefined) { where.push(`agent_id IN (${query.agent_ids.map(() => '?').join(', ') || 'NULL'})`); params.push(...query.agent_ids); }
    if (query.drive_id !== undefined) { where.push('drive_id = ?'); params.push(query.drive_id); }
    if (query.state !== undefined) { where.push('state = ?'); params.push(query.state); }
    const rows = this.statement(
      `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY job_id DESC LIMIT ?`,
    ).all(...params, query.limit + 1) as Record<string, unknown>[];
    const jobs = rows.slice(0, query.limit).map(toJobRecord);
    const last = jobs.at(-1);
    return rows.length > query.limit && last ? { jobs, next_before: last.job_id } : { jobs };
  }

  /** Every job not finished yet, with its titles, oldest first; `agentIds` keeps only those stations' jobs. */
  runningJobs(agentIds?: ReadonlySet<string>): StoredJobDetail[] {
    this.flush();
    const jobs = (this.statement(`SELECT * FROM jobs WHERE state NOT IN ${FINISHED_SQL} ORDER BY job_id`).all() as Record<string, unknown>[])
      .map(toJobRecord).filter((job) => !agentIds || agentIds.has(job.agent_id));
    const titles = new Map<number, TitleRecord[]>();
    const rows = this.statement(`SELECT t.* FROM titles t JOIN jobs j USING (job_id) WHERE j.state NOT IN ${FINISHED_SQL} ORDER BY t.job_id, t.title_id`)
      .all() as Record<string, unknown>[];
    for (const row of rows) {
      const jobId = row.job_id as number;
      const list = titles.get(jobId) ?? [];
      if (list.length === 0) titles.set(jobId, list);
      list.push(toTitleRecord(row));
    }
    return jobs.map((job) => ({ ...job, titles: titles.get(job.job_id) ?? [] }));
  }

  /** The drive a job runs (or ran) on, for routing its events to a drive's followers. */
  driveOfJob(jobId: number): string | undefined {
    return this.liveJobs.get(jobId)?.drive_id ?? this.endedJobDrives.get(jobId);
  }

  getJob(jobId: number): StoredJobDetail | undefined {
    const job = this.getJobRecord(jobId);
    if (!job) return undefined;
    const titles = (this.statement('SELECT * FROM titles WHERE job_id = ? ORDER BY title_id').all(jobId) as Record<string, unknown>[])
      .map(toTitleRecord);
    return { ...job, titles };
  }

  /** A job without its titles: what a counter of finished jobs needs, at a third of the cost. */
  getJobRecord(jobId: number): StoredJob | undefined {
    this.flush();
    const row = this.statement('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as Record<string, unknown> | undefined;
    return row && toJobRecord(row);
  }

  getTitle(jobId: number, titleId: number): TitleRecord | undefined {
    this.flush();
    const row = this.statement('SELECT * FROM titles WHERE job_id = ? AND title_id = ?').get(jobId, titleId) as Record<string, unknown> | undefined;
    return row && toTitleRecord(row);
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

function driveKey(agentId: string, driveId: string): string {
  return `${agentId}\u0000${driveId}`;
}

function toTitleRecord(row: Record<string, unknown>): TitleRecord {
  const { job_id: _job, streams, ...rest } = row;
  return withoutNulls({ ...rest, selected: row.selected === 1, streams: typeof streams === 'string' ? JSON.parse(streams) : null }) as TitleRecord;
}

function toDriveRecord(row: Record<string, unknown>): KeptDrive {
  return withoutNulls({ ...row, has_disc: row.has_disc === 1, waiting: typeof row.waiting === 'string' ? JSON.parse(row.waiting) : null }) as KeptDrive;
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
