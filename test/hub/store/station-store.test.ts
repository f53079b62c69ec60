// StationStore over a real SQLite file: the records a sequence of agent events leaves behind, job id mapping,
// replay protection, paging and filters, what goes into the events table, and surviving a reopen.
// Protocol 2: revisions, latest-wins progress (applyProgress), commit notifications and committed seqs.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  JobDetail, JobRecord, JobPage, DriveRecord, LINK_PROTOCOL,
  type AgentEvent, type AgentHello, type AgentProgress, type JobState, type StationEvent,
} from '../../../shared/index.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { MIGRATIONS } from '../../../hub/store/migrations.js';
import { StationStore, type StoredJob, type StoredJobDetail } from '../../../hub/store/station-store.js';
import { removeDir, silentLogger, tempDir } from '../helpers.js';

const A = 'station-1';
const B = 'station-2';
const T0 = 1_700_000_000_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const at = (seq: number): number => T0 + seq * 1000;
const env = (seq: number, event: StationEvent): AgentEvent => ({ kind: 'event', seq, at: at(seq), event });

function hello(agentId: string, drives: AgentHello['drives']): AgentHello {
  return { kind: 'hello', agent_id: agentId, name: `Station ${agentId}`, version: '0.1.0', protocol: { ...LINK_PROTOCOL }, drives };
}

/** The REST API adds `reachable` to what the store keeps; with it, a stored job must be a valid record. */
function asRecord<T extends StoredJob | StoredJobDetail | undefined>(job: T): T & { reachable: boolean } {
  return { ...job, reachable: true } as T & { reachable: boolean };
}
function asPage(page: { jobs: StoredJob[]; next_before?: number }): unknown {
  return { ...page, jobs: page.jobs.map(asRecord) };
}
const progress = (afterSeq: number, event: AgentProgress['event'], when = at(afterSeq) + 500): AgentProgress =>
  ({ kind: 'progress', after_seq: afterSeq, at: when, event });
const twoDrives: AgentHello['drives'] = [
  { drive_id: '/dev/sr0', has_disc: false, busy: false },
  { drive_id: '/dev/sr1', has_disc: false, busy: false },
];

