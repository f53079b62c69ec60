// The rules that turn events into state, as one table of cases run against every place that keeps state: the hub's
// store (real SQLite), the dashboard page's model, and the agent's journal (real SQLite). Each case is a sequence of
// station events and what every keeper must then show; a keeper that applied a rule its own way fails here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DriveRecord, JobRecord, StationEvent, TitleRecord } from '../../../shared/index.js';
import { AgentStore } from '../../../agent/store/agent-store.js';
import { DashboardState, driveKey } from '../../../hub/web/src/state.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { StationStore } from '../../../hub/store/station-store.js';

const A = 'station-1';
const DRIVE = '/dev/sr0';
const T0 = 1_700_000_000_000;

interface Expected {
  job: Partial<JobRecord>;
  /** Fields the job must not have. */
  jobLacks?: (keyof JobRecord)[];
  titles?: Pick<TitleRecord, 'title_id' | 'state' | 'selected'>[];
  drive: Partial<DriveRecord>;
  driveLacks?: (keyof DriveRecord)[];
}

const inserted: StationEvent = { type: 'drive_event', agent_id: A, drive_id: DRIVE, event: 'inserted', volume_label: 'MOVIE', disc_type: 'dvd' };
const started: StationEvent = { type: 'job_update', agent_id: A, job_id: 1, state: 'identifying', drive_id: DRIVE, volume_label: 'MOVIE', disc_type: 'dvd' };
const discovered: StationEvent = {
  type: 'titles_discovered', agent_id: A, job_id: 1,
  titles: [
    { title_id: 1, duration_seconds: 3600, chapters: 10, expected_size_bytes: 1000, selected: true },
    { title_id: 2, duration_seconds: 60, chapters: 1, expected_size_bytes: 10, selected: false },
  ],
};
const ripping: StationEvent = { type: 'job_update', agent_id: A, job_id: 1, state: 'ripping', total_titles: 1, progress_percent: 40, current_speed: '2.0x', eta_seconds: 90, bytes_per_second: 5000 };

const CASES: { name: string; events: StationEvent[]; expected: Expected }[] = [
  {
    name: 'discovered titles are pending when selected, else skipped; the running job is its drive\'s',
    events: [inserted, started, discovered, ripping],
    expected: {
      job: { state: 'ripping', progress_percent: 40, current_speed: '2.0x', eta_seconds: 90, total_titles: 1, volume_label: 'MOVIE' },
      titles: [{ title_id: 1, state: 'pending', selected: true }, { title_id: 2, state: 'skipped', selected: false }],
      drive: { has_disc: true, job_id: 1 }, driveLacks: ['last_job_id'],
    },
  },
  {
    name: 'a selection change: skipped deselects, pending selects',
    events: [inserted, started, discovered,
      { type: 'title_update', agent_id: A, job_id: 1, title_id: 1, state: 'skipped' },
      { type: 'title_update', agent_id: A, job_id: 1, title_id: 2, state: 'pending' }],
    expected: {
      job: { state: 'identifying' },
      titles: [{ title_id: 1, state: 'skipped', selected: false }, { title_id: 2, state: 'pending', selected: true }],
      drive: { job_id: 1 },
    },
  },
  {
    name: 'a finished job loses its speed, ETA and byte rate, keeps its progress; its drive shows it as the last job',
    events: [inserted, started, discovered, ripping, { type: 'job_update', agent_id: A, job_id: 1, state: 'completed', progress_percent: 100 }],
    expected: {
      job: { state: 'completed', progress_percent: 100, total_titles: 1 }, jobLacks: ['current_speed', 'eta_seconds', 'bytes_per_second'],
      drive: { has_disc: true, last_job_id: 1 }, driveLacks: ['job_id'],
    },
  },
  {
    name: 'a job whose titles went to the transcode farm leaves its drive: the next disc\'s job takes it',
    events: [inserted, started, discovered, ripping, { type: 'job_update', agent_id: A, job_id: 1, state: 'transcoding', progress_percent: 0 },
      { type: 'drive_event', agent_id: A, drive_id: DRIVE, event: 'removed', volume_label: '' },
      { type: 'drive_event', agent_id: A, drive_id: DRIVE, event: 'inserted', volume_label: 'NEXT', disc_type: 'dvd' },
      { type: 'job_update', agent_id: A, job_id: 2, state: 'identifying', drive_id: DRIVE, volume_label: 'NEXT', disc_type: 'dvd' }],
    expected: {
      job: { state: 'transcoding', progress_percent: 0 },
      drive: { has_disc: true, volume_label: 'NEXT', job_id: 2 }, driveLacks: ['last_job_id'],
    },
  },
  {
    name: 'a disc taken out before its job ends leaves no last job',
    events: [inserted, started, { type: 'drive_event', agent_id: A, drive_id: DRIVE, event: 'removed', volume_label: '' },
      { type: 'job_update', agent_id: A, job_id: 1, state: 'failed', error_message: 'The disc was removed during the job', error_code: 'disc_removed' }],
    expected: {
      job: { state: 'failed', error_message: 'The disc was removed during the job', error_code: 'disc_removed' },
      drive: { has_disc: false }, driveLacks: ['job_id', 'last_job_id', 'volume_label', 'disc_type'],
    },
  },
];

