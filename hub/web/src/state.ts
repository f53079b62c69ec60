// The dashboard's client-side model, and nothing else: what the page knows of stations, drives, jobs, titles, the
// history page and open logs, built from snapshots and merged with live socket messages. PURE: no DOM, no I/O,
// no clock (callers pass `now`), so it is unit-tested in Node (test/hub/web/state.test.ts).
//
// Rules (docs/protocol in the README):
// - A live message merges into what is known: an absent field means "unchanged", never "erase".
// - The page speaks protocol 3: every state change carries `rev`, its station's revision, one more than that
//   station's previous; progress-only job and title updates repeat the current one. A rev more than one ahead of its
//   station's means something of that station was missed: `resync` is asked for.
// - While a snapshot is being fetched, live messages are buffered; when it lands, those older than the snapshot are
//   dropped and the rest are applied on top, in order. The old view stays until then (no flash of empty content).
// - A station that goes offline makes its drives and unfinished jobs unreachable: their last known state may be stale.
import {
  applyDiscoveryToJob, applyDriveEvent, applyJobUpdate, applyTitlesDiscovered, applyTitleUpdate, holdsDrive, isFinished, linkDriveToJob, newJob, newTitle,
  type AgentRecord, type DashboardMessage, type DiscType, type DriveRecord, type JobDetail, type JobRecord, type JobState,
  type LogLine, type TitleRecord,
} from '../../../shared/index.js';

// The views ask the same question of jobs; the rule is the shared one.
export { isFinished };

export interface AgentView extends AgentRecord {
  /** Why the station is not connected, when the hub turned it away. */
  error?: string;
}

export type DriveView = DriveRecord;

/** A job as the page knows it: a REST record, possibly only partly known from live messages. */
export interface JobView extends Omit<JobRecord, 'started_at' | 'updated_at'> {
  started_at?: string;
  updated_at?: string;
  /** Titles, once known (running jobs and jobs whose detail was loaded). */
  titles?: TitleRecord[];
  /** When the ETA points at (epoch ms, this page's clock): eta_seconds counted from when it arrived. */
  eta_at?: number;
}

/** Which jobs the history shows: filters, and the page (`before`: a job id cursor; absent: the newest page). */
export interface HistoryQuery {
  agent_id?: string;
  drive_id?: string;
  state?: JobState;
  before?: number;
}

export interface HistoryPage {
  query: HistoryQuery;
  jobs: JobRecord[];
  next_before?: number | undefined;
}

/** Each station's revision, by station id (a station not named is at 0). */
export type Revisions = Record<string, number>;

export interface Snapshot {
  /** Each station's revision the snapshot reflects: per station, the lowest among its answers. */
  revisions: Revisions;
  agents: AgentRecord[];
  drives: DriveRecord[];
  /** Details of the jobs running on drives. */
  jobs: JobDetail[];
  history: HistoryPage;
}

/** What changed since the renderer last looked. */
export interface Dirty {
  /** Stations or drives appeared, vanished or changed order: the station list is rebuilt (keyed). */
  structure: boolean;
  drives: Set<string>;
  /** Jobs whose fields changed (the history rows and open panels that show them re-render). */
  jobs: Set<number>;
  history: boolean;
  logs: Set<number>;
}

export interface ApplyResult {
  /** A revision gap (or a station that came back with possibly other drives): reload through REST. */
  resync: boolean;
}

export const LOG_LINES_KEPT = 5000;
const MAX_BUFFERED = 20_000;

export function driveKey(agentId: string, driveId: string): string {
  return `${agentId}\u0000${driveId}`;
}

function freshDirty(): Dirty {
  return { structure: true, drives: new Set(), jobs: new Set(), history: true, logs: new Set() };
}