/** A whole rip of local job 7 on /dev/sr0: identify, discover two titles, rip title 1 with progress, complete. */
function lifecycle(agentId: string): AgentEvent[] {
  const job = { agent_id: agentId, job_id: 7 } as const;
  return [
    env(1, { type: 'drive_event', agent_id: agentId, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'THE_MOVIE', disc_type: 'dvd' }),
    env(2, { type: 'job_update', ...job, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' }),
    env(3, {
      type: 'titles_discovered', ...job, content_type: 'movie', detected_title: 'The Movie',
      titles: [
        { title_id: 1, duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true, name: 'Main feature' },
        { title_id: 2, duration_seconds: 95, chapters: 1, expected_size_bytes: 12_000_000, selected: false },
      ],
    }),
    env(4, { type: 'job_update', ...job, state: 'ripping', progress_percent: 0, current_title: 1, total_titles: 1 }),
    env(5, { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 10 }),
    env(6, { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 55.5, actual_size_bytes: 2_000_000_000 }),
    env(7, { type: 'job_update', ...job, state: 'ripping', progress_percent: 55.5, current_speed: '4.2x', eta_seconds: 300 }),
    env(8, {
      type: 'title_update', ...job, title_id: 1, state: 'completed', match_progress: 100, actual_size_bytes: 4_400_000_000,
      output_filename: 'The Movie.mkv',
    }),
    env(9, { type: 'job_update', ...job, state: 'completed', progress_percent: 100, output_dir: 'The Movie' }),
  ];
}

function findNull(value: unknown, path = '$'): string | undefined {
  if (value === null) return path;
  if (typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = findNull(child, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/** Every row of every table, to compare the whole database before and after something. */
function snapshot(db: Db): Record<string, unknown[]> {
  const tables = ['agents', 'drives', 'jobs', 'titles', 'events'];
  return Object.fromEntries(tables.map((table) => [table, db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()]));
}

function eventSeqs(db: Db, agentId = A): number[] {
  return (db.prepare('SELECT seq FROM events WHERE agent_id = ? ORDER BY seq').all(agentId) as { seq: number }[]).map((r) => r.seq);
}

let dir: string;
let file: string;
let db: Db;
let store: StationStore;

function open(): void {
  db = openDatabase(file);
  store = new StationStore(db, silentLogger, 10);
  store.start();
}

function close(): void {
  store.stop();
  db.close();
}

beforeEach(() => {
  dir = tempDir('discbridge-store-');
  file = join(dir, 'hub.sqlite');
  open();
});

afterEach(() => {
  if (db.open) close();
  removeDir(dir);
});

describe('a job from identifying to completed', () => {
  it('returns each event as dashboards see it: the hub job id in place of the agent one, every other field as sent', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) {
      const out = store.apply(A, envelope);
      // Protocol 2: each carries the revision it made (registering an agent is not a revision of its own).
      const expected = 'job_id' in envelope.event ? { ...envelope.event, job_id: 1, rev: envelope.seq } : { ...envelope.event, rev: envelope.seq };
      expect(out).toEqual(expected);
    }
  });

  it('keeps running records while the rip goes on: lower-case states, no nulls, the drive pointing at the job', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A).slice(0, 7)) store.apply(A, envelope);

    const page = store.listJobs({ limit: 50 });
    expect(JobPage.parse(asPage(page))).toEqual(asPage(page));
    expect(page).toEqual({
      jobs: [{
        job_id: 1, agent_id: A, state: 'ripping', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd',
        progress_percent: 55.5, current_speed: '4.2x', eta_seconds: 300, current_title: 1, total_titles: 1,
        started_at: iso(at(2)), updated_at: iso(at(7)),
      }],
    });
    const job = store.getJob(1);
    expect(findNull(job)).toBeUndefined();
    expect(JobDetail.parse(asRecord(job))).toEqual(asRecord(job));
    expect(job?.titles).toEqual([
      {
        title_id: 1, name: 'Main feature', duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true,
        state: 'ripping', match_progress: 55.5, actual_size_bytes: 2_000_000_000,
      },
      { title_id: 2, duration_seconds: 95, chapters: 1, expected_size_bytes: 12_000_000, selected: false, state: 'skipped' },
    ]);
    expect(store.listDrives()).toEqual([
      { agent_id: A, drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd', job_id: 1 },
      { agent_id: A, drive_id: '/dev/sr1', has_disc: false },
    ]);
  });

  it('marks the job finished on completion and frees the drive', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);

    const job = store.getJob(1);
    expect(findNull(job)).toBeUndefined();
    expect(JobDetail.parse(asRecord(job))).toEqual(asRecord(job));
    expect(job).toMatchObject({
      job_id: 1, agent_id: A, state: 'completed', drive_id: '/dev/sr0', progress_percent: 100, output_dir: 'The Movie',
      started_at: iso(at(2)), updated_at: iso(at(9)), finished_at: iso(at(9)),
    });
    expect(job).not.toHaveProperty('error_message');
    expect(job?.titles[0]).toEqual({
      title_id: 1, name: 'Main feature', duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true,
      state: 'completed', match_progress: 100, actual_size_bytes: 4_400_000_000, output_filename: 'The Movie.mkv',
    });
    const drives = store.listDrives();
    // No job runs there any more; the disc still in shows how its last job ended.
    expect(drives[0]).toEqual({ agent_id: A, drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd', last_job_id: 1 });
    for (const drive of drives) expect(DriveRecord.parse({ ...drive, reachable: true })).toEqual({ ...drive, reachable: true });
    expect(store.jobRef(1)).toEqual({ agent_id: A, agent_job_id: 7, drive_id: '/dev/sr0', state: 'completed' });
  });

  it('forgets the last job when the disc comes out, and keeps it across a reconnect while the same disc stays in', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);
    const sameDisc = [{ drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false }];
    store.registerAgent(hello(A, sameDisc), T0 + 50_000);
    expect(store.listDrives()[0]).toMatchObject({ last_job_id: 1 });
    store.registerAgent(hello(A, [{ ...sameDisc[0]!, volume_label: 'ANOTHER' }]), T0 + 60_000);
    expect(store.listDrives()[0]).not.toHaveProperty('last_job_id');

    store.registerAgent(hello(A, sameDisc), T0 + 70_000);
    store.apply(A, env(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'identifying', drive_id: '/dev/sr0' }));
    store.apply(A, env(11, { type: 'job_update', agent_id: A, job_id: 8, state: 'failed', error_message: 'Could not read the disc' }));
    expect(store.listDrives()[0]).toMatchObject({ last_job_id: 2 });
    store.apply(A, env(12, { type: 'drive_event', agent_id: A, drive_id: '/dev/sr0', event: 'removed', volume_label: '' }));
    expect(store.listDrives()[0]).not.toHaveProperty('last_job_id');
  });

  it('keeps the images waiting for a drive, which a waiting_changed event changes without touching its disc', () => {
    store.registerAgent(hello(A, [{ drive_id: 'import', has_disc: false, busy: false, waiting: ['a.iso'], waiting_count: 1 }]), T0);
    expect(store.listDrives()[0]).toMatchObject({ drive_id: 'import', has_disc: false, waiting: ['a.iso'], waiting_count: 1 });
    store.apply(A, env(1, { type: 'drive_event', agent_id: A, drive_id: 'import', event: 'inserted', volume_label: 'A', disc_type: 'dvd', waiting: [], waiting_count: 0 }));
    store.apply(A, env(2, { type: 'drive_event', agent_id: A, drive_id: 'import', event: 'waiting_changed', volume_label: 'A', waiting: ['b.cue', 'c.iso'], waiting_count: 2 }));
    const [drive] = store.listDrives();
    expect(drive).toMatchObject({ has_disc: true, volume_label: 'A', disc_type: 'dvd', waiting: ['b.cue', 'c.iso'], waiting_count: 2 });
    expect(DriveRecord.parse({ ...drive, reachable: true })).toEqual({ ...drive, reachable: true });
  });

  it('a job that ends because its disc was taken out leaves no last job', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 3, state: 'ripping', drive_id: '/dev/sr0' }));
    store.apply(A, env(2, { type: 'drive_event', agent_id: A, drive_id: '/dev/sr0', event: 'removed', volume_label: '' }));
    store.apply(A, env(3, { type: 'job_update', agent_id: A, job_id: 3, state: 'failed', error_message: 'The disc was removed during the job' }));
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr0')).not.toHaveProperty('last_job_id');
  });

  it("keeps a data disc's checksum and unreadable bytes, and clears its byte rate when it ends", () => {
    store.registerAgent(hello(A, twoDrives), T0);
    const sha256 = 'a'.repeat(64);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 3, state: 'ripping', drive_id: '/dev/sr0', disc_type: 'data', bytes_per_second: 11_000_000, current_speed: '8.0x' }));
    expect(store.getJob(1)).toMatchObject({ bytes_per_second: 11_000_000 });
    store.apply(A, env(2, { type: 'job_update', agent_id: A, job_id: 3, state: 'completed', sha256 }));
    const job = store.getJob(1);
    expect(job).toMatchObject({ state: 'completed', sha256 });
    expect(job).not.toHaveProperty('bytes_per_second');
    expect(JobDetail.parse(asRecord(job))).toEqual(asRecord(job));
    store.apply(A, env(3, { type: 'job_update', agent_id: A, job_id: 4, state: 'ripping', drive_id: '/dev/sr1' }));
    store.apply(A, env(4, { type: 'job_update', agent_id: A, job_id: 4, state: 'failed', unreadable_bytes: 67_584, error_message: '67584 bytes could not be read' }));
    expect(store.getJob(2)).toMatchObject({ state: 'failed', unreadable_bytes: 67_584 });
  });

  it('keeps a failure message and its finished time', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 3, state: 'ripping', drive_id: '/dev/sr1' }));
    store.apply(A, env(2, { type: 'job_update', agent_id: A, job_id: 3, state: 'failed', error_message: 'Read error at sector 1234' }));
    expect(store.getJob(1)).toMatchObject({ state: 'failed', error_message: 'Read error at sector 1234', finished_at: iso(at(2)) });
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr1')).not.toHaveProperty('job_id');
  });

  it('writes every durable event to the events table; progress-only updates change the rows in place', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);
    store.flush();
    // Protocol 2: the agent decides what is progress-only (sent as `progress`); every sequenced event is kept.
    expect(eventSeqs(db)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const row = db.prepare('SELECT type, job_id, body FROM events WHERE agent_id = ? AND seq = 4').get(A) as
      { type: string; job_id: number; body: string };
    expect(row.type).toBe('job_update');
    expect(row.job_id).toBe(1);
    expect(JSON.parse(row.body)).toEqual({ ...lifecycle(A)[3]!.event, job_id: 1, rev: 4 });

    const before = eventSeqs(db).length;
    store.apply(A, env(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'ripping', drive_id: '/dev/sr1', progress_percent: 1 }));
    expect(store.applyProgress(A, progress(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'ripping', progress_percent: 42, eta_seconds: 90 }, at(11))))
      .toBeDefined();
    expect(store.applyProgress(A, progress(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'ripping', progress_percent: 43 }, at(12))))
      .toBeDefined();
    store.flush();
    expect(eventSeqs(db).length).toBe(before + 1);
    expect(store.getJob(2)).toMatchObject({ state: 'ripping', progress_percent: 43, eta_seconds: 90, updated_at: iso(at(12)) });
    store.apply(A, env(11, { type: 'job_update', agent_id: A, job_id: 8, state: 'transcoding', progress_percent: 0 }));
    store.flush();
    expect(eventSeqs(db).slice(-2)).toEqual([10, 11]);
  });
});

