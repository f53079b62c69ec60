// The dashboard's client-side model (hub/web/src/state.ts): REST snapshots merged with live messages, revision gaps,
// stale events, offline stations and live logs.
import { describe, expect, it } from 'vitest';
import type { DashboardMessage, JobDetail, JobRecord } from '../../../shared/index.js';
import { DashboardState, driveKey, titlePosition, type Snapshot } from '../../../hub/web/src/state.js';

const NOW = Date.UTC(2025, 2, 12, 12, 0, 0);
const ISO = new Date(NOW - 60_000).toISOString();

function record(job_id: number, fields: Partial<JobRecord> = {}): JobRecord {
  return { agent_id: 'den', job_id, state: 'completed', drive_id: '/dev/sr1', volume_label: `OLD_${job_id}`, started_at: ISO, updated_at: ISO, finished_at: ISO, reachable: true, ...fields };
}

function runningJob(): JobDetail {
  return {
    agent_id: 'den', job_id: 7, state: 'ripping', drive_id: '/dev/sr0', volume_label: 'MOVIE', progress_percent: 40, current_speed: '2.0x',
    eta_seconds: 120, current_title: 1, total_titles: 2, started_at: ISO, updated_at: ISO, reachable: true,
    titles: [
      { title_id: 1, state: 'ripping', selected: true, chapters: 4, duration_seconds: 600, expected_size_bytes: 1000, match_progress: 80 },
      { title_id: 2, state: 'pending', selected: true, chapters: 2, duration_seconds: 300, expected_size_bytes: 500 },
      { title_id: 3, state: 'skipped', selected: false, chapters: 1, duration_seconds: 5, expected_size_bytes: 10 },
    ],
  };
}

function snapshot(rev: number, overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    revisions: { den: rev },
    agents: [{ agent_id: 'den', name: 'Den', version: '0.1.0', state: 'online', last_seen: ISO }],
    drives: [
      { agent_id: 'den', drive_id: '/dev/sr0', has_disc: true, volume_label: 'MOVIE', disc_type: 'dvd', job_id: 7, reachable: true },
      { agent_id: 'den', drive_id: '/dev/sr1', has_disc: false, reachable: true },
    ],
    jobs: [runningJob()],
    history: { query: {}, jobs: [runningJob(), record(5), record(4)], next_before: 4 },
    ...overrides,
  };
}

function loaded(rev = 10): DashboardState {
  const state = new DashboardState();
  expect(state.applySnapshot(snapshot(rev), NOW)).toEqual({ resync: false });
  state.takeDirty();
  return state;
}

const jobUpdate = (rev: number, fields: Partial<Extract<DashboardMessage, { type: 'job_update' }>> = {}): DashboardMessage =>
  ({ type: 'job_update', agent_id: 'den', job_id: 7, state: 'ripping', rev, ...fields });

