// The transcode farm through fakes: a real hub on loopback, stations that rip with a fake ripper and workers that
// transcode with a fake transcoder, each an Agent with its own data folder, all sharing one library folder that each
// mounts at its own path (a symlink). A rip station with no slots hands its titles over and takes the next disc while
// a worker transcodes them; a station with slots and no library transcodes its own; a failing worker's task goes to
// another; a cancel stops the worker; a worker that stops mid-transcode gives its task back at once; a worker that
// finishes while the hub is down delivers once the hub is back. No root, no tools.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { DriveSources } from '../../../agent/drives/drive-sources.js';
import { DiscKinds } from '../../../agent/kinds/disc-kind.js';
import { VideoDiscs } from '../../../agent/kinds/video.js';
import type { TranscodeRequest, Transcoder } from '../../../agent/transcoders/transcoder.js';
import { RipError } from '../../../agent/tools/rip-error.js';
import type { DashboardMessage, JobUpdate, TitleUpdate, TranscodeTaskRecord } from '../../../shared/index.js';
import { TOKEN, connectDashboard, getJson, silentLogger, startHub, type Peer, type TestHub } from '../../hub/helpers.js';
import { TcpProxy } from '../../e2e/tcp-proxy.js';
import { FakeDriveSource } from '../fakes/fake-drive-source.js';
import { FakeRipper, title } from '../fakes/fake-ripper.js';

/** Writes its output at once, or holds each transcode until released; fails when told to. */
class FakeTranscoder implements Transcoder {
  readonly toolName = 'fake-ffmpeg';
  readonly started: string[] = [];
  hold = false;
  failWith: string | undefined;
  missing: string | undefined;
  /** Bytes of the result beyond its first line, for transfers long enough to cut. */
  padding = 0;
  private releases: (() => void)[] = [];

  get holding(): number {
    return this.releases.length;
  }

  release(): void {
    for (const release of this.releases.splice(0)) release();
  }

  async checkInstalled(): Promise<string | undefined> {
    return this.missing;
  }

  async transcode(request: TranscodeRequest): Promise<void> {
    this.started.push(request.input);
    request.onProgress({ fraction: 0.25, speed: 2, etaSeconds: 10 });
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.releases.push(resolve);
        request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
      });
    }
    request.signal.throwIfAborted();
    if (this.failWith) throw new RipError(this.failWith);
    writeFileSync(request.output, Buffer.concat([Buffer.from(`transcoded ${request.input}\n`), Buffer.alloc(this.padding, 7)]));
    request.onProgress({ fraction: 1, etaSeconds: 0 });
  }
}

interface Member {
  agent: Agent;
  transcoder: FakeTranscoder;
  drives?: FakeDriveSource;
  ripper?: FakeRipper;
}

let dir: string;
let hub: TestHub | undefined;
let dashboard: Peer | undefined;
const members: Member[] = [];

