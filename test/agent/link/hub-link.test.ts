// HubLink with a real AgentStore against a real Hub (hub/hub.ts on 127.0.0.1, temp data dirs, the station token),
// link protocol 2: events recorded while the hub is away are replayed in order exactly once, acknowledgements trim
// the outbox, a hub restart in the middle of a stream loses and duplicates nothing, a station whose data folder was
// wiped carries on after the hub's numbers, and progress reaches dashboards with the current revision unless stale.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LINK_PROTOCOL, type AgentHello, type JobUpdate, type StationEvent, type TitleUpdate } from '../../../shared/index.js';
import { HubLink } from '../../../agent/link/hub-link.js';
import { AgentStore } from '../../../agent/store/agent-store.js';
import { freePort } from '../../tools/free-port.js';
import { TOKEN, dashboardPeer, getJson, silentLogger, startHub, type Peer, type TestHub } from '../../hub/helpers.js';

const AGENT = 'station-1';

const job = (jobId: number, state: JobUpdate['state'], extra: Partial<JobUpdate> = {}): JobUpdate =>
  ({ type: 'job_update', agent_id: AGENT, job_id: jobId, state, ...extra });
const title = (jobId: number, titleId: number, state: TitleUpdate['state'], extra: Partial<TitleUpdate> = {}): TitleUpdate =>
  ({ type: 'title_update', agent_id: AGENT, job_id: jobId, title_id: titleId, state, ...extra });