describe('snapshots', () => {
  it('starts syncing, with nothing until the first snapshot, then shows stations with their drives and running jobs', () => {
    const state = new DashboardState();
    expect(state.syncing).toBe(true);
    expect(state.hasSnapshot).toBe(false);
    state.applySnapshot(snapshot(10), NOW);
    expect(state.revisionOf('den')).toBe(10);
    expect(state.syncing).toBe(false);
    const [den] = state.stations();
    expect(den?.agent.name).toBe('Den');
    expect(den?.drives.map((d) => d.drive_id)).toEqual(['/dev/sr0', '/dev/sr1']);
    const job = state.jobOnDrive(den!.drives[0]!);
    expect(job).toMatchObject({ job_id: 7, progress_percent: 40, eta_at: NOW + 120_000 });
    expect(job?.titles).toHaveLength(3);
    expect(state.historyJobs().map((j) => j.job_id)).toEqual([7, 5, 4]);
    // The running job on the history page keeps the titles from its detail.
    expect(state.historyJobs()[0]?.titles).toHaveLength(3);
  });

  it('the hello of a socket asks for a reload unless the revision says nothing happened', () => {
    const state = loaded(10);
    expect(state.apply({ type: 'hello', server: 'hub', version: '1', protocol: 2, protocols: [2, 3], revisions: { den: 10 }, rev: 99 }, NOW)).toEqual({ resync: false });
    expect(state.apply({ type: 'hello', server: 'hub', version: '1', protocol: 2, protocols: [2, 3], revisions: { den: 12 }, rev: 99 }, NOW)).toEqual({ resync: true });
  });

  it('a hello that arrives while the first snapshot is on its way: the snapshot must be at least that new', () => {
    const state = new DashboardState();
    expect(state.apply({ type: 'hello', server: 'hub', version: '1', protocol: 2, protocols: [2, 3], revisions: { den: 12 }, rev: 99 }, NOW)).toEqual({ resync: false });
    // The snapshot was read before the socket opened: what happened between (rev 11, 12) reached neither.
    expect(state.applySnapshot(snapshot(10), NOW)).toEqual({ resync: true });
    state.beginResync();
    expect(state.applySnapshot(snapshot(12), NOW)).toEqual({ resync: false });
  });

  it('keeps the old view while a reload runs, buffers live messages, then applies only those newer than the snapshot', () => {
    const state = loaded(10);
    state.beginResync();
    // The old view is still there while the snapshot is fetched: no flash of empty content.
    expect(state.stations()).toHaveLength(1);
    expect(state.jobs.get(7)?.progress_percent).toBe(40);
    // Live messages during the fetch wait; some are older than the snapshot that will land (rev 12).
    state.apply(jobUpdate(11, { state: 'ripping', progress_percent: 50 }), NOW);
    state.apply(jobUpdate(12, { state: 'ripping', current_title: 2 }), NOW);
    state.apply(jobUpdate(12, { progress_percent: 70 }), NOW); // progress at the snapshot's revision: newer than it
    state.apply({ type: 'drive_event', agent_id: 'den', drive_id: '/dev/sr1', event: 'inserted', volume_label: 'NEXT', disc_type: 'bluray', rev: 13 }, NOW);
    expect(state.jobs.get(7)?.progress_percent).toBe(40); // not applied yet
    const snap = snapshot(12);
    snap.jobs[0]!.progress_percent = 60;
    snap.jobs[0]!.current_title = 2;
    expect(state.applySnapshot(snap, NOW + 1000)).toEqual({ resync: false });
    expect(state.jobs.get(7)?.progress_percent).toBe(70);
    expect(state.drives.get(driveKey('den', '/dev/sr1'))).toMatchObject({ has_disc: true, volume_label: 'NEXT', disc_type: 'bluray' });
    expect(state.revisionOf('den')).toBe(13);
  });

  it('a gap in the buffered messages asks for another reload', () => {
    const state = loaded(10);
    state.beginResync();
    state.apply(jobUpdate(15, { state: 'transcoding' }), NOW);
    expect(state.applySnapshot(snapshot(12), NOW)).toEqual({ resync: true });
  });

  it('keeps open logs and pinned jobs across a reload', () => {
    const state = loaded(10);
    state.pinned.add(4);
    state.applyJobDetail({ ...record(4), titles: [{ title_id: 1, state: 'completed', selected: true, chapters: 3, output_filename: 'OLD_4_t01.mkv' }] }, { den: 10 }, NOW);
    state.openLog(7, [{ at: 1, level: 'info', text: 'Scanning' }]);
    state.beginResync();
    state.applySnapshot(snapshot(11, { history: { query: {}, jobs: [record(5), record(4)] } }), NOW);
    expect(state.logs.get(7)).toHaveLength(1);
    expect(state.jobs.get(4)?.titles?.[0]?.output_filename).toBe('OLD_4_t01.mkv');
  });
});