describe('job ids', () => {
  it('maps an agent job id to one hub job id, and another agent\'s same local id to another', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    const first = store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'identifying', drive_id: '/dev/sr0' }));
    const other = store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 7, state: 'identifying', drive_id: '/dev/sr0' }));
    const again = store.apply(A, env(2, { type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'ripping' }));
    const third = store.apply(A, env(3, { type: 'job_update', agent_id: A, job_id: 8, state: 'identifying', drive_id: '/dev/sr1' }));
    const otherAgain = store.apply(B, env(2, { type: 'job_update', agent_id: B, job_id: 7, state: 'ripping' }));
    expect(first).toMatchObject({ job_id: 1 });
    expect(other).toMatchObject({ job_id: 2 });
    expect(again).toMatchObject({ job_id: 1 });
    expect(third).toMatchObject({ job_id: 3 });
    expect(otherAgain).toMatchObject({ job_id: 2 });
    expect(store.jobRef(1)).toMatchObject({ agent_id: A, agent_job_id: 7 });
    expect(store.jobRef(2)).toMatchObject({ agent_id: B, agent_job_id: 7, state: 'ripping' });
    expect(store.listJobs({ limit: 10 }).jobs.map((j) => [j.job_id, j.agent_id])).toEqual([[3, A], [2, B], [1, A]]);
  });

  it('files an event under the agent of the connection, whatever agent id the event claims', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    const out = store.apply(A, env(1, { type: 'job_update', agent_id: B, job_id: 5, state: 'identifying' }));
    expect(out).toMatchObject({ agent_id: A, job_id: 1 });
    expect(store.listJobs({ limit: 10, agent_id: B }).jobs).toEqual([]);
    expect(store.jobRef(1)).toMatchObject({ agent_id: A, agent_job_id: 5 });
  });
});

