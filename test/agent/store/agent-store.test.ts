// AgentStore over a real SQLite file (link protocol 2): the durable outbox with dense sequence numbers, latest-wins
// progress per job and title, acknowledgements, the counters a wiped station catches up on, and the job journal
// that tells a restarted agent which jobs were cut short.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentMessage, type JobUpdate, type StationEvent, type TitleUpdate } from '../../../shared/index.js';
import { AgentStore } from '../../../agent/store/agent-store.js';

const A = 'station-1';
const T0 = 1_700_000_000_000;

const drive = (event: 'inserted' | 'removed'): StationEvent =>
  ({ type: 'drive_event', agent_id: A, drive_id: '/dev/sr0', event, volume_label: event === 'inserted' ? 'THE_MOVIE' : '' });
const job = (jobId: number, state: JobUpdate['state'], extra: Partial<JobUpdate> = {}): JobUpdate =>
  ({ type: 'job_update', agent_id: A, job_id: jobId, state, ...extra });
const title = (jobId: number, titleId: number, state: TitleUpdate['state'], extra: Partial<TitleUpdate> = {}): TitleUpdate =>
  ({ type: 'title_update', agent_id: A, job_id: jobId, title_id: titleId, state, ...extra });
const discovered = (jobId: number, titles: [number, boolean][]): StationEvent => ({
  type: 'titles_discovered', agent_id: A, job_id: jobId,
  titles: titles.map(([titleId, selected]) => ({ title_id: titleId, duration_seconds: 3600, chapters: 10, expected_size_bytes: 1_000_000, selected })),
});

let dir: string;
let store: AgentStore;

function reopen(): void {
  store.stop();
  store = new AgentStore(dir);
  store.start();
}

/** The rows of a table, read through a separate read-only connection (what is really in the file). */
function rows(table: string): Record<string, unknown>[] {
  const db = new Database(join(dir, 'agent.sqlite'), { readonly: true });
  try {
    return db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-agent-store-'));
  store = new AgentStore(join(dir));
  store.start();
});