/** Copies the fields that are present (absent or undefined means unchanged), leaving out `type` and `rev`. */
function merge<T extends object>(target: T, update: object, skip: readonly string[] = ['type', 'rev']): void {
  for (const [key, value] of Object.entries(update)) {
    if (value !== undefined && !skip.includes(key)) (target as Record<string, unknown>)[key] = value;
  }
}

export class DashboardState {
  /** Each station's revision this model reflects; undefined until the first snapshot. */
  revisions: Map<string, number> | undefined;
  readonly agents = new Map<string, AgentView>();
  readonly drives = new Map<string, DriveView>();
  readonly jobs = new Map<number, JobView>();
  /** The history page on screen. */
  history: HistoryPage = { query: {}, jobs: [] };
  historyIds: number[] = [];
  /** Logs of the jobs whose log is open, by job id; only those are kept. */
  readonly logs = new Map<number, LogLine[]>();
  /** Jobs the page holds open (a detail panel), kept across snapshots. */
  readonly pinned = new Set<number>();
  /** True while a snapshot is being fetched: live messages wait in `buffer`. */
  syncing = true;
  private buffer: DashboardMessage[] = [];
  /** The revisions a socket's hello gave while a snapshot was being fetched: the snapshot must reach them. */
  private helloRevisions: Revisions | undefined;
  private bufferOverflowed = false;
  private dirty: Dirty = freshDirty();

  /**
   * @param pageSize jobs per history page: the newest page never grows past it, however long the page stays open.
   * @param station the one station the page follows (a wall display), or undefined for all.
   */
  constructor(readonly pageSize = 50, readonly station?: string) {}

  /** A station's revision as this model knows it. */
  revisionOf(agentId: string): number {
    return this.revisions?.get(agentId) ?? 0;
  }

  /** Whether `revisions` says something happened that this model has not seen, for the stations it follows. */
  private behind(revisions: Revisions): boolean {
    const stations = this.station !== undefined ? [this.station] : [...new Set([...Object.keys(revisions), ...(this.revisions?.keys() ?? [])])];
    return stations.some((agentId) => (revisions[agentId] ?? 0) !== this.revisionOf(agentId));
  }

  // ---- Reading

  /** What changed since the last call; the renderer calls this once per frame. */
  takeDirty(): Dirty {
    const dirty = this.dirty;
    this.dirty = { structure: false, drives: new Set(), jobs: new Set(), history: false, logs: new Set() };
    return dirty;
  }

  get hasSnapshot(): boolean {
    return this.revisions !== undefined;
  }

  /** Stations sorted by name, each with its drives sorted by drive id. */
  stations(): { agent: AgentView; drives: DriveView[] }[] {
    const byAgent = new Map<string, DriveView[]>();
    for (const drive of this.drives.values()) {
      const list = byAgent.get(drive.agent_id) ?? [];
      list.push(drive);
      byAgent.set(drive.agent_id, list);
    }
    return [...this.agents.values()]
      .sort((a, b) => a.name.localeCompare(b.name) || a.agent_id.localeCompare(b.agent_id))
      .map((agent) => ({ agent, drives: (byAgent.get(agent.agent_id) ?? []).sort((a, b) => a.drive_id.localeCompare(b.drive_id, undefined, { numeric: true })) }));
  }

  /** The job to show on a drive: the one running there, else the one that last ended with the disc still in. */
  jobOnDrive(drive: DriveView): JobView | undefined {
    const id = drive.job_id ?? drive.last_job_id;
    return id === undefined ? undefined : this.jobs.get(id);
  }

  historyJobs(): JobView[] {
    return this.historyIds.flatMap((id) => this.jobs.get(id) ?? []);
  }

  // ---- Snapshots

  /** A reload through REST starts: live messages wait until the snapshot is in. The model keeps its old view. */
  beginResync(): void {
    this.syncing = true;
    this.buffer = [];
    this.bufferOverflowed = false;
  }