describe('sequence numbers', () => {
  it('ignores an event already applied: replaying the whole batch returns undefined and changes nothing', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) expect(store.apply(A, envelope)).toBeDefined();
    store.flush();
    const once = snapshot(db);
    expect(store.lastSeq(A)).toBe(9);
    for (const envelope of lifecycle(A)) expect(store.apply(A, envelope)).toBeUndefined();
    store.flush();
    expect(snapshot(db)).toEqual(once);
    expect(once.jobs).toHaveLength(1);
    expect(once.titles).toHaveLength(2);
  });

  it('ignores a late event with an older seq even when it would change things', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);
    store.flush();
    const once = snapshot(db);
    const failed = { type: 'job_update', agent_id: A, job_id: 7, state: 'failed', error_message: 'late' } as const;
    const stale = env(5, failed);
    expect(store.apply(A, stale)).toBeUndefined();
    expect(store.apply(A, { ...stale, seq: 9 })).toBeUndefined();
    expect(store.apply(A, { ...stale, event: { ...failed, job_id: 99 } })).toBeUndefined();
    store.flush();
    expect(snapshot(db)).toEqual(once);
    expect(store.getJob(1)?.state).toBe('completed');
  });

  it('counts sequence numbers per agent and accepts gaps', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    store.apply(A, env(50, { type: 'job_update', agent_id: A, job_id: 1, state: 'identifying' }));
    expect(store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 1, state: 'identifying' }))).toBeDefined();
    expect(store.apply(A, env(51, { type: 'job_update', agent_id: A, job_id: 1, state: 'ripping' }))).toBeDefined();
    expect(store.apply(A, env(100, { type: 'job_update', agent_id: A, job_id: 1, state: 'completed' }))).toBeDefined();
    expect(store.lastSeq(A)).toBe(100);
    expect(store.lastSeq(B)).toBe(1);
    expect(store.lastSeq('nobody')).toBe(0);
  });
});

describe('listing 120 jobs', () => {
  const agentOf = (i: number): string => (i % 3 === 0 ? B : A);
  const driveOf = (i: number): string => (i % 2 === 0 ? '/dev/sr1' : '/dev/sr0');
  const stateOf = (i: number): JobState => (['completed', 'ripping', 'failed', 'identifying'] as const)[i % 4]!;
  const ids = (jobs: StoredJob[]): number[] => jobs.map((job) => job.job_id);
  const descending = (keep: (i: number) => boolean): number[] =>
    Array.from({ length: 120 }, (_, k) => 120 - k).filter(keep);

  beforeEach(() => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    const seqs = new Map<string, number>();
    for (let i = 1; i <= 120; i++) {
      const agent = agentOf(i);
      const seq = (seqs.get(agent) ?? 0) + 1;
      seqs.set(agent, seq);
      const out = store.apply(agent, env(seq, { type: 'job_update', agent_id: agent, job_id: 1000 + i, state: stateOf(i), drive_id: driveOf(i) }));
      expect(out).toMatchObject({ job_id: i });
    }
  });

  it('pages newest first with limit, before and next_before', () => {
    const first = store.listJobs({ limit: 50 });
    expect(ids(first.jobs)).toEqual(descending((i) => i > 70));
    expect(first.next_before).toBe(71);
    const second = store.listJobs({ limit: 50, before: first.next_before! });
    expect(ids(second.jobs)).toEqual(descending((i) => i <= 70 && i > 20));
    expect(second.next_before).toBe(21);
    const last = store.listJobs({ limit: 50, before: second.next_before! });
    expect(ids(last.jobs)).toEqual(descending((i) => i <= 20));
    expect(last).not.toHaveProperty('next_before');
    for (const page of [first, second, last]) expect(JobPage.parse(asPage(page))).toEqual(asPage(page));
  });

  it('has no next_before when the last page is exactly full', () => {
    const pages = [store.listJobs({ limit: 40 })];
    while (pages.at(-1)!.next_before !== undefined) pages.push(store.listJobs({ limit: 40, before: pages.at(-1)!.next_before! }));
    expect(pages.map((page) => page.jobs.length)).toEqual([40, 40, 40]);
    expect(pages.flatMap((page) => ids(page.jobs))).toEqual(descending(() => true));
  });

  it('filters by agent, drive and state, alone and together, and pages the filtered list', () => {
    expect(ids(store.listJobs({ limit: 500, agent_id: B }).jobs)).toEqual(descending((i) => i % 3 === 0));
    expect(ids(store.listJobs({ limit: 500, drive_id: '/dev/sr1' }).jobs)).toEqual(descending((i) => i % 2 === 0));
    expect(ids(store.listJobs({ limit: 500, state: 'failed' }).jobs)).toEqual(descending((i) => i % 4 === 2));
    expect(ids(store.listJobs({ limit: 500, agent_id: A, drive_id: '/dev/sr1', state: 'completed' }).jobs))
      .toEqual(descending((i) => i % 3 !== 0 && i % 4 === 0));
    expect(store.listJobs({ limit: 500, agent_id: 'nobody' })).toEqual({ jobs: [] });

    const firstB = store.listJobs({ limit: 15, agent_id: B });
    const secondB = store.listJobs({ limit: 15, agent_id: B, before: firstB.next_before! });
    expect([...ids(firstB.jobs), ...ids(secondB.jobs)]).toEqual(descending((i) => i % 3 === 0).slice(0, 30));
    expect(firstB.next_before).toBe(ids(firstB.jobs).at(-1));
  });

  it('lower-case states and no nulls in any record', () => {
    const { jobs } = store.listJobs({ limit: 500 });
    expect(jobs).toHaveLength(120);
    for (const job of jobs) {
      expect(job.state).toBe(stateOf(job.job_id));
      expect(job.state).toBe(job.state.toLowerCase());
      expect(findNull(job)).toBeUndefined();
      expect(JobRecord.parse(asRecord(job))).toEqual(asRecord(job));
      expect('finished_at' in job).toBe(['completed', 'failed'].includes(job.state));
    }
  });
});