/** What one keeper shows after the events: its job (and titles) and its drive. */
interface Shown { job?: Partial<JobRecord> & { titles?: TitleRecord[] }; drive?: Partial<DriveRecord> }

type Keeper = (events: StationEvent[]) => Shown;

let dir: string;
const opened: (Db | AgentStore)[] = [];
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'discbridge-rules-')); });
afterEach(() => {
  for (const handle of opened.splice(0)) (handle instanceof AgentStore ? handle.stop() : handle.close());
  rmSync(dir, { recursive: true, force: true });
});

const hubStore: Keeper = (events) => {
  const db = openDatabase(join(dir, 'hub.sqlite'));
  opened.push(db);
  const store = new StationStore(db, pino({ level: 'silent' }), 10);
  store.start();
  store.registerAgent({ kind: 'hello', agent_id: A, name: A, version: '1', protocol: { min: 2, max: 2 }, drives: [{ drive_id: DRIVE, has_disc: false, busy: false }] }, T0);
  events.forEach((event, index) => store.apply(A, { seq: index + 1, at: T0 + (index + 1) * 1000, event }));
  const result: Shown = { drive: store.listDrives().find((d) => d.drive_id === DRIVE) ?? {} };
  const job = store.getJob(1);
  if (job) result.job = job;
  store.stop();
  return result;
};

const pageModel: Keeper = (events) => {
  const page = new DashboardState();
  page.applySnapshot({
    revisions: {}, agents: [{ agent_id: A, name: A, version: '1', state: 'online', last_seen: new Date(T0).toISOString() }],
    drives: [{ agent_id: A, drive_id: DRIVE, has_disc: false, reachable: true }], jobs: [], history: { query: {}, jobs: [] },
  }, T0);
  events.forEach((event, index) => page.apply({ ...event, rev: index + 1 } as never, T0 + (index + 1) * 1000));
  const job = page.jobs.get(1);
  return { ...(job ? { job } : {}), drive: page.drives.get(driveKey(A, DRIVE)) ?? {} };
};

const runningTitleStates = ['pending', 'ripping', 'transcoding'];

describe('the rules that turn events into state, in every keeper', () => {
  for (const { name, events, expected } of CASES) {
    it(name, () => {
      for (const [keeper, shown] of [['hub store', hubStore(events)], ['page model', pageModel(events)]] as const) {
        expect(shown.job, keeper).toMatchObject(expected.job);
        for (const field of expected.jobLacks ?? []) expect(shown.job, `${keeper}: ${field}`).not.toHaveProperty(field);
        if (expected.titles) {
          expect(shown.job?.titles?.map((t) => ({ title_id: t.title_id, state: t.state, selected: t.selected })), keeper).toEqual(expected.titles);
        }
        expect(shown.drive, keeper).toMatchObject(expected.drive);
        for (const field of expected.driveLacks ?? []) expect(shown.drive, `${keeper}: ${field}`).not.toHaveProperty(field);
      }
      // The agent's journal keeps only what recovery needs: whether the job is unfinished, and its open titles.
      const journal = new AgentStore(join(dir, 'agent'));
      journal.start();
      opened.push(journal);
      for (const event of events) journal.record(event, false);
      const unfinished = journal.unfinishedJobs().find((job) => job.jobId === 1);
      const finished = ['completed', 'failed', 'cancelled', 'interrupted'].includes(expected.job.state as string);
      expect(unfinished === undefined, 'agent journal: job finished').toBe(finished);
      if (unfinished && expected.titles) {
        expect(unfinished.openTitles, 'agent journal').toEqual(
          expected.titles.filter((t) => runningTitleStates.includes(t.state)).map((t) => ({ titleId: t.title_id, state: t.state })),
        );
      }
    });
  }
});