  /**
   * Replaces the model with a snapshot, then applies the live messages that arrived meanwhile, in order, skipping
   * those older than the snapshot. Returns resync when they show a gap (another reload is needed).
   */
  applySnapshot(snapshot: Snapshot, now: number): ApplyResult {
    const previousLogs = new Map(this.logs);
    this.revisions = new Map(Object.entries(snapshot.revisions));
    this.agents.clear();
    for (const agent of snapshot.agents) this.agents.set(agent.agent_id, { ...agent });
    this.drives.clear();
    for (const drive of snapshot.drives) this.drives.set(driveKey(drive.agent_id, drive.drive_id), { ...drive });
    const keep = new Map<number, JobView>();
    for (const id of this.pinned) {
      const job = this.jobs.get(id);
      if (job) keep.set(id, job);
    }
    this.jobs.clear();
    for (const [id, job] of keep) this.jobs.set(id, job);
    for (const record of snapshot.history.jobs) {
      const titles = keep.get(record.job_id)?.titles;
      this.jobs.set(record.job_id, { ...this.fromRecord(record, now), ...(titles ? { titles } : {}) });
    }
    for (const detail of snapshot.jobs) this.jobs.set(detail.job_id, this.fromRecord(detail, now));
    this.history = snapshot.history;
    this.historyIds = snapshot.history.jobs.map((job) => job.job_id);
    this.logs.clear();
    for (const [id, lines] of previousLogs) this.logs.set(id, lines);
    this.dirty = freshDirty();
    for (const id of this.jobs.keys()) this.dirty.jobs.add(id);

    this.syncing = false;
    const buffered = this.buffer;
    this.buffer = [];
    const hello = this.helloRevisions;
    let resync = this.bufferOverflowed || (hello !== undefined && Object.entries(hello).some(([agentId, rev]) =>
      (this.station === undefined || agentId === this.station) && rev > (snapshot.revisions[agentId] ?? 0)));
    this.bufferOverflowed = false;
    this.helloRevisions = undefined;
    for (const message of buffered) {
      if ('rev' in message && message.rev !== undefined && 'agent_id' in message && message.rev < (snapshot.revisions[message.agent_id] ?? 0)) continue;
      if (this.apply(message, now).resync) resync = true;
    }
    return { resync };
  }

  /** A job's detail from REST (its panel was opened, or it just finished): merged unless live news is newer. */
  applyJobDetail(detail: JobDetail, revisions: Revisions, now: number): void {
    const known = this.jobs.get(detail.job_id);
    if (known?.titles && this.hasSnapshot && (revisions[detail.agent_id] ?? 0) < this.revisionOf(detail.agent_id) && !isFinished(detail.state)) return;
    this.jobs.set(detail.job_id, { ...known, ...this.fromRecord(detail, now) });
    this.dirty.jobs.add(detail.job_id);
    this.touchDriveOf(detail.agent_id, detail.drive_id);
  }

  /** Another history page (a filter or page change): replaces the history, keeps everything else. */
  applyHistory(page: HistoryPage, revisions: Revisions, now: number): void {
    for (const record of page.jobs) {
      const known = this.jobs.get(record.job_id);
      // Live messages since the answer was made are newer than it.
      if (known && this.hasSnapshot && (revisions[record.agent_id] ?? 0) < this.revisionOf(record.agent_id)) continue;
      this.jobs.set(record.job_id, { ...known, ...this.fromRecord(record, now), ...(known?.titles ? { titles: known.titles } : {}) });
    }
    this.history = page;
    this.historyIds = page.jobs.map((job) => job.job_id);
    this.forgetUnused();
    this.dirty.history = true;
  }

  /** Starts keeping a job's live log from these lines (its log panel opened). */
  openLog(jobId: number, lines: LogLine[]): void {
    const live = this.logs.get(jobId) ?? [];
    // Lines that came live while the log was being fetched, and are not in it yet.
    const seen = new Set(lines.map(lineKey));
    this.logs.set(jobId, [...lines, ...live.filter((line) => !seen.has(lineKey(line)))].slice(-LOG_LINES_KEPT));
    this.dirty.logs.add(jobId);
  }