describe('live messages', () => {
  it('merge into what is known: absent fields are unchanged, never erased', () => {
    const state = loaded(10);
    state.apply(jobUpdate(10, { progress_percent: 45 }), NOW + 1000);
    const job = state.jobs.get(7)!;
    expect(job).toMatchObject({ progress_percent: 45, current_speed: '2.0x', current_title: 1, total_titles: 2, volume_label: 'MOVIE' });
    expect(job.eta_at).toBe(NOW + 120_000); // no new ETA: the old one stands
    state.apply(jobUpdate(10, { eta_seconds: 30 }), NOW + 2000);
    expect(job.eta_at).toBe(NOW + 32_000);
    state.apply({ type: 'title_update', agent_id: 'den', job_id: 7, title_id: 1, state: 'ripping', match_progress: 90, rev: 10 }, NOW);
    expect(job.titles?.[0]).toMatchObject({ match_progress: 90, duration_seconds: 600, expected_size_bytes: 1000, chapters: 4 });
    expect(state.takeDirty()).toMatchObject({ jobs: new Set([7]), drives: new Set([driveKey('den', '/dev/sr0')]) });
  });

  it('state changes advance the revision one by one; a jump means something was missed', () => {
    const state = loaded(10);
    expect(state.apply(jobUpdate(11, { state: 'transcoding' }), NOW)).toEqual({ resync: false });
    expect(state.revisionOf('den')).toBe(11);
    expect(state.apply(jobUpdate(11, { state: 'transcoding', progress_percent: 91 }), NOW)).toEqual({ resync: false });
    expect(state.revisionOf('den')).toBe(11);
    expect(state.apply(jobUpdate(13, { state: 'completed' }), NOW)).toEqual({ resync: true });
    expect(state.jobs.get(7)?.state).toBe('transcoding'); // not applied: the reload brings it
  });

  it('ignores messages older than what the model reflects, and repeats of state changes', () => {
    const state = loaded(10);
    state.apply(jobUpdate(9, { progress_percent: 10 }), NOW);
    expect(state.jobs.get(7)?.progress_percent).toBe(40);
    // A drive event repeating the current revision is one the model already has.
    state.apply({ type: 'drive_event', agent_id: 'den', drive_id: '/dev/sr1', event: 'inserted', volume_label: 'DUP', rev: 10 }, NOW);
    expect(state.drives.get(driveKey('den', '/dev/sr1'))?.has_disc).toBe(false);
  });

  it('a finished job leaves its drive, loses its speed and ETA, and stays in history', () => {
    const state = loaded(10);
    state.apply(jobUpdate(11, { state: 'completed', progress_percent: 100 }), NOW + 5000);
    const job = state.jobs.get(7)!;
    expect(job.state).toBe('completed');
    expect(job.current_speed).toBeUndefined();
    expect(job.eta_seconds).toBeUndefined();
    expect(job.eta_at).toBeUndefined();
    expect(job.finished_at).toBe(new Date(NOW + 5000).toISOString());
    expect(state.drives.get(driveKey('den', '/dev/sr0'))?.job_id).toBeUndefined();
    expect(state.historyJobs()[0]?.state).toBe('completed');
  });

  it('a new job appears on its drive and at the top of the newest history page', () => {
    const state = loaded(10);
    state.apply({ type: 'drive_event', agent_id: 'den', drive_id: '/dev/sr1', event: 'inserted', volume_label: 'SHOW', disc_type: 'dvd', rev: 11 }, NOW);
    state.apply({ type: 'job_update', agent_id: 'den', job_id: 8, state: 'identifying', drive_id: '/dev/sr1', volume_label: 'SHOW', rev: 12 }, NOW);
    const drive = state.drives.get(driveKey('den', '/dev/sr1'))!;
    expect(drive).toMatchObject({ has_disc: true, volume_label: 'SHOW', job_id: 8 });
    expect(state.historyIds).toEqual([8, 7, 5, 4]);
    state.apply({
      type: 'titles_discovered', agent_id: 'den', job_id: 8, rev: 13,
      titles: [{ title_id: 1, duration_seconds: 1300, chapters: 6, expected_size_bytes: 9000, selected: true }, { title_id: 2, duration_seconds: 20, chapters: 1, expected_size_bytes: 9, selected: false }],
    }, NOW);
    expect(state.jobs.get(8)?.titles?.map((t) => [t.title_id, t.state])).toEqual([[1, 'pending'], [2, 'skipped']]);
    state.apply({ type: 'job_update', agent_id: 'den', job_id: 8, state: 'ripping', current_title: 1, total_titles: 1, rev: 14 }, NOW);
    expect(titlePosition(state.jobs.get(8)!)).toEqual({ index: 1, total: 1 });
  });

  it('history filters and pages: a job joins the newest page only when it matches, and leaves when it no longer does', () => {
    const state = loaded(10);
    state.applyHistory({ query: { state: 'ripping' }, jobs: [record(7, { state: 'ripping', finished_at: undefined } as Partial<JobRecord>)] }, { den: 10 }, NOW);
    expect(state.historyIds).toEqual([7]);
    state.apply({ type: 'job_update', agent_id: 'den', job_id: 9, state: 'identifying', drive_id: '/dev/sr1', rev: 11 }, NOW);
    expect(state.historyIds).toEqual([7]);
    state.apply({ type: 'job_update', agent_id: 'den', job_id: 9, state: 'ripping', rev: 12 }, NOW);
    expect(state.historyIds).toEqual([9, 7]);
    state.apply(jobUpdate(13, { state: 'completed' }), NOW);
    expect(state.historyIds).toEqual([9]);
    // An older page never grows with new jobs.
    state.applyHistory({ query: { before: 5 }, jobs: [record(4)] }, { den: 13 }, NOW);
    state.apply({ type: 'job_update', agent_id: 'den', job_id: 10, state: 'identifying', drive_id: '/dev/sr1', rev: 14 }, NOW);
    expect(state.historyIds).toEqual([4]);
  });

  it('the newest history page stays one page long however many jobs come while it is open; older ones are let go', () => {
    const state = new DashboardState(3);
    state.applySnapshot(snapshot(10), NOW); // history: 7 (running), 5, 4; next_before 4
    let rev = 10;
    for (const id of [8, 9, 10]) {
      state.apply({ type: 'job_update', agent_id: 'den', job_id: id, state: 'identifying', drive_id: '/dev/sr1', rev: ++rev }, NOW);
      state.apply({ type: 'job_update', agent_id: 'den', job_id: id, state: 'completed', rev: ++rev }, NOW);
    }
    expect(state.historyIds).toEqual([10, 9, 8]);
    expect(state.history.next_before).toBe(8);
    // The running job 7 stays known (its drive shows it); the finished 4 and 5 are let go.
    expect([...state.jobs.keys()].sort((a, b) => a - b)).toEqual([7, 8, 9, 10]);
  });

  it('an offline station makes its drives and unfinished jobs unreachable; finished jobs stay as they are', () => {
    const state = loaded(10);
    state.apply({ type: 'agent_update', agent_id: 'den', state: 'offline', rev: 11 }, NOW);
    expect(state.agents.get('den')?.state).toBe('offline');
    expect([...state.drives.values()].map((d) => d.reachable)).toEqual([false, false]);
    expect(state.jobs.get(7)?.reachable).toBe(false);
    expect(state.jobs.get(5)?.reachable).toBe(true);
    expect(state.takeDirty().structure).toBe(true);
    // Back online: reachable again, and a reload to see which drives it has now.
    expect(state.apply({ type: 'agent_update', agent_id: 'den', state: 'online', name: 'Den', rev: 12 }, NOW)).toEqual({ resync: true });
    expect(state.drives.get(driveKey('den', '/dev/sr0'))?.reachable).toBe(true);
    expect(state.jobs.get(7)?.reachable).toBe(true);
  });

  it('a refused station says why', () => {
    const state = loaded(10);
    state.apply({ type: 'agent_update', agent_id: 'attic', state: 'offline', name: 'Attic', error: 'Station speaks protocol 1; this hub speaks 2', rev: 1 }, NOW);
    expect(state.agents.get('attic')).toMatchObject({ name: 'Attic', state: 'offline', error: 'Station speaks protocol 1; this hub speaks 2' });
    expect(state.stations().map((s) => s.agent.agent_id)).toEqual(['attic', 'den']);
  });

  it('job_log lines are kept only for open logs, appended in order, without the lines the fetch already had', () => {
    const state = loaded(10);
    state.apply({ type: 'job_log', agent_id: 'den', job_id: 7, lines: [{ at: 1, level: 'info', text: 'not watched' }], rev: 11 }, NOW);
    expect(state.logs.has(7)).toBe(false);
    expect(state.revisionOf('den')).toBe(11); // it still counts as a state change
    state.watchLog(7);
    state.apply({ type: 'job_log', agent_id: 'den', job_id: 7, lines: [{ at: 2, level: 'info', text: 'Title 1 ripped' }], rev: 12 }, NOW);
    // The fetched log already has that line: it is not doubled.
    state.openLog(7, [{ at: 1, level: 'info', text: 'not watched' }, { at: 2, level: 'info', text: 'Title 1 ripped' }]);
    state.apply({ type: 'job_log', agent_id: 'den', job_id: 7, lines: [{ at: 3, level: 'warn', text: 'Read error, retrying' }, { at: 4, level: 'info', text: 'Done' }], rev: 13 }, NOW);
    expect(state.logs.get(7)?.map((l) => l.text)).toEqual(['not watched', 'Title 1 ripped', 'Read error, retrying', 'Done']);
    expect(state.takeDirty().logs).toEqual(new Set([7]));
    state.closeLog(7);
    expect(state.logs.has(7)).toBe(false);
  });

  it('messages for unknown stations and drives create them', () => {
    const state = loaded(10);
    state.apply({ type: 'drive_event', agent_id: 'garage', drive_id: 'E:', event: 'inserted', volume_label: '', rev: 1 }, NOW);
    expect(state.stations().map((s) => [s.agent.agent_id, s.drives.map((d) => d.drive_id)])).toEqual([['den', ['/dev/sr0', '/dev/sr1']], ['garage', ['E:']]]);
  });

  it('title N of M counts the selected titles, not title ids', () => {
    const job = { ...runningJob(), current_title: 5, total_titles: 2 };
    job.titles = [{ title_id: 3, state: 'completed', selected: true, chapters: 1 }, { title_id: 5, state: 'ripping', selected: true, chapters: 1 }];
    expect(titlePosition(job)).toEqual({ index: 2, total: 2 });
    expect(titlePosition({ ...job, current_title: undefined })).toBeUndefined();
  });
});