describe('agents and drives', () => {
  it('replaces the drives an agent reports on each hello, keeping the job that runs on one', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', drive_id: '/dev/sr0' }));
    store.registerAgent(hello(A, [{ drive_id: '/dev/sr0', has_disc: true, volume_label: 'X', busy: true }]), T0 + 5000);
    expect(store.listDrives()).toEqual([{ agent_id: A, drive_id: '/dev/sr0', has_disc: true, volume_label: 'X', job_id: 1 }]);
    expect(store.listAgents()).toEqual([{ agent_id: A, name: `Station ${A}`, version: '0.1.0', last_seen: expect.any(Number) }]);
  });

  it('records a drive that appears by a drive event and a removal', () => {
    store.registerAgent(hello(A, []), T0);
    store.apply(A, env(1, { type: 'drive_event', agent_id: A, drive_id: '/dev/sr2', event: 'inserted', volume_label: 'DATA', disc_type: 'data' }));
    expect(store.listDrives()).toEqual([{ agent_id: A, drive_id: '/dev/sr2', has_disc: true, volume_label: 'DATA', disc_type: 'data' }]);
    store.apply(A, env(2, { type: 'drive_event', agent_id: A, drive_id: '/dev/sr2', event: 'removed', volume_label: '' }));
    expect(store.listDrives()).toEqual([{ agent_id: A, drive_id: '/dev/sr2', has_disc: false }]);
  });

  it('a title known only from a title_update still gives a valid JobDetail', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', drive_id: '/dev/sr0' }));
    store.apply(A, env(2, { type: 'title_update', agent_id: A, job_id: 7, title_id: 3, state: 'ripping', match_progress: 5 }));
    const job = store.getJob(1);
    expect(JobDetail.safeParse(asRecord(job)).success).toBe(true);
  });
});

describe('closing and reopening the database', () => {
  it('keeps every record, the last seq, and continues hub job ids without reuse', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);
    store.apply(A, env(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'ripping', drive_id: '/dev/sr1', progress_percent: 10 }));
    store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 7, state: 'identifying', drive_id: '/dev/sr0' }));
    const jobs = store.listJobs({ limit: 50 });
    const detail = store.getJob(1);
    const drives = store.listDrives();
    close();

    open();
    expect(store.listJobs({ limit: 50 })).toEqual(jobs);
    expect(store.getJob(1)).toEqual(detail);
    expect(store.listDrives()).toEqual(drives);
    expect(store.lastSeq(A)).toBe(10);
    expect(store.lastSeq(B)).toBe(1);
    store.flush();
    const reopened = snapshot(db);

    // The old batch again: nothing changes.
    for (const envelope of lifecycle(A)) expect(store.apply(A, envelope)).toBeUndefined();
    store.flush();
    expect(snapshot(db)).toEqual(reopened);

    // An unfinished job carries on under its id; its progress-only update adds no event row.
    const eventsBefore = eventSeqs(db).length;
    expect(store.applyProgress(A, progress(10, { type: 'job_update', agent_id: A, job_id: 8, state: 'ripping', progress_percent: 60 })))
      .toMatchObject({ job_id: 2 });
    store.flush();
    expect(eventSeqs(db).length).toBe(eventsBefore);
    // New jobs get new ids, past every id used before.
    expect(store.apply(A, env(11, { type: 'job_update', agent_id: A, job_id: 9, state: 'identifying' }))).toMatchObject({ job_id: 4 });
    expect(store.apply(B, env(2, { type: 'job_update', agent_id: B, job_id: 8, state: 'identifying' }))).toMatchObject({ job_id: 5 });
    // A late word on the completed job still finds it.
    expect(store.apply(A, env(12, { type: 'title_update', agent_id: A, job_id: 7, title_id: 2, state: 'skipped' }))).toMatchObject({ job_id: 1 });
    expect(store.getJob(2)).toMatchObject({ state: 'ripping', progress_percent: 60 });
    expect(store.listJobs({ limit: 50 }).jobs.map((j) => j.job_id)).toEqual([5, 4, 3, 2, 1]);
  });

  it('continues ids after the newest job even when that one was finished', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 1, state: 'identifying' }));
    store.apply(A, env(2, { type: 'job_update', agent_id: A, job_id: 2, state: 'identifying' }));
    store.apply(A, env(3, { type: 'job_update', agent_id: A, job_id: 2, state: 'cancelled' }));
    close();
    open();
    expect(store.apply(A, env(4, { type: 'job_update', agent_id: A, job_id: 3, state: 'identifying' }))).toMatchObject({ job_id: 3 });
    expect(store.getJob(2)).toMatchObject({ state: 'cancelled', agent_id: A });
  });

  it('a progress-only title_update after a reopen adds no event row, as before the reopen', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A).slice(0, 5)) store.apply(A, envelope);
    close();
    open();
    store.flush();
    const before = eventSeqs(db);
    // The reopened store still knows title 1 is ripping: the progress is applied, not dropped as stale.
    expect(store.applyProgress(A, progress(5, { type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'ripping', match_progress: 60 })))
      .toMatchObject({ job_id: 1, title_id: 1, match_progress: 60 });
    store.flush();
    expect(eventSeqs(db)).toEqual(before);
    expect(store.getJob(1)?.titles[0]).toMatchObject({ state: 'ripping', match_progress: 60 });
  });
});

