// The transcode farm on real processes: a hub, a rip station with no transcode slots (real HandBrake rips from a loop
// device) and `discbridge worker` stations with real ffmpeg, each with its own data folder, all sharing one library
// folder that each mounts at a path of its own (a symlink). The station takes its next disc while a worker transcodes
// the last one; a worker SIGKILLed mid-transcode loses its lease and another redoes the task, the hub SIGKILLed
// meanwhile included, and the result appears once, never a partial file under its name. The page (Chromium) shows
// the queue: which station transcodes what, and its progress. Without a library, a worker gets the rip through the
// hub and sends the result back: a worker whose disk is full fails the task with that reason, an upload cut
// mid-way goes on from where the hub got to, and the page says the task's files went through the hub.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobDetail, type JobUpdate, type TranscodeTaskRecord } from '../../shared/index.js';
import { ARTIFACTS, DiscbridgeProcess, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, probeDuration, toolsUnavailable, waitFor } from './harness.js';
import { browserUnavailable, launchBrowser } from './browser.js';
import { TcpProxy } from './tcp-proxy.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffmpeg', 'ffprobe') ?? browserUnavailable();
if (skipReason) console.warn(`Skipping transcode farm end-to-end tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('the transcode farm on real processes', () => {
  let station: Station | undefined;
  let library: string | undefined;
  afterEach(async () => {
    await station?.stop();
    station = undefined;
    if (library) rmSync(library, { recursive: true, force: true });
    library = undefined;
  });

  /** A rip station with no slots writing into the library, on a hub whose leases last `leaseSeconds`. */
  async function farm(name: string, leaseSeconds = 60): Promise<Station> {
    library = mkdtempSync(join(tmpdir(), 'discbridge-e2e-library-'));
    mkdirSync(join(library, 'nas'));
    station = new Station(VirtualDrive.reserve(), {
      name, hubEnv: { DISCBRIDGE_LEASE_SECONDS: String(leaseSeconds) },
      agentEnv: {
        DISCBRIDGE_TRANSCODE: 'h264', DISCBRIDGE_KEEP_RIP: 'false', DISCBRIDGE_TRANSCODE_SLOTS: '0',
        DISCBRIDGE_LIBRARY_DIR: mount('station'), DISCBRIDGE_OUTPUT_DIR: join(mount('station'), 'rips'),
      },
    });
    await station.start();
    return station;
  }

  /** The library as one station mounts it. */
  function mount(who: string): string {
    const path = join(library as string, `mnt-${who}`);
    try {
      symlinkSync(join(library as string, 'nas'), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return path;
  }

  function worker(s: Station, name: string) {
    return s.startExtraAgent({ name, drives: [], command: 'worker', agentEnv: { DISCBRIDGE_LIBRARY_DIR: mount(name), DISCBRIDGE_TRANSCODE_SLOTS: '1' } });
  }

  const tasks = (s: Station) => s.get<{ tasks: TranscodeTaskRecord[] }>('/api/transcodes').then((page) => page.tasks);
  const discFolder = (label: string) => join(library as string, 'nas', 'rips', label);

  it('has a worker transcode one disc while the station rips the next, and the page shows who transcodes what', async () => {
    const s = await farm('farm');
    const b = await worker(s, 'b');
    const dashboard = await s.dashboard();
    const first = makeDisc('e2e-farm-one', ['--label', 'FARM_ONE', '--title', '120:2', '--size', '352x240']);
    const second = makeDisc('e2e-farm-two', ['--label', 'FARM_TWO', '--title', '15:1', '--size', '352x240']);
    const browser = await launchBrowser();
    try {
      const { page } = browser;
      await page.goto(`${s.baseUrl}/`);
      await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
      s.drive.insert(first);
      // The station's part ends with the hand-off: the drive is free while the worker transcodes.
      await waitFor(async () => (await tasks(s)).some((task) => task.state === 'transcoding' && task.leased_to === b.agentId), 120_000, 'the worker to take the first disc');
      await s.ejectAndWait();
      s.drive.insert(second);
      // The page's queue: the task, its disc, the worker on it.
      const running = page.locator('.task-row[data-state="transcoding"]');
      await running.waitFor({ timeout: 15_000 });
      expect(await running.locator('td[data-label="Station"]').textContent()).toBe(b.agentId);
      expect(await running.locator('td[data-label="Disc"]').textContent()).toBe('FARM_ONETitle 1 · h264 · from E2E farm');
      await page.screenshot({ path: join(ARTIFACTS, 'e2e', 'farm', 'queue.png'), fullPage: true });

      const secondJob = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.volume_label === 'FARM_TWO', 60_000);
      const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === secondJob.job_id && m.state === 'ripping', 60_000);
      const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id !== secondJob.job_id && FINISHED_JOB_STATES.has(m.state), 180_000);
      expect(done.state).toBe('completed');
      // The second disc was being ripped before the first one's transcode was done: the two overlapped.
      expect(dashboard.receivedAt(ripping)).toBeLessThan(dashboard.receivedAt(done));
      const secondDone = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === secondJob.job_id && FINISHED_JOB_STATES.has(m.state), 180_000);
      expect(secondDone.state).toBe('completed');

      // Each completed job's result is in place and its rip gone (keep_rip false).
      for (const [label, seconds] of [['FARM_ONE', 120], ['FARM_TWO', 15]] as const) {
        expect(readdirSync(discFolder(label))).toEqual([`${label}_t01.h264.mkv`]);
        expect(Math.abs(probeDuration(join(discFolder(label), `${label}_t01.h264.mkv`)) - seconds)).toBeLessThan(1);
      }
      const job = await s.get<JobDetail>(`/api/jobs/${done.job_id}`);
      expect(job.titles.map((t) => [t.state, t.transcoded_by, t.output_filename])).toEqual([['completed', b.agentId, 'FARM_ONE_t01.h264.mkv']]);
      expect((await tasks(s)).map((t) => [t.state, t.transcoded_by, t.attempts])).toEqual([['done', b.agentId, 0], ['done', b.agentId, 0]]);
      expect(dashboard.contractViolations).toEqual([]);

      // And the page: both tasks done, by the worker.
      await waitFor(async () => (await page.locator('.task-row[data-state="done"]').count()) === 2, 10_000, 'both tasks done on the page');
      expect(await page.locator('.task-row td[data-label="Station"]').allTextContents()).toEqual([b.agentId, b.agentId]);
      expect(await page.locator('.queue-summary').textContent()).toBe('0 transcoding · 0 queued');
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 420_000);

  it('fails a task on a worker without ffmpeg with that reason, and gives it to another that has it', async () => {
    const s = await farm('farm-noffmpeg');
    const b = await s.startExtraAgent({
      name: 'b', drives: [], command: 'worker', agentEnv: { DISCBRIDGE_LIBRARY_DIR: mount('b'), DISCBRIDGE_TRANSCODE_SLOTS: '1', DISCBRIDGE_FFMPEG: '/nonexistent/ffmpeg' },
    });
    s.drive.insert(makeDisc('e2e-farm-two', ['--label', 'FARM_TWO', '--title', '15:1', '--size', '352x240']));
    await waitFor(async () => (await tasks(s)).some((task) => task.attempts === 1), 120_000, 'the first attempt to fail');
    const [failed] = await tasks(s);
    expect(failed).toMatchObject({ state: 'queued', attempts: 1 });
    expect(failed?.last_error).toBe(`${b.agentId}: /nonexistent/ffmpeg was not found: install it with "sudo apt-get install ffmpeg" on Debian or Ubuntu, or set DISCBRIDGE_FFMPEG to its path`);
    expect(b.process?.log()).toMatch(/This station takes transcode tasks \(DISCBRIDGE_TRANSCODE_SLOTS=1\) and fails each one until it is installed/);
    const c = await worker(s, 'c');
    await waitFor(async () => (await tasks(s)).every((task) => task.state === 'done'), 120_000, 'the task done on the other worker');
    expect((await tasks(s)).map((t) => [t.transcoded_by, t.attempts])).toEqual([[c.agentId, 1]]);
    await waitFor(async () => (await s.get<{ jobs: { state: string }[] }>('/api/jobs')).jobs[0]?.state === 'completed', 10_000, 'the job completed');
    expect(readdirSync(discFolder('FARM_TWO'))).toEqual(['FARM_TWO_t01.h264.mkv']);
  }, 300_000);

  it('redoes the task of a worker SIGKILLed mid-transcode on another, through a hub SIGKILL too, and delivers it once', async () => {
    const s = await farm('farm-kill', 5);
    const b = await worker(s, 'b');
    s.drive.insert(makeDisc('e2e-farm-kill', ['--label', 'FARM_KILL', '--title', '150:2', '--size', '352x240']));
    await waitFor(async () => (await tasks(s)).some((task) => task.leased_to === b.agentId && (task.progress_percent ?? 0) > 5), 240_000, 'the worker 5 % into the transcode');
    await b.process?.stop('SIGKILL');
    const c = await worker(s, 'c');
    await waitFor(async () => (await tasks(s)).some((task) => task.leased_to === c.agentId && (task.progress_percent ?? 0) > 5), 120_000, 'the second worker 5 % into it');
    // The task's first attempt counts as failed on the silent worker, and its partial file was removed.
    const [running] = await tasks(s);
    expect(running).toMatchObject({ state: 'transcoding', attempts: 1, leased_to: c.agentId });
    expect(running?.last_error).toMatch(new RegExp(`${b.agentId} went silent: its lease ran out`));
    expect(readdirSync(discFolder('FARM_KILL')).filter((name) => name.endsWith('.part'))).toHaveLength(1);

    // The hub dies while the task runs; the worker goes on, and reports once the hub is back.
    await s.hub?.stop('SIGKILL');
    await s.startHub();
    await waitFor(async () => (await tasks(s)).some((task) => task.state === 'done'), 240_000, 'the task done after the hub restart');
    // The killed worker comes back: it tells its cut-short attempt, which changes nothing.
    await s.restartAgent(b);
    await waitFor(() => readdirSync(discFolder('FARM_KILL')).join() === 'FARM_KILL_t01.h264.mkv', 20_000, 'the one result in place, no partial file, the rip gone');
    expect(Math.abs(probeDuration(join(discFolder('FARM_KILL'), 'FARM_KILL_t01.h264.mkv')) - 150)).toBeLessThan(1);
    const [task] = await tasks(s);
    expect(task).toMatchObject({ state: 'done', transcoded_by: c.agentId, attempts: 1 });
    const jobs = await s.get<{ jobs: { state: string; job_id: number }[] }>('/api/jobs');
    expect(jobs.jobs.map((j) => j.state)).toEqual(['completed']);
    const log = await s.get<{ lines: { text: string }[] }>(`/api/jobs/${jobs.jobs[0]?.job_id}/log`);
    expect(log.lines.filter((line) => /transcoded by/.test(line.text))).toHaveLength(1);
    expect(b.process).toBeInstanceOf(DiscbridgeProcess);
  }, 600_000);

  it('streams through the hub without a library: a full disk fails the task there, an upload cut mid-way resumes, the result lands once', async () => {
    station = new Station(VirtualDrive.reserve(), {
      name: 'farm-stream', agentEnv: { DISCBRIDGE_TRANSCODE: 'h264', DISCBRIDGE_KEEP_RIP: 'false', DISCBRIDGE_TRANSCODE_SLOTS: '0' },
    });
    const s = station;
    await s.start();
    // Worker B's disk (its spool, where a streamed rip goes) has 64 KB.
    const b = await s.startExtraAgent({ name: 'b', drives: [], command: 'worker', agentEnv: { DISCBRIDGE_TRANSCODE_SLOTS: '1' } });
    const bSpool = join(b.dir, 'agent', 'agent', 'spool');
    mkdirSync(bSpool, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', bSpool]);
    const proxy = new TcpProxy(s.port);
    await proxy.start();
    try {
      s.drive.insert(makeDisc('e2e-farm-stream', ['--label', 'FARM_STREAM', '--title', '60:1', '--size', '352x240']));
      await waitFor(async () => (await tasks(s)).some((task) => task.attempts === 1), 180_000, 'the attempt on the full disk to fail');
      const [failed] = await tasks(s);
      expect(failed?.last_error).toMatch(new RegExp(`^${b.agentId}: The disk this station writes the transcode to is full \\(0 MB free\\)$`));
      // Worker C reaches the hub through a proxy that cuts every connection 256 KB into what C sends (its result).
      const c = await s.startExtraAgent({
        name: 'c', drives: [], command: 'worker', agentEnv: { DISCBRIDGE_TRANSCODE_SLOTS: '1', DISCBRIDGE_HUB_URL: `ws://127.0.0.1:${proxy.port}` },
      });
      await waitFor(async () => (await tasks(s)).some((task) => task.leased_to === c.agentId && (task.progress_percent ?? 0) > 0), 120_000, 'C transcoding');
      const before = proxy.upstreamBytes;
      proxy.cutAfterUpstream(256 * 1024);
      await waitFor(async () => (await s.get<{ jobs: { state: string }[] }>('/api/jobs')).jobs[0]?.state === 'completed', 240_000, 'the job completed');
      const folder = join(s.outputDir, 'FARM_STREAM');
      // The rip goes once the hub has said yes to `delivered`, a moment after the job completed.
      await waitFor(() => readdirSync(folder).join() === 'FARM_STREAM_t01.h264.mkv', 10_000, 'only the result in the folder, the rip gone');
      const result = join(folder, 'FARM_STREAM_t01.h264.mkv');
      expect(Math.abs(probeDuration(result) - 60)).toBeLessThan(1);
      // The cut came mid-upload, and the upload went on from where the hub had got to: C sent the result about once.
      expect(proxy.upstreamCuts).toBe(1);
      const sent = proxy.upstreamBytes - before;
      expect(sent).toBeGreaterThan(256 * 1024);
      expect(sent).toBeLessThan(statSync(result).size + 128 * 1024);
      console.log(`streamed result: ${statSync(result).size} bytes; C sent ${sent} bytes from the moment the cut was armed (256 KB in)`);
      const [task] = await tasks(s);
      expect(task).toMatchObject({ state: 'done', transcoded_by: c.agentId, streamed: true });
      // The page says who transcoded it, and that its files went through the hub.
      const browser = await launchBrowser();
      try {
        await browser.page.goto(`${s.baseUrl}/`);
        await browser.page.waitForSelector('body[data-ready]', { timeout: 15_000 });
        const station = browser.page.locator('.task-row[data-state="done"] td[data-label="Station"]');
        await station.waitFor({ timeout: 15_000 });
        expect(await station.textContent()).toBe(`${c.agentId}files sent through the hub`);
        await browser.page.screenshot({ path: join(ARTIFACTS, 'e2e', 'farm', 'queue-streamed.png'), fullPage: true });
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.close();
      }
      expect(c.process?.log()).toMatch(/The connection to the hub failed while sending/);
      // Nothing is left in any spool: the hub's, and the workers'.
      await waitFor(() => readdirSync(join(s.dir, 'hub', 'spool')).length === 0, 10_000, 'the hub\'s spool emptied');
      expect(readdirSync(bSpool)).toEqual([]);
      expect(readdirSync(join(c.dir, 'agent', 'agent', 'spool'))).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', bSpool]);
      await proxy.stop();
    }
  }, 600_000);
});