afterEach(async () => {
  dashboard?.ws.close();
  for (const member of members.splice(0)) await member.agent.stop();
  await hub?.hub.stop();
  hub = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function farm(leaseMs = 60_000): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-farm-'));
  mkdirSync(join(dir, 'library'));
  hub = await startHub(join(dir, 'hub'), { leaseMs });
  dashboard = await connectDashboard(hub.port);
}

/** The shared library as this station mounts it: its own path to the same folder. */
function mountLibrary(name: string): string {
  const mount = join(dir, `mnt-${name}`);
  symlinkSync(join(dir, 'library'), mount);
  return mount;
}

async function station(name: string, options: { slots: number; library: boolean; keepRip?: boolean; hubPort?: number }): Promise<Member & { drives: FakeDriveSource; ripper: FakeRipper }> {
  const libraryDir = options.library ? mountLibrary(name) : undefined;
  const drives = new FakeDriveSource(['/dev/sr0']);
  const ripper = new FakeRipper({ titles: [title(1, 3000), title(2, 1800)], stepMs: 5 });
  const transcoder = new FakeTranscoder();
  const agent = new Agent({
    ...config(name, options.slots, options.hubPort),
    outputDir: libraryDir ? join(libraryDir, `rips-${name}`) : join(dir, `rips-${name}`), ...(libraryDir ? { libraryDir } : {}),
  }, {
    drives, transcoder,
    kinds: new DiscKinds([new VideoDiscs(ripper, { profile: 'h264', keepRip: options.keepRip ?? true, libraryDir })]),
  }, silentLogger);
  await agent.start();
  const member = { agent, transcoder, drives, ripper };
  members.push(member);
  return member;
}

async function worker(name: string, slots = 1, hubPort?: number, library = true): Promise<Member> {
  const transcoder = new FakeTranscoder();
  const agent = new Agent({ ...config(name, slots, hubPort), outputDir: join(dir, `rips-${name}`), ...(library ? { libraryDir: mountLibrary(name) } : {}), worker: true }, {
    drives: new DriveSources([]), transcoder, kinds: new DiscKinds([]),
  }, silentLogger);
  await agent.start();
  const member = { agent, transcoder };
  members.push(member);
  return member;
}

function config(name: string, slots: number, hubPort = hub?.port) {
  return {
    agentId: name, name, version: 'test', hubUrl: `ws://127.0.0.1:${hubPort}`, token: TOKEN, tls: {}, dataDir: join(dir, `data-${name}`),
    minTitleSeconds: 120, settleMs: 0, heartbeatMs: 60_000, stallSeconds: 300, autoRip: true, maxJobs: 0, keepPartialFiles: false,
    ejectWhenDone: false, transcodeSlots: slots,
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function tasks(): Promise<TranscodeTaskRecord[]> {
  return (await getJson(`${hub?.base}/api/transcodes`)).body.tasks as TranscodeTaskRecord[];
}

/** A rip station with no slots that has ripped a disc, and a worker holding its first title mid-transcode. */
async function workerHoldingFirstTitle(): Promise<{ a: Member & { drives: FakeDriveSource; ripper: FakeRipper }; b: Member }> {
  await farm();
  const a = await station('rip-a', { slots: 0, library: true });
  const b = await worker('worker-b');
  b.transcoder.hold = true;
  a.drives.insert('/dev/sr0', DVD);
  await until(() => b.transcoder.holding === 1, 'the worker to start');
  return { a, b };
}

const DVD = { volumeLabel: 'MOVIE', discType: 'dvd' } as const;

describe('the transcode farm', () => {
  it('has a worker transcode what a station without slots ripped, while that station takes the next disc', async () => {
    await farm();
    const a = await station('rip-a', { slots: 0, library: true, keepRip: false });
    const b = await worker('worker-b');
    b.transcoder.hold = true;
    a.drives.insert('/dev/sr0', DVD);
    await until(() => b.transcoder.holding === 1, 'the worker to start');
    // The drive is free while its titles are transcoded elsewhere: the job waits on the farm, not on the station.
    expect(a.agent.health()).toMatchObject({ jobs_running: 0, drives: [{ busy: false }] });
    expect((await tasks()).map((t) => [t.title_id, t.state, t.leased_to])).toEqual([[2, 'queued', undefined], [1, 'transcoding', 'worker-b']]);
    a.drives.remove('/dev/sr0');
    a.drives.insert('/dev/sr0', { volumeLabel: 'SECOND', discType: 'dvd' });
    await until(() => a.ripper.ripped.length === 2, 'the second disc to be ripped');

    b.transcoder.hold = false;
    b.transcoder.release();
    const done = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 5000);
    expect(done).toMatchObject({ agent_id: 'rip-a', progress_percent: 100 });
    const job = (await getJson(`${hub?.base}/api/jobs/${done.job_id}`)).body as { titles: TitleUpdate[]; state: string };
    expect(job.titles.map((t) => [t.title_id, t.state, t.transcoded_by, t.output_filename])).toEqual([
      [1, 'completed', 'worker-b', 'MOVIE_t01.h264.mkv'], [2, 'completed', 'worker-b', 'MOVIE_t02.h264.mkv'],
    ]);
    // A completed job's files are in place: the results under their final names, no partial file, the rips gone
    // (keep_rip false), since a title completes only once its worker says its result is in place.
    expect(readdirSync(join(dir, 'library', 'rips-rip-a', 'MOVIE')).sort()).toEqual(['MOVIE_t01.h264.mkv', 'MOVIE_t02.h264.mkv']);
    expect((await tasks()).filter((t) => t.job_id === done.job_id).map((t) => [t.state, t.transcoded_by])).toEqual([['done', 'worker-b'], ['done', 'worker-b']]);
    // The live progress the hub made of the worker's reports.
    const progress = (dashboard as Peer).frames.map((f) => JSON.parse(f) as DashboardMessage)
      .filter((m): m is JobUpdate => m.type === 'job_update' && m.job_id === done.job_id && m.state === 'transcoding' && m.current_speed !== undefined);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('leases a station\'s own rips back to it when it has slots and no library', async () => {
    await farm();
    const a = await station('solo', { slots: 1, library: false });
    a.drives.insert('/dev/sr0', DVD);
    const done = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 5000);
    expect((await tasks()).map((t) => [t.state, t.transcoded_by])).toEqual([['done', 'solo'], ['done', 'solo']]);
    // keep_rip: the rips stay beside the results.
    expect(readdirSync(join(dir, 'rips-solo', 'MOVIE')).sort()).toEqual(['MOVIE_t01.h264.mkv', 'MOVIE_t01.mkv', 'MOVIE_t02.h264.mkv', 'MOVIE_t02.mkv']);
    expect(done.agent_id).toBe('solo');
  });

  it('gives a task that failed on one worker to another, and says so in the job\'s log', async () => {
    await farm();
    const a = await station('rip-a', { slots: 0, library: true });
    const b = await worker('worker-b');
    b.transcoder.missing = 'ffmpeg was not found: install it';
    a.drives.insert('/dev/sr0', DVD);
    await until(async () => (await tasks()).some((t) => t.attempts === 1), 'a failed attempt');
    const c = await worker('worker-c');
    const done = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 5000);
    expect(c.transcoder.started.length).toBe(2);
    const log = (await getJson(`${hub?.base}/api/jobs/${done.job_id}/log`)).body.lines as { text: string }[];
    expect(log.map((l) => l.text).join('\n')).toMatch(/failed on worker-b \(attempt 1 of 3\); queued again: ffmpeg was not found/);
    expect((await tasks()).every((t) => t.transcoded_by === 'worker-c')).toBe(true);
  });

  it('fails the job with the reason once a task has failed its third attempt', async () => {
    await farm();
    const a = await station('solo', { slots: 1, library: false });
    a.transcoder.failWith = 'ffmpeg could not transcode "MOVIE_t01.mkv": the ripped file is damaged';
    a.drives.insert('/dev/sr0', DVD);
    // Each attempt after the first waits a moment for another station: three take a few seconds.
    const failed = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'failed', 15_000);
    expect(failed.error_message).toMatch(/^No title could be transcoded: solo: ffmpeg could not transcode "MOVIE_t0\d.mkv": the ripped file is damaged$/);
    expect((await tasks()).map((t) => [t.state, t.attempts])).toEqual([['failed', 3], ['failed', 3]]);
    // No partial file is left, and the rips stay.
    expect(readdirSync(join(dir, 'rips-solo', 'MOVIE')).sort()).toEqual(['MOVIE_t01.mkv', 'MOVIE_t02.mkv']);

    // Mended, a person retries both: the failed job waits on the farm again, and completes.
    a.transcoder.failWith = undefined;
    for (const task of await tasks()) expect((await getJson(`${hub?.base}/api/transcodes/${task.task_id}/retry`, { method: 'POST' })).status).toBe(200);
    const completed = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 5000);
    expect(completed.job_id).toBe(failed.job_id);
    expect((await tasks()).map((t) => [t.state, t.attempts, t.transcoded_by])).toEqual([['done', 0, 'solo'], ['done', 0, 'solo']]);
  }, 20_000);

  it('stops the worker when a person cancels the job, and ends the job cancelled', async () => {
    const { b } = await workerHoldingFirstTitle();
    const jobId = (await tasks())[0]?.job_id as number;
    expect((await getJson(`${hub?.base}/api/jobs/${jobId}/cancel`, { method: 'POST' })).status).toBe(200);
    const cancelled = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'cancelled', 5000);
    expect(cancelled.job_id).toBe(jobId);
    await until(() => b.agent.health().transcodes_running === 0, 'the worker to stop');
    expect((await tasks()).map((t) => t.state)).toEqual(['cancelled', 'cancelled']);
    expect(readdirSync(join(dir, 'library', 'rips-rip-a', 'MOVIE')).sort()).toEqual(['MOVIE_t01.mkv', 'MOVIE_t02.mkv']);
  });

  it('gives a task back at once when its worker shuts down mid-transcode, and another finishes it', async () => {
    const { b } = await workerHoldingFirstTitle();
    await b.agent.stop();
    members.splice(members.indexOf(b), 1);
    await until(async () => (await tasks()).every((t) => t.state === 'queued'), 'the task to be queued again');
    expect((await tasks()).find((t) => t.attempts === 1)?.last_error).toMatch(/worker-b: The station was shut down during this transcode/);
    await worker('worker-c');
    const done = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 5000);
    expect(done.agent_id).toBe('rip-a');
    expect(readdirSync(join(dir, 'library', 'rips-rip-a', 'MOVIE')).sort()).toEqual(['MOVIE_t01.h264.mkv', 'MOVIE_t01.mkv', 'MOVIE_t02.h264.mkv', 'MOVIE_t02.mkv']);
  });

  it('takes the result of a worker cut off past its lease, when nobody took the task meanwhile: transcoded once', async () => {
    await farm(1500);
    const proxy = new TcpProxy((hub as TestHub).port);
    await proxy.start();
    try {
      const a = await station('rip-a', { slots: 0, library: true });
      const b = await worker('worker-b', 1, proxy.port);
      b.transcoder.hold = true;
      a.drives.insert('/dev/sr0', DVD);
      await until(() => b.transcoder.holding === 1, 'the worker to start');
      // The link goes silent: the hub hears nothing, and the lease runs out (a failed attempt, the task queued).
      proxy.stall();
      await until(async () => (await tasks()).some((t) => t.attempts === 1 && t.state === 'queued'), 'the lease to run out', 10_000);
      b.transcoder.hold = false;
      b.transcoder.release();
      await until(() => b.agent.health().transcodes_running === 0, 'the worker to finish while cut off');
      proxy.resume();
      const done = await (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && m.state === 'completed', 10_000);
      expect(done.agent_id).toBe('rip-a');
      // Both titles by the one worker, each transcoded once: the first under the lease that ran out.
      expect(b.transcoder.started.map((file) => file.slice(-12))).toEqual(['MOVIE_t01.mkv'.slice(-12), 'MOVIE_t02.mkv'.slice(-12)]);
      expect((await tasks()).map((t) => [t.title_id, t.state, t.transcoded_by]).sort()).toEqual([[1, 'done', 'worker-b'], [2, 'done', 'worker-b']]);
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it('takes a result finished while the hub was down once the hub is back, and completes the job once', async () => {
    await farm();
    const port = (hub as TestHub).port;
    const a = await station('rip-a', { slots: 0, library: true });
    const b = await worker('worker-b');
    b.transcoder.hold = true;
    a.drives.insert('/dev/sr0', DVD);
    await until(() => b.transcoder.holding === 1, 'the worker to start');
    (dashboard as Peer).ws.close();
    await (hub as TestHub).hub.stop();
    b.transcoder.hold = false;
    b.transcoder.release();
    await until(() => b.agent.health().transcodes_running === 0, 'the worker to finish while the hub is down');
    hub = await startHub(join(dir, 'hub'), { port });
    dashboard = await connectDashboard(hub.port);
    await until(async () => (await tasks()).every((t) => t.state === 'done'), 'both tasks done after the restart', 20_000);
    // The job completes once both results are in place (their worker says so after the hub's yes).
    await until(async () => ((await getJson(`${hub?.base}/api/jobs`)).body.jobs as { state: string }[]).every((j) => j.state !== 'transcoding'), 'the job to end');
    const jobs = (await getJson(`${hub.base}/api/jobs`)).body.jobs as { state: string }[];
    expect(jobs.map((j) => j.state)).toEqual(['completed']);
    await until(() => readdirSync(join(dir, 'library', 'rips-rip-a', 'MOVIE')).filter((name) => name.endsWith('.h264.mkv')).length === 2, 'both results in place');
  }, 30_000);
});

describe('the transcode farm, streaming through the hub (no shared library)', () => {
  const spoolOf = (name: string) => readdirSync(join(dir, name, 'spool'));
  const results = () => readdirSync(join(dir, 'rips-rip-a', 'MOVIE')).sort();
  async function jobDone(): Promise<JobUpdate> {
    return (dashboard as Peer).next<JobUpdate>((m: DashboardMessage) => m.type === 'job_update' && (m.state === 'completed' || m.state === 'failed'), 15_000);
  }

  it('sends a rip outside any library to a worker without it, and the result back into the ripping station\'s folder', async () => {
    await farm();
    const a = await station('rip-a', { slots: 0, library: false, keepRip: false });
    const b = await worker('worker-b', 1, undefined, false);
    b.transcoder.padding = 300_000;
    a.drives.insert('/dev/sr0', DVD);
    const done = await jobDone();
    expect(done.state).toBe('completed');
    const job = (await getJson(`${hub?.base}/api/jobs/${done.job_id}`)).body as { titles: TitleUpdate[] };
    expect(job.titles.map((t) => [t.title_id, t.state, t.transcoded_by])).toEqual([[1, 'completed', 'worker-b'], [2, 'completed', 'worker-b']]);
    // The worker transcoded its own copy of each rip (fetched into its spool), and its results are in A's folder,
    // byte for byte; the rips are gone (keep_rip false).
    expect(b.transcoder.started.map((file) => file.startsWith(join(dir, 'data-worker-b', 'spool')))).toEqual([true, true]);
    // The rips go once the hub has said yes to `delivered`, a moment after the job completed.
    await until(() => results().join() === 'MOVIE_t01.h264.mkv,MOVIE_t02.h264.mkv', 'only the results in the folder, the rips gone');
    const first = readFileSync(join(dir, 'rips-rip-a', 'MOVIE', 'MOVIE_t01.h264.mkv'));
    expect(first.length).toBe(`transcoded ${b.transcoder.started[0]}\n`.length + 300_000);
    expect(first.subarray(0, 11).toString()).toBe('transcoded ');
    expect((await tasks()).map((t) => [t.state, t.transcoded_by, t.streamed])).toEqual([['done', 'worker-b', true], ['done', 'worker-b', true]]);
    // Nothing is left in either spool once the results are in place.
    await until(() => spoolOf('hub').length === 0, 'the hub\'s spool to be emptied');
    expect(spoolOf('data-worker-b')).toEqual([]);
    const log = (await getJson(`${hub?.base}/api/jobs/${done.job_id}/log`)).body as { lines: { text: string }[] };
    expect(log.lines.map((l) => l.text)).toContain('Title 1 transcoded by worker-b: MOVIE_t01.h264.mkv (sent through the hub)');
  });

  it('goes on with an upload cut mid-way from where the hub got to; no partial file ever takes the final name', async () => {
    await farm();
    const proxy = new TcpProxy((hub as TestHub).port);
    await proxy.start();
    try {
      const a = await station('rip-a', { slots: 0, library: false, keepRip: true });
      const b = await worker('worker-b', 1, proxy.port, false);
      const padding = 12 * 1024 * 1024;
      b.transcoder.padding = padding;
      b.transcoder.hold = true;
      a.drives.insert('/dev/sr0', DVD);
      await until(() => b.transcoder.holding === 1, 'the worker to start on the fetched rip', 10_000);
      // The first result goes up through the proxy, which cuts every connection 3 MB into it.
      const before = proxy.upstreamBytes;
      proxy.cutAfterUpstream(3 * 1024 * 1024);
      b.transcoder.hold = false;
      b.transcoder.release();
      const done = await jobDone();
      expect(done.state).toBe('completed');
      expect(proxy.upstreamCuts).toBe(1);
      const uploaded = proxy.upstreamBytes - before;
      // Two results of 12 MB went up, the first one resumed, not restarted: under 2 x 12 MB and the 3 MB again.
      expect(uploaded).toBeGreaterThan(2 * padding);
      expect(uploaded).toBeLessThan(2 * padding + 2 * 1024 * 1024);
      expect(results()).toEqual(['MOVIE_t01.h264.mkv', 'MOVIE_t01.mkv', 'MOVIE_t02.h264.mkv', 'MOVIE_t02.mkv']);
      // Each result byte for byte what the worker made of one of the fetched rips.
      const made = b.transcoder.started.map((input) => Buffer.concat([Buffer.from(`transcoded ${input}\n`), Buffer.alloc(padding, 7)]));
      const matched = ['MOVIE_t01.h264.mkv', 'MOVIE_t02.h264.mkv'].map((name) => {
        const result = readFileSync(join(dir, 'rips-rip-a', 'MOVIE', name));
        return made.findIndex((bytes) => bytes.equals(result));
      });
      expect(matched.sort()).toEqual([0, 1]);
      expect((await tasks()).map((t) => [t.state, t.attempts])).toEqual([['done', 0], ['done', 0]]);
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it('keeps a result that came back while the ripping station was away, and delivers it when the station returns', async () => {
    await farm();
    const a = await station('rip-a', { slots: 0, library: false, keepRip: false });
    const b = await worker('worker-b', 1, undefined, false);
    b.transcoder.hold = true;
    a.drives.insert('/dev/sr0', DVD);
    await until(() => b.transcoder.holding === 1, 'the worker to start on the fetched rip');
    // The ripping station goes away; the worker finishes both titles meanwhile, and the results wait at the hub.
    await a.agent.stop();
    members.splice(members.indexOf(a), 1);
    b.transcoder.hold = false;
    b.transcoder.release();
    await until(async () => (await tasks()).every((t) => t.state === 'done'), 'both tasks done while the station is away');
    expect(results()).toEqual(['MOVIE_t01.mkv', 'MOVIE_t02.mkv']);
    expect(spoolOf('hub').filter((name) => name.endsWith('.result'))).toHaveLength(2);
    await station('rip-a', { slots: 0, library: false, keepRip: false });
    const done = await jobDone();
    expect(done.state).toBe('completed');
    // The rips go once the hub has said yes to `delivered`, a moment after the job completed.
    await until(() => results().join() === 'MOVIE_t01.h264.mkv,MOVIE_t02.h264.mkv', 'only the results in the folder, the rips gone');
    await until(() => spoolOf('hub').length === 0, 'the hub\'s spool to be emptied');
  });

  it('fails a task at once when its rip is gone from the ripping station, and streams the rest', async () => {
    await farm();
    const a = await station('rip-a', { slots: 0, library: false });
    a.drives.insert('/dev/sr0', DVD);
    await until(async () => (await tasks()).length === 2, 'the hand-off');
    rmSync(join(dir, 'rips-rip-a', 'MOVIE', 'MOVIE_t01.mkv'));
    await worker('worker-b', 1, undefined, false);
    const done = await jobDone();
    expect(done.state).toBe('failed');
    const byTitle = (await tasks()).sort((x, y) => x.title_id - y.title_id);
    expect(byTitle.map((t) => [t.title_id, t.state, t.attempts])).toEqual([[1, 'failed', 0], [2, 'done', 0]]);
    expect(byTitle[0]?.last_error).toBe('The rip is not on rip-a any more: MOVIE_t01.mkv is not in the output folder');
    expect(existsSync(join(dir, 'rips-rip-a', 'MOVIE', 'MOVIE_t02.h264.mkv'))).toBe(true);
  });
});