describe('migrations', () => {
  it('set user_version to the number of migrations and create the tables', () => {
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    // The tables of the station store (other parts of the hub add their own).
    expect(tables).toEqual(expect.arrayContaining(['agents', 'drives', 'events', 'jobs', 'meta', 'titles']));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('do not run again on a database that is up to date', () => {
    close();
    expect(() => open()).not.toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  });

  it('refuse a database written by a newer schema with a clear error, leaving it untouched', () => {
    const newer = join(dir, 'newer.sqlite');
    const raw = new Database(newer);
    raw.pragma(`user_version = ${MIGRATIONS.length + 4}`);
    raw.close();
    expect(() => openDatabase(newer)).toThrow(new RegExp(`newer discbridge.*schema ${MIGRATIONS.length + 4}.*upgrade`));
    const check = new Database(newer, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 4);
    expect(check.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({ n: 0 });
    check.close();
  });

  it('creates the folder of a new database file', () => {
    const nested = join(dir, 'a', 'b', 'hub.sqlite');
    const fresh = openDatabase(nested);
    expect(fresh.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    fresh.close();
  });
});

describe('revisions (protocol 2)', () => {
  it('rise by one per applied durable event and per nextRevision, not for replays or progress, and survive a reopen', () => {
    expect(store.revision).toBe(0);
    store.registerAgent(hello(A, twoDrives), T0);
    expect(store.revision).toBe(0);
    const revs = lifecycle(A).slice(0, 5).map((envelope) => store.apply(A, envelope)?.rev);
    expect(revs).toEqual([1, 2, 3, 4, 5]);
    expect(store.revision).toBe(5);
    expect(store.nextRevision(A)).toBe(6);
    expect(store.stationRevision(A)).toBe(6);
    // A replay changes nothing, so it is no revision.
    expect(store.apply(A, lifecycle(A)[4]!)).toBeUndefined();
    expect(store.revision).toBe(6);
    // Progress repeats the current revision.
    const moved = store.applyProgress(A, progress(5, { type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'ripping', match_progress: 30 }));
    expect(moved).toMatchObject({ rev: 6 });
    expect(store.revision).toBe(6);
    // Another agent's events count on the same revision.
    expect(store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 1, state: 'identifying' }))).toMatchObject({ rev: 7 });
    // …but each station counts its own: B's first state change is its revision 1, and A's stays where it was.
    expect(store.stationRevisions()).toEqual({ [A]: 6, [B]: 1 });
    close();

    open();
    expect(store.revision).toBe(7);
    expect(store.stationRevisions()).toEqual({ [A]: 6, [B]: 1 });
    expect(store.apply(A, lifecycle(A)[5]!)).toMatchObject({ rev: 8 });
    expect(store.stationRevision(A)).toBe(7);
    expect(store.nextRevision(B)).toBe(9);
    close();
    open();
    // The last revision came from nextRevision (a station going offline): it is kept too.
    expect(store.revision).toBe(9);
    expect(store.stationRevisions()).toEqual({ [A]: 7, [B]: 2 });
  });

  it('keep the revision in the events table body, as dashboards saw it', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A)) store.apply(A, envelope);
    store.flush();
    const bodies = (db.prepare('SELECT seq, body FROM events WHERE agent_id = ? ORDER BY seq').all(A) as { seq: number; body: string }[])
      .map((row) => [row.seq, (JSON.parse(row.body) as { rev: number }).rev]);
    expect(bodies).toEqual(lifecycle(A).map((envelope) => [envelope.seq, envelope.seq]));
  });
});

