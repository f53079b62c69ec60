// The job core through fakes, without root or tools: a FakeRipper stands in for HandBrakeCLI/makemkvcon, while the
// plans, phases, runner, watchdog and files are the real ones. Every job state, the selection and its changes, the
// hand-off to the hub's transcode queue, a stop in every phase, the watchdog, a tool that writes nothing, an eject
// when done.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobState, JobUpdate, LinkEvent, TitleUpdate, TranscodeRequest } from '../../../shared/index.js';
import { JobRunner } from '../../../agent/jobs/job-runner.js';
import type { JobEnvironment, JobSpec } from '../../../agent/jobs/job-context.js';
import { EjectDisc } from '../../../agent/jobs/phases/eject-disc.js';
import type { HandOffStep } from '../../../agent/jobs/phases/hand-off-titles.js';
import { DiscKinds } from '../../../agent/kinds/disc-kind.js';
import { VideoDiscs } from '../../../agent/kinds/video.js';
import { FakeRipper, title, type FakeRipperOptions } from '../fakes/fake-ripper.js';

const logger = pino({ level: 'silent' });
const TITLES = [title(1, 3000), title(2, 600), title(3, 30)];

let outputDir: string;
beforeEach(() => {
  outputDir = mkdtempSync(join(tmpdir(), 'discbridge-jobs-'));
});
afterEach(() => rmSync(outputDir, { recursive: true, force: true }));

interface Run {
  runner: JobRunner;
  events: LinkEvent[];
  done: Promise<JobState>;
  ejects: string[];
}

interface RunOptions {
  ripper?: FakeRipperOptions;
  spec?: Partial<JobSpec>;
  environment?: Partial<JobEnvironment>;
  handOff?: HandOffStep;
  ejectWhenDone?: boolean;
}

function start(ripper: FakeRipper, options: RunOptions = {}): Run {
  const events: LinkEvent[] = [];
  const ejects: string[] = [];
  const kinds = new DiscKinds([new VideoDiscs(ripper, options.handOff)]);
  const spec: JobSpec = { agentId: 'st', jobId: 1, drive: '/dev/sr0', device: '/dev/sr0', volumeLabel: 'MOVIE', discType: 'dvd', autoRip: true, ...options.spec };
  const runner = new JobRunner(spec, kinds.planFor(spec.discType, options.ejectWhenDone ? [new EjectDisc()] : [])!, {
    outputDir, minTitleSeconds: 120, progressIntervalMs: 0, stallMs: 60_000, logger,
    emit: (event) => events.push(event),
    eject: async () => { ejects.push(spec.drive); },
    ...options.environment,
  });
  return { runner, events, done: runner.run(), ejects };
}