  /** Marks a job's log as wanted before its lines are fetched, so live lines are kept meanwhile. */
  watchLog(jobId: number): void {
    if (!this.logs.has(jobId)) this.logs.set(jobId, []);
  }

  closeLog(jobId: number): void {
    this.logs.delete(jobId);
  }

  // ---- Live messages

  /**
   * Merges one live message (already validated against the shared schema). While syncing, it waits for the snapshot.
   * Returns resync when the model can no longer be trusted to be complete.
   */
  apply(message: DashboardMessage, now: number): ApplyResult {
    if (message.type === 'hello') {
      // A snapshot on its way: it must be at least as new as this hello, or what came between is missing.
      if (this.syncing) {
        this.helloRevisions = message.revisions;
        return { resync: false };
      }
      // A (re)connected socket: anything may have happened while it was down, unless the revisions say nothing did.
      return { resync: !this.hasSnapshot || this.behind(message.revisions) };
    }
    // Answers to the page's own requests change no state here (main.ts takes snapshots and replies).
    if (message.type === 'error' || message.type === 'reply' || message.type === 'pong' || message.type === 'subscribed'
      || message.type === 'unsubscribed' || message.type === 'snapshot') return { resync: false };
    if (this.syncing) {
      if (this.buffer.length >= MAX_BUFFERED) this.bufferOverflowed = true;
      else this.buffer.push(message);
      return { resync: false };
    }
    const rev = message.rev;
    if (rev !== undefined && this.revisions !== undefined) {
      const known = this.revisionOf(message.agent_id);
      if (rev < known) return { resync: false }; // older than what the model reflects
      if (rev > known + 1) return { resync: true }; // missed at least one state change of this station
      const progressOnly = rev === known;
      // A repeat of the current revision is a progress update; only job and title updates come as such.
      if (progressOnly && message.type !== 'job_update' && message.type !== 'title_update') return { resync: false };
      this.revisions.set(message.agent_id, rev);
    }
    switch (message.type) {
      case 'agent_update': return this.agentUpdate(message);
      case 'drive_event': this.driveEvent(message); break;
      case 'job_update': this.jobUpdate(message, now); break;
      case 'titles_discovered': this.titlesDiscovered(message, now); break;
      case 'title_update': this.titleUpdate(message); break;
      case 'job_log': this.jobLog(message); break;
    }
    return { resync: false };
  }

  private agentUpdate(message: Extract<DashboardMessage, { type: 'agent_update' }>): ApplyResult {
    const known = this.agents.get(message.agent_id);
    const online = message.state === 'online';
    const wasOffline = known?.state === 'offline';
    const agent: AgentView = known ?? {
      agent_id: message.agent_id, name: message.name ?? message.agent_id, version: message.version ?? '', state: message.state,
      last_seen: new Date(0).toISOString(),
    };
    merge(agent, message, ['type', 'rev', 'agent_id', 'error']);
    if (message.error !== undefined) agent.error = message.error;
    else if (online) delete agent.error;
    if (!known) this.dirty.structure = true;
    this.agents.set(agent.agent_id, agent);
    for (const [key, drive] of this.drives) {
      if (drive.agent_id !== message.agent_id) continue;
      drive.reachable = online;
      this.dirty.drives.add(key);
    }
    for (const job of this.jobs.values()) {
      if (job.agent_id !== message.agent_id || isFinished(job.state)) continue;
      job.reachable = online;
      this.dirty.jobs.add(job.job_id);
    }
    this.dirty.structure = true; // the station's own header changes
    // A station that comes back re-announces its drives (one may have been unplugged): reload to see them.
    return { resync: online && wasOffline };
  }

  private ensureAgent(agentId: string): void {
    if (this.agents.has(agentId)) return;
    this.agents.set(agentId, { agent_id: agentId, name: agentId, version: '', state: 'online', last_seen: new Date(0).toISOString() });
    this.dirty.structure = true;
  }