describe('the last job of a drive whose disc is still in', () => {
  it('is what the drive shows once its job ends, until the disc comes out', () => {
    const state = loaded();
    const sr0 = () => state.drives.get(driveKey('den', '/dev/sr0'))!;
    state.apply(jobUpdate(11, { state: 'completed', progress_percent: 100 }), NOW);
    expect(sr0().job_id).toBeUndefined();
    expect(sr0().last_job_id).toBe(7);
    expect(state.jobOnDrive(sr0())?.state).toBe('completed');
    state.apply({ type: 'drive_event', agent_id: 'den', drive_id: '/dev/sr0', event: 'removed', volume_label: '', rev: 12 }, NOW);
    expect(sr0().last_job_id).toBeUndefined();
    expect(state.jobOnDrive(sr0())).toBeUndefined();
  });

  it('comes from the snapshot, and a job that ends with the drive empty leaves none', () => {
    const state = new DashboardState();
    state.applySnapshot(snapshot(10, {
      drives: [{ agent_id: 'den', drive_id: '/dev/sr1', has_disc: true, volume_label: 'OLD_5', last_job_id: 5, reachable: true },
        { agent_id: 'den', drive_id: '/dev/sr0', has_disc: false, job_id: 7, reachable: true }],
      jobs: [runningJob(), { ...record(5), titles: [] }],
    }), NOW);
    expect(state.jobOnDrive(state.drives.get(driveKey('den', '/dev/sr1'))!)?.job_id).toBe(5);
    state.apply(jobUpdate(11, { state: 'failed', error_message: 'The disc was removed during the job' }), NOW);
    const sr0 = state.drives.get(driveKey('den', '/dev/sr0'))!;
    expect(sr0.job_id).toBeUndefined();
    expect(sr0.last_job_id).toBeUndefined();
  });
});