/** The durable events of one whole rip of local job `jobId`: six of them. */
function rip(jobId: number): StationEvent[] {
  return [
    job(jobId, 'identifying', { drive_id: '/dev/sr0', volume_label: `DISC_${jobId}`, disc_type: 'dvd' }),
    {
      type: 'titles_discovered', agent_id: AGENT, job_id: jobId,
      titles: [{ title_id: 1, duration_seconds: 3600, chapters: 12, expected_size_bytes: 4_000_000_000, selected: true }],
    },
    job(jobId, 'ripping', { total_titles: 1, progress_percent: 0, output_dir: `Disc ${jobId}` }),
    title(jobId, 1, 'ripping', { match_progress: 0 }),
    title(jobId, 1, 'completed', { match_progress: 100, actual_size_bytes: 3_900_000_000, output_filename: `DISC_${jobId}_t01.mkv` }),
    job(jobId, 'completed', { progress_percent: 100 }),
  ];
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The hub's SQLite file, read through a separate read-only connection. */
function readHub<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'hub.sqlite'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function hubSeqs(dataDir: string, agentId = AGENT): number[] {
  return readHub(dataDir, (db) =>
    (db.prepare('SELECT seq FROM events WHERE agent_id = ? ORDER BY seq').all(agentId) as { seq: number }[]).map((row) => row.seq));
}

function hubRevision(dataDir: string): number {
  return readHub(dataDir, (db) => (db.prepare(`SELECT value FROM meta WHERE key = 'rev'`).get() as { value: number } | undefined)?.value ?? 0);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** One station: its own data folder with an AgentStore, and a HubLink to the hub's port. */
class Station {
  readonly store: AgentStore;
  readonly link: HubLink;
  connections = 0;

  constructor(readonly dir: string, port: number, readonly agentId = AGENT) {
    this.store = new AgentStore(dir);
    this.store.start();
    this.link = new HubLink({
      url: `http://127.0.0.1:${port}`, token: TOKEN, tls: {}, store: this.store, heartbeatMs: 60_000, logger: silentLogger,
      hello: (): AgentHello => ({
        kind: 'hello', agent_id: agentId, name: `Station ${agentId}`, version: '0.1.0-test', protocol: { ...LINK_PROTOCOL }, drives: [],
      }),
    });
    this.link.on('connected', () => { this.connections++; });
  }

  async connected(): Promise<void> {
    await until(() => this.link.isConnected, 'the link is connected');
  }

  /** Connected, and every event acknowledged by the hub. */
  async drained(): Promise<void> {
    await until(() => this.link.isConnected && this.store.outboxSize() === 0, 'the outbox is empty');
  }

  async stop(): Promise<void> {
    await this.link.stop();
    this.store.stop();
  }
}

let dirs: string[];
let hubs: TestHub[];
let stations: Station[];
let peers: Peer[];
let port: number;
let hubDir: string;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function startHubHere(): Promise<TestHub> {
  const hub = await startHub(hubDir, { port });
  hubs.push(hub);
  return hub;
}

async function stopHub(hub: TestHub): Promise<void> {
  hubs.splice(hubs.indexOf(hub), 1);
  await hub.hub.stop();
}

function station(dir = tempDir('discbridge-agent-'), agentId = AGENT): Station {
  const created = new Station(dir, port, agentId);
  stations.push(created);
  return created;
}

async function dashboard(hub: TestHub): Promise<Peer> {
  const peer = dashboardPeer(hub.port);
  peers.push(peer);
  await peer.next((m) => m.type === 'hello');
  return peer;
}

beforeEach(async () => {
  dirs = [];
  hubs = [];
  stations = [];
  peers = [];
  port = await freePort();
  hubDir = tempDir('discbridge-hub-');
  // Reconnect delays are random; a small fixed "random" keeps them short (50, 100, 200 ms…) and the tests quick.
  vi.spyOn(Math, 'random').mockReturnValue(0.1);
});

afterEach(async () => {
  vi.restoreAllMocks();
  const invalid = peers.flatMap((peer) => peer.invalid);
  await Promise.all(peers.map((peer) => peer.close()));
  for (const s of stations) await s.stop();
  for (const hub of [...hubs]) await stopHub(hub);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  expect(invalid).toEqual([]);
});

describe('replay', () => {
  it('replays events recorded while the hub was down, in order and exactly once, then trims the outbox', async () => {
    const s = station();
    s.link.start();
    // No hub yet: 1 drive event and 45 rips (271 events, more than one replay batch) wait in the outbox.
    const events: StationEvent[] = [{ type: 'drive_event', agent_id: AGENT, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'DISC_1' }];
    for (let jobId = 1; jobId <= 45; jobId++) events.push(...rip(jobId));
    for (const event of events) s.link.send(event);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.link.isConnected).toBe(false);
    expect(s.store.outboxSize()).toBe(events.length);

    const hub = await startHubHere();
    const seen = await dashboard(hub);
    await s.drained();
    expect(s.store.lastSeq()).toBe(events.length);

    const jobs = await getJson(`${hub.base}/api/jobs?limit=500`);
    expect(jobs.body.jobs).toHaveLength(45);
    expect(jobs.body.jobs.every((j: { state: string }) => j.state === 'completed')).toBe(true);
    // Hub job ids follow the order the jobs were replayed in.
    expect(jobs.body.jobs.map((j: { job_id: number; volume_label: string }) => [j.job_id, j.volume_label]))
      .toEqual(range(1, 45).reverse().map((id) => [id, `DISC_${id}`]));
    // A dashboard connected as the hub came up saw the replay once, in order, with consecutive revisions (it may
    // have connected a moment after the station, so it may have missed the first few).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const received = seen.frames.map((f) => JSON.parse(f) as { type: string; rev: number })
      .filter((m) => m.type !== 'hello' && m.type !== 'agent_update');
    expect(received.length).toBeGreaterThan(events.length / 2);
    expect(received.map((m) => m.type)).toEqual(events.slice(events.length - received.length).map((e) => e.type));
    expect(received.map((m) => m.rev)).toEqual(range(received[0]!.rev, received[0]!.rev + received.length - 1));

    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual(range(1, events.length));
    const bodies = readHub(hubDir, (db) =>
      (db.prepare('SELECT type, body FROM events WHERE agent_id = ? ORDER BY seq').all(AGENT) as { type: string; body: string }[]));
    expect(bodies.map((row) => row.type)).toEqual(events.map((e) => e.type));
    expect(JSON.parse(bodies[3]!.body)).toMatchObject({ ...events[3], job_id: 1 });
    // Exactly once: every applied event raised the revision by one, and so did the station coming and going.
    expect(hubRevision(hubDir)).toBe(events.length + 2 * s.connections);
    expect(s.connections).toBe(1);
  });

  it('sends new events live once connected, and the hub\'s acks empty the outbox', async () => {
    const hub = await startHubHere();
    const s = station();
    s.link.start();
    await s.connected();
    const seen = await dashboard(hub);
    for (const event of rip(1)) s.link.send(event);
    await s.drained();
    expect(await seen.next((m) => m.type === 'job_update' && m.state === 'completed')).toMatchObject({ job_id: 1, agent_id: AGENT });
    expect(s.store.outboxSize()).toBe(0);
    expect(s.store.lastSeq()).toBe(6);
    for (const event of rip(2)) s.link.send(event);
    await s.drained();
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual(range(1, 12));
  });

  it('a hub restarted on the same data dir in the middle of a stream: nothing lost, nothing twice', async () => {
    let hub = await startHubHere();
    const s = station();
    s.link.start();
    await s.connected();

    const total = 90;
    let restarted: Promise<void> | undefined;
    for (let jobId = 1; jobId <= total / 6; jobId++) {
      for (const event of rip(jobId)) {
        s.link.send(event);
        await tick();
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (jobId === 7) {
        // Restart while the stream goes on: events keep being recorded while the hub stops and comes back.
        restarted = (async () => {
          const old = hub;
          await stopHub(old);
          hub = await startHubHere();
        })();
      }
    }
    await restarted;
    await s.drained();
    expect(s.connections).toBeGreaterThanOrEqual(2);
    const jobs = await getJson(`${hub.base}/api/jobs?limit=500`);
    expect(jobs.body.jobs.map((j: { job_id: number; state: string }) => [j.job_id, j.state]))
      .toEqual(range(1, total / 6).reverse().map((id) => [id, 'completed']));
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual(range(1, total));
    expect(hubRevision(hubDir)).toBe(total + 2 * s.connections);
    expect(s.store.outboxSize()).toBe(0);
  });

  it('an agent restarted on its data folder replays what was never acknowledged, and nothing else', async () => {
    const dir = tempDir('discbridge-agent-');
    let hub = await startHubHere();
    let s = station(dir);
    s.link.start();
    for (const event of rip(1)) s.link.send(event);
    await s.drained();
    await stopHub(hub);
    // The hub is gone; the agent records more, then stops too.
    for (const event of rip(2)) s.link.send(event);
    expect(s.store.outboxSize()).toBe(6);
    await s.stop();
    stations.splice(stations.indexOf(s), 1);

    hub = await startHubHere();
    s = station(dir);
    s.link.start();
    await s.drained();
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual(range(1, 12));
  });
});

describe('a station whose data folder was wiped', () => {
  /** Runs two rips (jobs 1-2, seqs 1-12) through the hub with a first data folder, then stops that station. */
  async function history(): Promise<TestHub> {
    const hub = await startHubHere();
    const first = station();
    first.link.start();
    first.store.nextJobId();
    first.store.nextJobId();
    for (const event of [...rip(1), ...rip(2)]) first.link.send(event);
    await first.drained();
    await first.stop();
    stations.splice(stations.indexOf(first), 1);
    return hub;
  }

  it('is numbered after the hub\'s last seq and job instead of being ignored', async () => {
    const hub = await history();
    const seen = await dashboard(hub);
    const wiped = station();
    expect(wiped.store.lastSeq()).toBe(0);
    wiped.link.start();
    await wiped.connected();
    // A new installation keeps its own numbering from 1; the hub numbers it after the old one.
    expect(wiped.store.lastSeq()).toBe(0);
    const jobId = wiped.store.nextJobId();
    expect(jobId).toBe(1);
    for (const event of rip(jobId)) wiped.link.send(event);
    await wiped.drained();
    expect(await seen.next((m) => m.type === 'job_update' && m.state === 'completed')).toMatchObject({ job_id: 3 });
    const jobs = await getJson(`${hub.base}/api/jobs`);
    expect(jobs.body.jobs.map((j: { job_id: number; state: string; volume_label: string }) => [j.job_id, j.state, j.volume_label]))
      .toEqual([[3, 'completed', 'DISC_1'], [2, 'completed', 'DISC_2'], [1, 'completed', 'DISC_1']]); // its own job 1, the hub's job 3
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual(range(1, 18));
  });

  // A wiped station records events before it first reaches the hub; they must not be taken for replays.
  it('does not lose the events it recorded before it first reached the hub', async () => {
    const hub = await history();
    await stopHub(hub);
    const wiped = station();
    wiped.link.start();
    wiped.link.send({ type: 'drive_event', agent_id: AGENT, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'OFFLINE', disc_type: 'dvd' });
    const again = await startHubHere();
    await wiped.connected();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const drives = await getJson(`${again.base}/api/drives`);
    expect(drives.body).toEqual([expect.objectContaining({ drive_id: '/dev/sr0', has_disc: true, volume_label: 'OFFLINE' })]);
  });

  // A job a wiped station starts before it first reaches the hub is numbered 1 again; it must not reopen old job 1.
  it('a job it started before it first reached the hub does not reopen an old job with the same number', async () => {
    const hub = await history();
    await stopHub(hub);
    const wiped = station();
    wiped.link.start();
    const jobId = wiped.store.nextJobId();
    wiped.link.send(job(jobId, 'identifying', { drive_id: '/dev/sr0', volume_label: 'NEW_DISC' }));
    const again = await startHubHere();
    await wiped.connected();
    wiped.link.send(job(jobId, 'ripping', { progress_percent: 5 }));
    await wiped.drained();
    const old = await getJson(`${again.base}/api/jobs/1`);
    expect(old.body).toMatchObject({ state: 'completed', volume_label: 'DISC_1' });
  });
});

describe('progress', () => {
  it('reaches dashboards with the current revision, and adds nothing to the hub\'s events', async () => {
    const hub = await startHubHere();
    const s = station();
    s.link.start();
    await s.connected();
    const seen = await dashboard(hub);
    const [identifying, discovered, ripping, titleRipping] = rip(1);
    for (const event of [identifying!, discovered!, ripping!, titleRipping!]) s.link.send(event);
    const started = await seen.next((m) => m.type === 'title_update' && m.state === 'ripping');
    await s.drained();
    const revision = Number((await fetch(`${hub.base}/api/jobs`)).headers.get('X-Discbridge-Revision'));
    expect(started.rev).toBe(revision);

    s.link.send(title(1, 1, 'ripping', { match_progress: 25, actual_size_bytes: 1_000_000_000 }), true);
    s.link.send(job(1, 'ripping', { progress_percent: 25, current_speed: '4.0x', eta_seconds: 300 }), true);
    expect(await seen.next((m) => m.type === 'title_update')).toEqual({ ...title(1, 1, 'ripping', { match_progress: 25, actual_size_bytes: 1_000_000_000 }), rev: revision });
    expect(await seen.next((m) => m.type === 'job_update' && m.progress_percent === 25))
      .toEqual({ ...job(1, 'ripping', { progress_percent: 25, current_speed: '4.0x', eta_seconds: 300 }), rev: revision });
    expect(s.store.outboxSize()).toBe(0);
    expect((await getJson(`${hub.base}/api/jobs/1`)).body).toMatchObject({ progress_percent: 25, current_speed: '4.0x', eta_seconds: 300 });
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual([1, 2, 3, 4]);
    // Progress raised no revision: 4 events, online and offline.
    expect(hubRevision(hubDir)).toBe(6);
  });

  it('progress recorded while the hub was away is sent after the replay when still current, and dropped when stale', async () => {
    let hub = await startHubHere();
    const s = station();
    s.link.start();
    const events = rip(1);
    for (const event of events.slice(0, 4)) s.link.send(event);
    await s.drained();
    await stopHub(hub);

    // While away: progress of the ripping job (stale once the next event is recorded), then the title completes,
    // then progress of the job that is still current.
    s.link.send(job(1, 'ripping', { progress_percent: 40, eta_seconds: 100 }), true);
    s.link.send(title(1, 1, 'ripping', { match_progress: 90 }), true);
    s.link.send(events[4]!);
    s.link.send(job(1, 'ripping', { progress_percent: 95, current_speed: '2.0x' }), true);
    hub = await startHubHere();
    await s.drained();
    await until(async () => (await getJson(`${hub.base}/api/jobs/1`)).body.progress_percent === 95, 'the current progress arrived', 3000);
    const detail = (await getJson(`${hub.base}/api/jobs/1`)).body;
    expect(detail).toMatchObject({ state: 'ripping', progress_percent: 95, current_speed: '2.0x' });
    // The title's stale "ripping 90 %" did not undo its completion.
    expect(detail.titles[0]).toMatchObject({ state: 'completed', match_progress: 100 });
    await stopHub(hub);
    expect(hubSeqs(hubDir)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the hub drops progress that comes after a newer event: the dashboard never sees it', async () => {
    const hub = await startHubHere();
    const s = station();
    s.link.start();
    await s.connected();
    const seen = await dashboard(hub);
    const events = rip(1);
    for (const event of events.slice(0, 4)) s.link.send(event);
    await s.drained();
    // A progress message as the outbox would have kept it from before seq 4, sent on the live socket.
    const stale = { kind: 'progress', after_seq: 3, at: Date.now(), event: title(1, 1, 'ripping', { match_progress: 77 }) };
    (s.link as unknown as { socket: { send(text: string): void } }).socket.send(JSON.stringify(stale));
    s.link.send(title(1, 1, 'ripping', { match_progress: 33 }), true);
    expect(await seen.next((m) => m.type === 'title_update' && m.match_progress !== 0)).toMatchObject({ match_progress: 33 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.frames.filter((f) => f.includes('"match_progress":77'))).toEqual([]);
    expect((await getJson(`${hub.base}/api/jobs/1`)).body.titles[0]).toMatchObject({ match_progress: 33 });
  });
});