const jobUpdates = (events: LinkEvent[]) => events.filter((e): e is JobUpdate => e.type === 'job_update');
const titleUpdates = (events: LinkEvent[], id: number) => events.filter((e): e is TitleUpdate => e.type === 'title_update' && e.title_id === id);
/** The job's states in order, repeats folded. */
const states = (events: LinkEvent[]) => jobUpdates(events).map((e) => e.state).filter((s, i, all) => s !== all[i - 1]);
const final = (events: LinkEvent[]) => jobUpdates(events).at(-1) as JobUpdate;
const logText = (events: LinkEvent[]) => events.flatMap((e) => (e.type === 'job_log' ? e.lines.map((l) => l.text) : [])).join('\n');
const handOffs = (events: LinkEvent[]) => events.filter((e): e is TranscodeRequest => e.type === 'transcode_request');

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('a video job', () => {
  it('identifies, rips the long-enough titles into the disc folder and completes', async () => {
    const ripper = new FakeRipper({ titles: TITLES });
    const { events, done } = start(ripper);
    expect(await done).toBe('completed');
    expect(states(events)).toEqual(['identifying', 'ripping', 'completed']);
    const discovered = events.find((e) => e.type === 'titles_discovered');
    expect(discovered?.type === 'titles_discovered' && discovered.titles.map((t) => [t.title_id, t.selected])).toEqual([[1, true], [2, true], [3, false]]);
    expect(ripper.ripped).toEqual([1, 2]);
    expect(readdirSync(join(outputDir, 'MOVIE')).sort()).toEqual(['MOVIE_t01.mkv', 'MOVIE_t02.mkv']);
    expect(titleUpdates(events, 1).at(-1)).toMatchObject({ state: 'completed', output_filename: 'MOVIE_t01.mkv', actual_size_bytes: 4000 });
    expect(titleUpdates(events, 3)).toEqual([]);
    expect(final(events)).toMatchObject({ state: 'completed', progress_percent: 100, eta_seconds: 0 });
    expect(jobUpdates(events).find((e) => e.state === 'ripping')).toMatchObject({ total_titles: 2, output_dir: 'MOVIE' });
    // Progress only rises, weighted by duration: title 1 is 5/6 of the work.
    const percents = jobUpdates(events).flatMap((e) => (e.progress_percent === undefined ? [] : [e.progress_percent]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(jobUpdates(events).some((e) => e.current_title === 2 && e.progress_percent === 83.33)).toBe(true);
    expect(jobUpdates(events).some((e) => e.current_speed === '2.0x')).toBe(true);
    expect(logText(events)).toMatch(/Done: 2 file\(s\) in MOVIE/);
  });

  it('a second disc of the same name gets a folder of its own', async () => {
    expect(await start(new FakeRipper({ titles: TITLES })).done).toBe('completed');
    const second = start(new FakeRipper({ titles: TITLES }), { spec: { jobId: 2 } });
    expect(await second.done).toBe('completed');
    expect(jobUpdates(second.events).find((e) => e.output_dir)?.output_dir).toBe('MOVIE (2)');
  });

  it('waits in ready without auto-rip, then rips the chosen titles on "rip now"', async () => {
    const ripper = new FakeRipper({ titles: TITLES });
    const { runner, events, done } = start(ripper, { spec: { autoRip: false } });
    await until(() => runner.currentState === 'ready', 'ready');
    expect(final(events)).toMatchObject({ state: 'ready', total_titles: 2 });
    expect(runner.selectTitles([9])).toBe('The disc has no title 9');
    expect(runner.ripNow([3])).toBeUndefined();
    expect(await done).toBe('completed');
    expect(ripper.ripped).toEqual([3]);
    expect(titleUpdates(events, 1)).toContainEqual(expect.objectContaining({ state: 'skipped' }));
    expect(runner.ripNow()).toBe('The job is not waiting to rip');
  });

  it('takes a new selection mid-rip: titles not yet begun follow it, the one ripping keeps its course', async () => {
    const ripper = new FakeRipper({ titles: TITLES, behaviour: { 1: { kind: 'hold' } } });
    const { runner, events, done } = start(ripper);
    await until(() => ripper.holding > 0, 'title 1 half ripped');
    expect(runner.selectTitles([3])).toBeUndefined(); // drops 1 (already begun: kept) and 2, adds 3
    ripper.release();
    expect(await done).toBe('completed');
    expect(ripper.ripped).toEqual([1, 3]);
    expect(titleUpdates(events, 2).map((e) => e.state)).toEqual(['skipped']);
    expect(titleUpdates(events, 3)[0]?.state).toBe('pending');
  });

  it('hands the ripped titles to the hub\'s transcode queue and ends its part there, in transcoding, the rips in place', async () => {
    const { events, done } = start(new FakeRipper({ titles: TITLES }), { handOff: { profile: 'h264', keepRip: false } });
    expect(await done).toBe('transcoding');
    // The hub ends the job when its tasks end: the station says neither completed nor failed.
    expect(states(events)).toEqual(['identifying', 'ripping', 'transcoding']);
    expect(jobUpdates(events).filter((e) => e.state === 'completed' || e.state === 'failed')).toEqual([]);
    expect(final(events)).toMatchObject({ state: 'transcoding', progress_percent: 0, current_title: 1 });
    // No library mounted: the paths are in this station's output folder, so only it can take the tasks.
    expect(handOffs(events)).toEqual([{
      type: 'transcode_request', agent_id: 'st', job_id: 1, profile: 'h264', keep_rip: false, root: 'output',
      titles: [
        { title_id: 1, source: 'MOVIE/MOVIE_t01.mkv', output: 'MOVIE/MOVIE_t01.h264.mkv', duration_seconds: 3000 },
        { title_id: 2, source: 'MOVIE/MOVIE_t02.mkv', output: 'MOVIE/MOVIE_t02.h264.mkv', duration_seconds: 600 },
      ],
    }]);
    expect([1, 2].map((id) => titleUpdates(events, id).at(-1))).toEqual([1, 2].map(() => expect.objectContaining({ state: 'transcoding', match_progress: 0 })));
    // Even a rip not kept stays: the station that transcodes it removes it once the result is in place.
    expect(readdirSync(join(outputDir, 'MOVIE')).sort()).toEqual(['MOVIE_t01.mkv', 'MOVIE_t02.mkv']);
  });

  it('gives the paths relative to the shared library when the rips are in it, else relative to the output folder', async () => {
    const inLibrary = start(new FakeRipper({ titles: TITLES }), { handOff: { profile: 'h265', keepRip: true, libraryDir: dirname(outputDir) } });
    expect(await inLibrary.done).toBe('transcoding');
    const folder = basename(outputDir);
    expect(handOffs(inLibrary.events)).toEqual([expect.objectContaining({
      profile: 'h265', keep_rip: true, root: 'library',
      titles: [
        { title_id: 1, source: `${folder}/MOVIE/MOVIE_t01.mkv`, output: `${folder}/MOVIE/MOVIE_t01.h265.mkv`, duration_seconds: 3000 },
        { title_id: 2, source: `${folder}/MOVIE/MOVIE_t02.mkv`, output: `${folder}/MOVIE/MOVIE_t02.h265.mkv`, duration_seconds: 600 },
      ],
    })]);

    // A library beside the output folder whose name merely begins the same holds none of the rips.
    const elsewhere = start(new FakeRipper({ titles: TITLES }), { spec: { jobId: 2 }, handOff: { profile: 'h265', keepRip: true, libraryDir: `${outputDir}-library` } });
    expect(await elsewhere.done).toBe('transcoding');
    expect(handOffs(elsewhere.events)).toEqual([expect.objectContaining({ root: 'output', titles: [
      expect.objectContaining({ source: 'MOVIE (2)/MOVIE_t01.mkv', output: 'MOVIE (2)/MOVIE_t01.h265.mkv' }),
      expect.objectContaining({ source: 'MOVIE (2)/MOVIE_t02.mkv', output: 'MOVIE (2)/MOVIE_t02.h265.mkv' }),
    ] })]);
  });

  it('refuses a selection change once the titles are handed off: the queue has them as they were', async () => {
    const refusals: (string | undefined)[] = [];
    const events: LinkEvent[] = [];
    const run = start(new FakeRipper({ titles: TITLES }), {
      handOff: { profile: 'h264', keepRip: true },
      environment: {
        emit: (event) => {
          events.push(event);
          // Asked the moment the job turns transcoding, before the hand-off goes out.
          if (event.type === 'job_update' && event.state === 'transcoding' && refusals.length === 0) refusals.push(run.runner.selectTitles([3]));
        },
      },
    });
    expect(await run.done).toBe('transcoding');
    refusals.push(run.runner.selectTitles([1]));
    expect(refusals).toEqual(Array(2).fill('The job has finished ripping; its selection can no longer change'));
    expect(handOffs(events)[0]?.titles.map((t) => t.title_id)).toEqual([1, 2]);
    expect(titleUpdates(events, 3)).toEqual([]);
  });

  it('fails with the reason when the tool is missing, the scan fails, or no title is long enough', async () => {
    const missing = start(new FakeRipper({ titles: TITLES, missing: 'FakeRipper was not found' }));
    expect(await missing.done).toBe('failed');
    expect(final(missing.events)).toMatchObject({ error_message: 'FakeRipper was not found', error_code: 'tool_missing' });

    const unreadable = start(new FakeRipper({ titles: TITLES, scanError: 'FakeRipper could not read the disc' }));
    expect(await unreadable.done).toBe('failed');
    expect(final(unreadable.events)).toMatchObject({ error_message: 'FakeRipper could not read the disc' });

    const short = start(new FakeRipper({ titles: [title(1, 30), title(2, 10)] }));
    expect(await short.done).toBe('failed');
    expect(final(short.events).error_message).toBe('No title is at least 120 s long (the disc has 2)');
    expect(existsSync(join(outputDir, 'MOVIE'))).toBe(false);
  });

  it('fails a title whose tool exited well but wrote nothing, and says how many of the titles failed', async () => {
    const ripper = new FakeRipper({ titles: TITLES, behaviour: { 2: { kind: 'empty' } } });
    const { events, done } = start(ripper);
    expect(await done).toBe('failed');
    expect(final(events).error_message).toBe('1 of 2 titles failed: FakeRipper finished title 2 but wrote nothing');
    expect(titleUpdates(events, 2).at(-1)).toMatchObject({ state: 'failed' });
    // What did rip stays; nothing half-written does.
    expect(readdirSync(join(outputDir, 'MOVIE'))).toEqual(['MOVIE_t01.mkv']);
  });

  it('a title whose tool fails: no file left, the job fails, the folder goes when nothing is in it', async () => {
    const ripper = new FakeRipper({ titles: [title(1, 3000)], behaviour: { 1: { kind: 'fail', message: 'FakeRipper failed on title 1 (exit code 3)' } } });
    const { events, done } = start(ripper);
    expect(await done).toBe('failed');
    expect(final(events).error_message).toBe('No title could be finished: FakeRipper failed on title 1 (exit code 3)');
    expect(existsSync(join(outputDir, 'MOVIE'))).toBe(false);
  });

  it('the watchdog stops a title that makes no progress, with the reason', async () => {
    const ripper = new FakeRipper({ titles: [title(1, 3000)], behaviour: { 1: { kind: 'stall' } } });
    const { events, done } = start(ripper, { environment: { stallMs: 300 } });
    expect(await done).toBe('failed');
    expect(final(events).error_message).toBe('No title could be finished: Ripping title 1 made no progress for 0 s and was stopped');
    // Said for machines too: a notification or a counter needs no sentence parsing to know the watchdog stepped in.
    expect(final(events).error_code).toBe('stalled');
    expect(titleUpdates(events, 1).at(-1)).toMatchObject({ state: 'failed', error_code: 'stalled' });
  });

  describe.skipIf(process.getuid?.() !== 0)('on a full output disk (a 2 MiB tmpfs; needs root to mount)', () => {
    beforeEach(() => execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', outputDir]));
    afterEach(() => execFileSync('umount', [outputDir]));

    it('fails the title with the free space, tries no later title, and leaves no partial file', async () => {
      const ripper = new FakeRipper({ titles: TITLES, bytesPerStep: 1024 * 1024 });
      const { events, done } = start(ripper);
      expect(await done).toBe('failed');
      expect(final(events).error_message).toMatch(/^1 of 2 titles failed: The output disk is full \(\d+ MB free\)$/);
      expect(final(events).error_code).toBe('output_full');
      expect(ripper.started).toEqual([1]);
      expect(existsSync(join(outputDir, 'MOVIE')) ? readdirSync(join(outputDir, 'MOVIE')) : []).toEqual([]);
    });
  });

  describe('stopped from outside', () => {
    it('while identifying', async () => {
      const ripper = new FakeRipper({ titles: TITLES, holdScan: true });
      const { runner, events, done } = start(ripper);
      await until(() => jobUpdates(events).length > 0, 'job started');
      runner.stop({ state: 'cancelled', message: 'Cancelled by user' });
      expect(await done).toBe('cancelled');
      expect(final(events)).toMatchObject({ state: 'cancelled', error_message: 'Cancelled by user' });
    });

    it('while ready: every selected title is cancelled', async () => {
      const { runner, events, done } = start(new FakeRipper({ titles: TITLES }), { spec: { autoRip: false } });
      await until(() => runner.currentState === 'ready', 'ready');
      runner.stop({ state: 'cancelled', message: 'The disc was ejected' });
      expect(await done).toBe('cancelled');
      expect([1, 2].map((id) => titleUpdates(events, id).at(-1)?.state)).toEqual(['cancelled', 'cancelled']);
    });

    it('while ripping: the disc removed fails the job, nothing half-written stays', async () => {
      const ripper = new FakeRipper({ titles: TITLES, behaviour: { 1: { kind: 'hold' } } });
      const { runner, events, done } = start(ripper);
      await until(() => ripper.holding > 0, 'ripping');
      runner.stop({ state: 'failed', message: 'The disc was removed during the job', code: 'disc_removed' });
      expect(await done).toBe('failed');
      expect(final(events)).toMatchObject({ state: 'failed', error_message: 'The disc was removed during the job', error_code: 'disc_removed' });
      expect(titleUpdates(events, 1).at(-1)?.state).toBe('cancelled');
      expect(titleUpdates(events, 2).at(-1)?.state).toBe('cancelled');
      expect(existsSync(join(outputDir, 'MOVIE'))).toBe(false);
    });

    it('a job that has completed cannot be stopped any more', async () => {
      const { runner, events, done } = start(new FakeRipper({ titles: TITLES }));
      expect(await done).toBe('completed');
      runner.stop({ state: 'failed', message: 'The disc was removed during the job' });
      expect(final(events).state).toBe('completed');
    });
  });

  describe('with DISCBRIDGE_EJECT_WHEN_DONE', () => {
    it('opens the tray after a completed job, never after a failed one', async () => {
      const ok = start(new FakeRipper({ titles: TITLES }), { ejectWhenDone: true });
      expect(await ok.done).toBe('completed');
      expect(ok.ejects).toEqual(['/dev/sr0']);
      expect(logText(ok.events)).toMatch(/Ejected the disc/);

      const failed = start(new FakeRipper({ titles: TITLES, scanError: 'unreadable' }), { ejectWhenDone: true });
      expect(await failed.done).toBe('failed');
      expect(failed.ejects).toEqual([]);
    });

    it('opens the tray once the titles are handed off: the disc\'s part is done though the job waits on the farm', async () => {
      const run = start(new FakeRipper({ titles: TITLES }), { handOff: { profile: 'h264', keepRip: true }, ejectWhenDone: true });
      expect(await run.done).toBe('transcoding');
      expect(run.ejects).toEqual(['/dev/sr0']);
      expect(logText(run.events)).toMatch(/Ejected the disc/);
      expect(final(run.events).state).toBe('transcoding');
    });

    it('a tray that will not open leaves the job completed and says so in its log', async () => {
      const run = start(new FakeRipper({ titles: TITLES }), {
        ejectWhenDone: true, environment: { eject: async () => { throw new Error('eject failed (exit code 1)'); } },
      });
      expect(await run.done).toBe('completed');
      expect(final(run.events).state).toBe('completed');
      expect(logText(run.events)).toMatch(/Could not eject the disc: eject failed/);
    });
  });
});

describe('the disc kinds', () => {
  it('send video discs and discs nothing could tell to the video plan, and take no audio CD yet', () => {
    const kinds = new DiscKinds([new VideoDiscs(new FakeRipper({ titles: [] }), undefined)]);
    expect(kinds.kindFor('dvd')?.name).toBe('video');
    expect(kinds.kindFor('bluray')?.name).toBe('video');
    expect(kinds.kindFor('unknown')?.name).toBe('video');
    expect(kinds.planFor('cd')).toBeUndefined();
    expect(kinds.planFor('dvd')?.phases.map((p) => [p.name, p.state])).toEqual([
      ['scan titles', 'identifying'], ['await rip now', 'ready'], ['rip titles', 'ripping'],
    ]);
  });
});