describe('revisions per station (protocol 3)', () => {
  const other = (rev: number): DashboardMessage => ({ type: 'drive_event', agent_id: 'attic', drive_id: '/dev/sr0', event: 'inserted', volume_label: 'X', rev });

  it('counts each station on its own: one station\'s events make no gap in another\'s', () => {
    const state = loaded(10);
    // attic was at 0 in the snapshot (not named): its 1 and 2 follow on, den's 11 follows den's 10.
    expect(state.apply(other(1), NOW)).toEqual({ resync: false });
    expect(state.apply(jobUpdate(11, { state: 'transcoding' }), NOW)).toEqual({ resync: false });
    expect(state.apply(other(2), NOW)).toEqual({ resync: false });
    expect([state.revisionOf('den'), state.revisionOf('attic')]).toEqual([11, 2]);
    expect(state.apply(other(4), NOW)).toEqual({ resync: true });
  });

  it('a wall display of one station judges a hello by that station alone', () => {
    const state = new DashboardState(50, 'den');
    state.applySnapshot(snapshot(10), NOW);
    const hello = (revisions: Record<string, number>): DashboardMessage => ({ type: 'hello', server: 'hub', version: '1', protocol: 2, protocols: [2, 3], rev: 500, revisions });
    expect(state.apply(hello({ den: 10, attic: 40 }), NOW)).toEqual({ resync: false });
    expect(state.apply(hello({ den: 11, attic: 40 }), NOW)).toEqual({ resync: true });
  });
});