afterEach(() => {
  store.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('record()', () => {
  it('gives state events dense seqs 1..n, in the outbox, as valid link messages', () => {
    const events: StationEvent[] = [drive('inserted'), job(1, 'identifying', { drive_id: '/dev/sr0' }), discovered(1, [[1, true]]),
      job(1, 'ripping', { output_dir: 'The Movie' }), title(1, 1, 'ripping'), title(1, 1, 'completed'), job(1, 'completed')];
    const messages = events.map((event, i) => store.record(event, false, T0 + i));
    expect(messages.map((m) => m.kind)).toEqual(events.map(() => 'event'));
    expect(messages.map((m) => (m as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    messages.forEach((message, i) => expect(message).toEqual({ kind: 'event', seq: i + 1, at: T0 + i, event: events[i] }));
    for (const message of messages) expect(AgentMessage.parse(message)).toEqual(message);
    expect(store.lastSeq()).toBe(7);
    expect(store.outboxSize()).toBe(7);
    expect(rows('outbox').map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives progress no seq: it says which event it came after, and leaves the outbox and the counter alone', () => {
    store.record(job(1, 'ripping'), false, T0);
    const first = store.record(job(1, 'ripping', { progress_percent: 10 }), true, T0 + 1);
    expect(first).toEqual({ kind: 'progress', after_seq: 1, at: T0 + 1, event: job(1, 'ripping', { progress_percent: 10 }) });
    expect(AgentMessage.parse(first)).toEqual(first);
    expect(first).not.toHaveProperty('seq');
    expect(store.lastSeq()).toBe(1);
    expect(store.outboxSize()).toBe(1);
    // Progress before any event at all comes after seq 0.
    const other = new AgentStore(join(dir, 'other'));
    other.start();
    try {
      expect(other.record(title(5, 1, 'ripping', { match_progress: 1 }), true, T0)).toMatchObject({ kind: 'progress', after_seq: 0 });
      // The next state event is still seq 1.
      expect(other.record(job(5, 'ripping'), false, T0)).toMatchObject({ kind: 'event', seq: 1 });
    } finally {
      other.stop();
    }
  });

  it('keeps only the newest progress per job and per title', () => {
    store.record(job(1, 'ripping'), false, T0);
    store.record(title(1, 1, 'ripping', { match_progress: 10 }), true, T0 + 1);
    store.record(title(1, 2, 'ripping', { match_progress: 5 }), true, T0 + 2);
    store.record(job(1, 'ripping', { progress_percent: 7 }), true, T0 + 3);
    store.record(title(1, 1, 'ripping', { match_progress: 20 }), true, T0 + 4);
    store.record(job(2, 'ripping', { progress_percent: 50 }), true, T0 + 5);
    store.record(job(1, 'ripping', { progress_percent: 12 }), true, T0 + 6);

    // Two records for title 1 of job 1: one row, the newest.
    expect(rows('progress')).toHaveLength(4);
    const latest = store.latestProgress();
    expect(latest.map((p) => p.event)).toEqual([
      title(1, 2, 'ripping', { match_progress: 5 }),
      title(1, 1, 'ripping', { match_progress: 20 }),
      job(2, 'ripping', { progress_percent: 50 }),
      job(1, 'ripping', { progress_percent: 12 }),
    ]);
    expect(latest.map((p) => p.at)).toEqual([T0 + 2, T0 + 4, T0 + 5, T0 + 6]);
    for (const message of latest) expect(AgentMessage.parse(message)).toEqual(message);
  });

  it('a progress row says the seq it came after when it was recorded, not when it was first stored', () => {
    store.record(job(1, 'ripping'), false, T0);
    store.record(title(1, 1, 'ripping', { match_progress: 10 }), true, T0 + 1);
    store.record(title(1, 2, 'ripping'), false, T0 + 2);
    store.record(title(1, 1, 'ripping', { match_progress: 11 }), true, T0 + 3);
    expect(store.latestProgress()).toEqual([
      { kind: 'progress', after_seq: 2, at: T0 + 3, event: title(1, 1, 'ripping', { match_progress: 11 }) },
    ]);
  });

  it('a finished job_update deletes that job\'s progress rows, and only that job\'s', () => {
    store.record(job(1, 'ripping'), false, T0);
    store.record(job(2, 'ripping'), false, T0);
    store.record(job(1, 'ripping', { progress_percent: 40 }), true, T0 + 1);
    store.record(title(1, 1, 'ripping', { match_progress: 40 }), true, T0 + 2);
    store.record(title(1, 3, 'transcoding', { match_progress: 2 }), true, T0 + 3);
    store.record(job(2, 'ripping', { progress_percent: 70 }), true, T0 + 4);
    expect(rows('progress')).toHaveLength(4);

    store.record(job(1, 'failed', { error_message: 'Read error' }), false, T0 + 5);
    expect(store.latestProgress().map((p) => p.event)).toEqual([job(2, 'ripping', { progress_percent: 70 })]);
    for (const state of ['completed', 'cancelled', 'interrupted'] as const) {
      store.record(job(2, 'ripping', { progress_percent: 71 }), true, T0 + 6);
      store.record(job(2, state), false, T0 + 7);
      expect(store.latestProgress(), state).toEqual([]);
    }
  });

  it('an unfinished job_update (a new phase) keeps the job\'s progress rows', () => {
    store.record(job(1, 'ripping'), false, T0);
    store.record(title(1, 1, 'ripping', { match_progress: 40 }), true, T0 + 1);
    store.record(job(1, 'transcoding'), false, T0 + 2);
    expect(store.latestProgress()).toHaveLength(1);
  });
});

describe('eventsAfter() and acknowledge()', () => {
  beforeEach(() => {
    for (let i = 1; i <= 10; i++) store.record(job(i, 'identifying'), false, T0 + i);
  });

  it('returns the outbox after a seq, oldest first, at most limit events', () => {
    expect(store.eventsAfter(0, 3).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(store.eventsAfter(3, 100).map((e) => e.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(store.eventsAfter(10, 100)).toEqual([]);
    expect(store.eventsAfter(4, 1)).toEqual([{ kind: 'event', seq: 5, at: T0 + 5, event: job(5, 'identifying') }]);
  });

  it('acknowledge(seq) drops every event up to seq, and only those', () => {
    store.acknowledge(4);
    expect(store.outboxSize()).toBe(6);
    expect(store.eventsAfter(0, 100).map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    // An older or repeated ack changes nothing.
    store.acknowledge(2);
    store.acknowledge(4);
    expect(store.outboxSize()).toBe(6);
    store.acknowledge(10);
    expect(store.outboxSize()).toBe(0);
    expect(rows('outbox')).toEqual([]);
    // Acknowledging does not give seqs back: the next event is 11.
    expect(store.record(drive('removed'), false, T0)).toMatchObject({ seq: 11 });
    expect(store.eventsAfter(0, 100).map((e) => e.seq)).toEqual([11]);
  });

  it('an ack ahead of the outbox empties it without moving the counter', () => {
    store.acknowledge(50);
    expect(store.outboxSize()).toBe(0);
    expect(store.lastSeq()).toBe(10);
  });
});

describe('close and reopen', () => {
  it('keeps the counters, the unacknowledged outbox, the progress and the journal', () => {
    expect(store.nextJobId()).toBe(1);
    expect(store.nextJobId()).toBe(2);
    store.record(job(2, 'identifying', { drive_id: '/dev/sr1' }), false, T0);
    store.record(discovered(2, [[1, true], [2, true], [3, false]]), false, T0 + 1);
    store.record(job(2, 'ripping', { output_dir: 'Disc 2' }), false, T0 + 2);
    store.record(title(2, 1, 'ripping', { match_progress: 30 }), true, T0 + 3);
    store.acknowledge(1);
    const outbox = store.eventsAfter(0, 100);
    const progress = store.latestProgress();
    const unfinished = store.unfinishedJobs();

    reopen();
    expect(store.lastSeq()).toBe(3);
    expect(store.eventsAfter(0, 100)).toEqual(outbox);
    expect(store.outboxSize()).toBe(2);
    expect(store.latestProgress()).toEqual(progress);
    expect(store.unfinishedJobs()).toEqual(unfinished);
    expect(store.nextJobId()).toBe(3);
    expect(store.record(drive('removed'), false, T0)).toMatchObject({ seq: 4 });
  });

  it('refuses to be used before start() or after stop()', () => {
    const unstarted = new AgentStore(join(dir, 'unstarted'));
    expect(() => unstarted.lastSeq()).toThrow(/not started/);
    store.stop();
    expect(() => store.record(drive('inserted'), false)).toThrow(/not started/);
    store.start();
  });
});

describe('catchUp()', () => {
  it('raises the seq and job counters to the hub\'s when they are behind (a wiped data folder)', () => {
    expect(store.catchUp(40, 12)).toBe(true);
    expect(store.lastSeq()).toBe(40);
    expect(store.nextJobId()).toBe(13);
    expect(store.record(drive('inserted'), false, T0)).toMatchObject({ seq: 41 });
    reopen();
    expect(store.lastSeq()).toBe(41);
    expect(store.nextJobId()).toBe(14);
  });

  it('never lowers a counter', () => {
    for (let i = 0; i < 5; i++) store.record(drive('inserted'), false, T0);
    store.nextJobId();
    store.nextJobId();
    store.nextJobId();
    // Both behind the agent: nothing to do.
    expect(store.catchUp(3, 2)).toBe(false);
    expect(store.catchUp(5, 3)).toBe(false);
    expect(store.lastSeq()).toBe(5);
    // Only the job counter is behind: the seq stays.
    expect(store.catchUp(1, 9)).toBe(true);
    expect(store.lastSeq()).toBe(5);
    expect(store.nextJobId()).toBe(10);
    // Only the seq is behind: the job counter stays.
    expect(store.catchUp(20, 1)).toBe(true);
    expect(store.lastSeq()).toBe(20);
    expect(store.nextJobId()).toBe(11);
    expect(store.catchUp(0, 0)).toBe(false);
    expect(store.lastSeq()).toBe(20);
  });
});

describe('unfinishedJobs()', () => {
  it('lists the jobs whose last state is not finished, with their non-final titles and output folder', () => {
    // Job 1: ripping title 2 of three selected (title 1 done, title 4 skipped), in a folder.
    store.record(job(1, 'identifying', { drive_id: '/dev/sr0' }), false, T0);
    store.record(discovered(1, [[1, true], [2, true], [3, true], [4, false]]), false, T0);
    store.record(job(1, 'ripping', { output_dir: 'The Movie' }), false, T0);
    store.record(title(1, 1, 'ripping'), false, T0);
    store.record(title(1, 1, 'completed'), false, T0);
    store.record(title(1, 2, 'ripping'), false, T0);
    store.record(title(1, 2, 'ripping', { match_progress: 50 }), true, T0);
    // Job 2: identifying on another drive, no folder yet.
    store.record(job(2, 'identifying', { drive_id: '/dev/sr1' }), false, T0);
    // Jobs 3-6 finished one way or another.
    store.record(job(3, 'ripping', { drive_id: '/dev/sr0', output_dir: 'Three' }), false, T0);
    store.record(job(3, 'completed'), false, T0);
    store.record(job(4, 'identifying', { drive_id: '/dev/sr0' }), false, T0);
    store.record(job(4, 'failed', { error_message: 'x' }), false, T0);
    store.record(job(5, 'ripping', { drive_id: '/dev/sr0' }), false, T0);
    store.record(job(5, 'cancelled'), false, T0);
    store.record(job(6, 'ripping', { drive_id: '/dev/sr0' }), false, T0);
    store.record(job(6, 'interrupted'), false, T0);
    // Job 7: transcoding, with progress recorded last: progress counts in the journal too.
    store.record(job(7, 'ripping', { drive_id: '/dev/sr1', output_dir: 'Seven' }), false, T0);
    store.record(title(7, 1, 'completed'), false, T0);
    store.record(job(7, 'transcoding'), false, T0);
    store.record(title(7, 1, 'transcoding', { match_progress: 3 }), true, T0);

    expect(store.unfinishedJobs()).toEqual([
      { jobId: 1, drive: '/dev/sr0', outputDir: 'The Movie', openTitles: [{ titleId: 2, state: 'ripping' }, { titleId: 3, state: 'pending' }] },
      { jobId: 2, drive: '/dev/sr1', openTitles: [] },
      { jobId: 7, drive: '/dev/sr1', outputDir: 'Seven', openTitles: [{ titleId: 1, state: 'transcoding' }] },
    ]);
    reopen();
    expect(store.unfinishedJobs().map((j) => j.jobId)).toEqual([1, 2, 7]);
    // Once a job finishes, it leaves the list and its titles leave the journal.
    store.record(job(1, 'interrupted'), false, T0);
    expect(store.unfinishedJobs().map((j) => j.jobId)).toEqual([2, 7]);
    expect(rows('titles').filter((r) => r.job_id === 1)).toEqual([]);
  });

  it('titles in every final state are not open', () => {
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0' }), false, T0);
    const finals = ['completed', 'failed', 'skipped', 'cancelled', 'interrupted'] as const;
    finals.forEach((state, i) => store.record(title(1, i + 1, state), false, T0));
    store.record(title(1, 9, 'pending'), false, T0);
    expect(store.unfinishedJobs()).toEqual([{ jobId: 1, drive: '/dev/sr0', openTitles: [{ titleId: 9, state: 'pending' }] }]);
  });
});