  private driveEvent(message: Extract<DashboardMessage, { type: 'drive_event' }>): void {
    this.ensureAgent(message.agent_id);
    const key = driveKey(message.agent_id, message.drive_id);
    let drive = this.drives.get(key);
    if (!drive) {
      drive = { agent_id: message.agent_id, drive_id: message.drive_id, has_disc: false, reachable: true };
      this.drives.set(key, drive);
      this.dirty.structure = true;
    }
    applyDriveEvent(drive, message);
    drive.reachable = this.agents.get(message.agent_id)?.state !== 'offline';
    this.dirty.drives.add(key);
  }

  private jobUpdate(message: Extract<DashboardMessage, { type: 'job_update' }>, now: number): void {
    const at = new Date(now).toISOString();
    const known = this.jobs.get(message.job_id);
    const isNew = !known;
    const job: JobView = known ?? { ...newJob(message, at), reachable: true };
    if (isNew) this.jobs.set(job.job_id, job);
    const wasFinished = !isNew && isFinished(job.state);
    applyJobUpdate(job, message, at);
    if (message.eta_seconds !== undefined) job.eta_at = now + message.eta_seconds * 1000;
    if (isFinished(job.state)) {
      // The countdown is the page's own; like the speed, a finished job has none.
      delete job.eta_at;
      job.reachable = true;
    } else {
      job.reachable = this.agents.get(job.agent_id)?.state !== 'offline';
      if (!job.titles && isNew) job.titles = [];
    }
    this.dirty.jobs.add(job.job_id);
    this.linkDrive(job);
    this.placeInHistory(job);
    // A job that ends off the history page is shown nowhere any more: let it go, so a page open for weeks stays small.
    if (isFinished(job.state) && !wasFinished) this.forgetUnused();
  }

  /**
   * Keeps the drive's job pointers as the hub does: the running job while it runs; when it ends with the disc
   * still in, the last job.
   */
  private linkDrive(job: JobView): void {
    if (job.drive_id === undefined) return;
    const key = driveKey(job.agent_id, job.drive_id);
    const drive = this.drives.get(key);
    if (!drive) return;
    linkDriveToJob(drive, job, (jobId) => this.isOverJob(jobId));
    this.dirty.drives.add(key);
  }

  private isOverJob(jobId: number): boolean {
    const job = this.jobs.get(jobId);
    return !job || !holdsDrive(job.state);
  }

  /** On the newest history page, a job appears (or leaves) as soon as it matches (or no longer matches) the filter. */
  private placeInHistory(job: JobView): void {
    const query = this.history.query;
    const listed = this.historyIds.indexOf(job.job_id);
    const matches = (query.agent_id === undefined || query.agent_id === job.agent_id)
      && (query.drive_id === undefined || query.drive_id === job.drive_id)
      && (query.state === undefined || query.state === job.state);
    if (listed >= 0) {
      // Still listed: its row is redrawn as a dirty job; only leaving the list changes the list.
      if (!matches) {
        this.historyIds.splice(listed, 1);
        this.dirty.history = true;
      }
      return;
    }
    if (!matches || query.before !== undefined) return;
    // Newest first: job ids grow with time.
    const at = this.historyIds.findIndex((id) => id < job.job_id);
    if (at === -1) {
      // Older than everything on the page: it belongs to a later page, unless this is the only page.
      if (this.history.next_before !== undefined) return;
      this.historyIds.push(job.job_id);
    } else {
      this.historyIds.splice(at, 0, job.job_id);
    }
    if (this.historyIds.length > this.pageSize) {
      // The oldest move to the next page: "Older" now starts below the last one shown.
      this.historyIds.length = this.pageSize;
      this.history = { ...this.history, next_before: this.historyIds[this.historyIds.length - 1] as number };
      this.forgetUnused();
    }
    this.dirty.history = true;
  }