describe('applyProgress (protocol 2: latest wins, no event row, no revision)', () => {
  /** Job 7 ripping title 1, title 2 skipped; last seq 5. */
  function ripping(): void {
    store.registerAgent(hello(A, twoDrives), T0);
    for (const envelope of lifecycle(A).slice(0, 5)) store.apply(A, envelope);
    store.flush();
  }
  const jobProgress = (percent: number, state: JobState = 'ripping') =>
    ({ type: 'job_update', agent_id: A, job_id: 7, state, progress_percent: percent, current_speed: '3.5x', eta_seconds: 120 }) as const;
  const titleProgress = (percent: number, titleId = 1) =>
    ({ type: 'title_update', agent_id: A, job_id: 7, title_id: titleId, state: 'ripping', match_progress: percent }) as const;

  it('updates the job and title rows in place, returns the event as dashboards see it, adds no event and no revision', () => {
    ripping();
    const seqsBefore = eventSeqs(db);
    const rev = store.revision;
    const job = store.applyProgress(A, progress(5, jobProgress(40), at(5) + 700));
    expect(job).toEqual({ ...jobProgress(40), job_id: 1, rev });
    const title = store.applyProgress(A, progress(5, { ...titleProgress(41), agent_id: 'impostor' } as never, at(5) + 800));
    expect(title).toEqual({ ...titleProgress(41), agent_id: A, job_id: 1, rev });
    store.flush();
    expect(eventSeqs(db)).toEqual(seqsBefore);
    expect(store.revision).toBe(rev);
    expect(store.lastSeq(A)).toBe(5);
    expect(store.committedSeq(A)).toBe(5);
    const detail = store.getJob(1);
    expect(detail).toMatchObject({ state: 'ripping', progress_percent: 40, current_speed: '3.5x', eta_seconds: 120, updated_at: iso(at(5) + 700) });
    expect(detail?.titles[0]).toMatchObject({ state: 'ripping', match_progress: 41 });
    // Latest wins: a later one overwrites.
    store.applyProgress(A, progress(5, jobProgress(45), at(5) + 900));
    expect(store.getJob(1)).toMatchObject({ progress_percent: 45 });
  });

  it('drops progress that came after an older event than the newest applied, or claims a newer one', () => {
    ripping();
    store.flush();
    const before = snapshot(db);
    expect(store.applyProgress(A, progress(4, jobProgress(40)))).toBeUndefined();
    expect(store.applyProgress(A, progress(0, titleProgress(40)))).toBeUndefined();
    expect(store.applyProgress(A, progress(6, jobProgress(40)))).toBeUndefined();
    // Another agent's seqs do not count for this one.
    store.registerAgent(hello(B, []), T0);
    store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 1, state: 'identifying' }));
    expect(store.applyProgress(B, progress(5, { ...jobProgress(1), agent_id: B }))).toBeUndefined();
    store.flush();
    const after = snapshot(db);
    expect(after.jobs!.filter((j) => (j as { agent_id: string }).agent_id === A)).toEqual(before.jobs);
    expect(after.titles).toEqual(before.titles);
  });

  it('drops progress whose job or title is no longer in that state, or is unknown or finished', () => {
    ripping();
    store.flush();
    const before = snapshot(db);
    // The job is ripping, not transcoding; title 2 is skipped; title 9 and job 99 are unknown.
    expect(store.applyProgress(A, progress(5, jobProgress(40, 'transcoding')))).toBeUndefined();
    expect(store.applyProgress(A, progress(5, { ...titleProgress(40), state: 'transcoding' }))).toBeUndefined();
    expect(store.applyProgress(A, progress(5, titleProgress(40, 2)))).toBeUndefined();
    expect(store.applyProgress(A, progress(5, titleProgress(40, 9)))).toBeUndefined();
    expect(store.applyProgress(A, progress(5, { ...jobProgress(40), job_id: 99 }))).toBeUndefined();
    store.flush();
    expect(snapshot(db)).toEqual(before);

    // Title 1 completes (seq 6): its old state's progress is stale even with the right after_seq.
    store.apply(A, env(6, { type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'completed', match_progress: 100 }));
    expect(store.applyProgress(A, progress(6, titleProgress(99)))).toBeUndefined();
    expect(store.applyProgress(A, progress(6, jobProgress(99)))).toBeDefined();
    // The job completes (seq 7): nothing about it moves any more.
    store.apply(A, env(7, { type: 'job_update', agent_id: A, job_id: 7, state: 'completed', progress_percent: 100 }));
    expect(store.applyProgress(A, progress(7, jobProgress(50)))).toBeUndefined();
    expect(store.applyProgress(A, progress(7, jobProgress(50, 'completed')))).toBeUndefined();
    expect(store.getJob(1)).toMatchObject({ state: 'completed', progress_percent: 100 });
    expect(store.getJob(1)?.titles[0]).toMatchObject({ state: 'completed', match_progress: 100 });
  });
});

describe('commits (protocol 2: only committed seqs are acknowledged)', () => {
  it('committedSeq lags lastSeq until a flush, and the timer flushes on its own', async () => {
    store.registerAgent(hello(A, twoDrives), T0);
    expect(store.committedSeq(A)).toBe(0);
    for (const envelope of lifecycle(A).slice(0, 3)) store.apply(A, envelope);
    expect(store.lastSeq(A)).toBe(3);
    expect(store.committedSeq(A)).toBe(0);
    store.flush();
    expect(store.committedSeq(A)).toBe(3);
    store.apply(A, lifecycle(A)[3]!);
    expect(store.committedSeq(A)).toBe(3);
    // flushMs is 10 in these tests.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.committedSeq(A)).toBe(4);
    close();
    open();
    expect(store.lastSeq(A)).toBe(4);
    expect(store.committedSeq(A)).toBe(4);
  });

  it('calls onCommit after the transaction, with the newest committed seq of each agent in it, and only then', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.registerAgent(hello(B, twoDrives), T0);
    const reader = new Database(file, { readonly: true });
    const calls: { seqs: [string, number][]; inTransaction: boolean; visible: number; committed: number }[] = [];
    store.onCommit((agents) => {
      calls.push({
        seqs: [...agents].sort(),
        inTransaction: db.inTransaction,
        // Another connection already sees the rows: they are committed, not merely written.
        visible: (reader.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
        committed: store.committedSeq(A),
      });
    });
    try {
      for (const envelope of lifecycle(A).slice(0, 4)) store.apply(A, envelope);
      store.apply(B, env(1, { type: 'job_update', agent_id: B, job_id: 1, state: 'identifying' }));
      store.apply(B, env(2, { type: 'job_update', agent_id: B, job_id: 1, state: 'ripping' }));
      expect(calls).toEqual([]);
      store.flush();
      expect(calls).toEqual([{ seqs: [[A, 4], [B, 2]], inTransaction: false, visible: 6, committed: 4 }]);

      // Nothing new: no call. Replays, progress and agent registrations commit no seq: no call either.
      store.flush();
      for (const envelope of lifecycle(A).slice(0, 4)) store.apply(A, envelope);
      store.applyProgress(A, progress(4, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', progress_percent: 5 }));
      store.registerAgent(hello(A, twoDrives), T0 + 1);
      store.flush();
      expect(calls).toHaveLength(1);

      store.apply(A, lifecycle(A)[4]!);
      store.flush();
      expect(calls.at(-1)).toEqual({ seqs: [[A, 5]], inTransaction: false, visible: 7, committed: 5 });
    } finally {
      reader.close();
    }
  });

  it('a busy database keeps the batch: no commit, no ack, until a later flush gets through', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    const committed: number[] = [];
    store.onCommit((agents) => committed.push(agents.get(A) ?? -1));
    db.pragma('busy_timeout = 0');
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
    try {
      for (const envelope of lifecycle(A).slice(0, 3)) store.apply(A, envelope);
      store.flush();
      expect(committed).toEqual([]);
      expect(store.committedSeq(A)).toBe(0);
      store.apply(A, lifecycle(A)[3]!);
      store.flush();
      expect(store.committedSeq(A)).toBe(0);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    store.flush();
    expect(committed).toEqual([4]);
    expect(store.committedSeq(A)).toBe(4);
    expect(eventSeqs(db)).toEqual([1, 2, 3, 4]);
  });
});

describe('interrupted jobs (protocol 2)', () => {
  it('an interrupted job is finished: it frees its drive and keeps its message', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', drive_id: '/dev/sr0' }));
    store.apply(A, env(2, { type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'interrupted', error: 'Interrupted by a station restart' }));
    store.apply(A, env(3, { type: 'job_update', agent_id: A, job_id: 7, state: 'interrupted', error_message: 'The station stopped' }));
    expect(store.getJob(1)).toMatchObject({ state: 'interrupted', error_message: 'The station stopped', finished_at: iso(at(3)) });
    expect(store.getJob(1)?.titles).toEqual([{ title_id: 1, chapters: 0, selected: true, state: 'interrupted', error: 'Interrupted by a station restart' }]);
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr0')).not.toHaveProperty('job_id');
    expect(store.applyProgress(A, progress(3, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', progress_percent: 3 }))).toBeUndefined();
  });

  // Regression (was a bug): StationStore.runningJobOn (and start()) still list the finished states by hand as
  // ('completed','failed','cancelled'), so an `interrupted` job counts as running: when the station says hello again,
  // registerAgent points the drive back at the interrupted job (GET /api/drives shows a job on an idle drive).
  it('an interrupted job does not take its drive back when the station says hello again', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', drive_id: '/dev/sr0' }));
    store.apply(A, env(2, { type: 'job_update', agent_id: A, job_id: 7, state: 'interrupted', error_message: 'The station stopped' }));
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr0')).not.toHaveProperty('job_id');
    store.registerAgent(hello(A, twoDrives), T0 + 1000);
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr0')).not.toHaveProperty('job_id');
  });

  it('a cancelled job, by contrast, does not take its drive back on the next hello', () => {
    store.registerAgent(hello(A, twoDrives), T0);
    store.apply(A, env(1, { type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', drive_id: '/dev/sr0' }));
    store.apply(A, env(2, { type: 'job_update', agent_id: A, job_id: 7, state: 'cancelled', error_message: 'Cancelled by user' }));
    store.registerAgent(hello(A, twoDrives), T0 + 1000);
    expect(store.listDrives().find((d) => d.drive_id === '/dev/sr0')).not.toHaveProperty('job_id');
  });
});