  private titlesDiscovered(message: Extract<DashboardMessage, { type: 'titles_discovered' }>, now: number): void {
    let job = this.jobs.get(message.job_id);
    if (!job) {
      job = { agent_id: message.agent_id, job_id: message.job_id, state: 'identifying', reachable: true, started_at: new Date(now).toISOString() };
      this.jobs.set(job.job_id, job);
    }
    job.titles = applyTitlesDiscovered(job.titles ?? [], message);
    applyDiscoveryToJob(job, message);
    this.dirty.jobs.add(job.job_id);
    this.touchDriveOf(job.agent_id, job.drive_id);
  }

  private titleUpdate(message: Extract<DashboardMessage, { type: 'title_update' }>): void {
    const job = this.jobs.get(message.job_id);
    if (!job?.titles) return; // a job the page shows no titles of
    const title = job.titles.find((t) => t.title_id === message.title_id);
    if (title) {
      applyTitleUpdate(title, message);
    } else {
      job.titles.push(newTitle(message));
      job.titles.sort((a, b) => a.title_id - b.title_id);
    }
    this.dirty.jobs.add(job.job_id);
    this.touchDriveOf(job.agent_id, job.drive_id);
  }

  private jobLog(message: Extract<DashboardMessage, { type: 'job_log' }>): void {
    const lines = this.logs.get(message.job_id);
    if (!lines) return; // nobody is reading this log
    lines.push(...message.lines);
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
    this.dirty.logs.add(message.job_id);
  }

  /** Redraws a drive's card: the page's own state for it changed (an action in flight, a notice, a countdown). */
  redrawDrive(key: string): void {
    this.dirty.drives.add(key);
  }

  redrawJob(jobId: number): void {
    this.dirty.jobs.add(jobId);
  }

  redrawHistory(): void {
    this.dirty.history = true;
  }

  // ---- Helpers

  private fromRecord(record: JobRecord | JobDetail, now: number): JobView {
    const job: JobView = { ...record };
    if (record.eta_seconds !== undefined) job.eta_at = now + record.eta_seconds * 1000;
    return job;
  }

  private touchDriveOf(agentId: string, driveId: string | undefined): void {
    if (driveId === undefined) return;
    const key = driveKey(agentId, driveId);
    if (this.drives.get(key)?.job_id !== undefined) this.dirty.drives.add(key);
  }

  /** Drops jobs nothing shows any more: not running on a drive, not in the history page, not pinned. */
  private forgetUnused(): void {
    const used = new Set<number>([...this.historyIds, ...this.pinned]);
    for (const drive of this.drives.values()) if (drive.job_id !== undefined) used.add(drive.job_id);
    for (const id of this.jobs.keys()) if (!used.has(id) && !this.logs.has(id)) this.jobs.delete(id);
  }
}

function lineKey(line: LogLine): string {
  return `${line.at}\u0000${line.level}\u0000${line.text}`;
}

/** Which of a job's selected titles is being worked on, counted from 1 ("title 2 of 3"), as far as it is known. */
export function titlePosition(job: JobView): { index: number; total: number } | undefined {
  if (job.current_title === undefined) return undefined;
  const selected = (job.titles ?? []).filter((t) => t.selected).map((t) => t.title_id).sort((a, b) => a - b);
  const at = selected.indexOf(job.current_title);
  const total = job.total_titles ?? (selected.length || undefined);
  if (total === undefined) return undefined;
  return { index: at >= 0 ? at + 1 : Math.min(job.current_title, total), total };
}

/** The disc type as people say it. */
export function discTypeName(type: DiscType | undefined): string {
  switch (type) {
    case 'dvd': return 'DVD';
    case 'bluray': return 'Blu-ray';
    case 'cd': return 'Audio CD';
    case 'data': return 'Data disc';
    default: return 'Disc';
  }
}
