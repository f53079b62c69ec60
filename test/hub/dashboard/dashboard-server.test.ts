// The dashboard socket at /ws on a real Hub: hello first, agent status, every station event with the hub's job ids,
// one serialization for all clients, and a polite error for anything a dashboard sends. Then slow clients
// (protocol 2): coalesced progress, bounded buffers, dropped when stuck, fast clients unaffected.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DASHBOARD_PROTOCOL, DashboardMessage, type StationEvent } from '../../../shared/index.js';
import { join } from 'node:path';
import { AccessControl } from '../../../hub/auth/access.js';
import { DashboardServer } from '../../../hub/dashboard/dashboard-server.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { HubFixture, Peer, dashboardPeer, eventEnvelope, removeDir, silentLogger, tempDir } from '../helpers.js';

const fx = new HubFixture();
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

const drives = [{ drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false }];

/** A run of local job 7 as an agent would send it. */
function run(agentId: string): StationEvent[] {
  const job = { agent_id: agentId, job_id: 7 } as const;
  return [
    { type: 'drive_event', agent_id: agentId, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
    { type: 'job_update', ...job, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
    {
      type: 'titles_discovered', ...job, content_type: 'movie', detected_title: 'The Movie',
      titles: [{ title_id: 1, duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true, name: 'Main' }],
    },
    { type: 'job_update', ...job, state: 'ripping', progress_percent: 12.5, current_speed: '4.2x', eta_seconds: 900, current_title: 1, total_titles: 1 },
    { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 12.5, actual_size_bytes: 500_000_000 },
    { type: 'title_update', ...job, title_id: 1, state: 'completed', actual_size_bytes: 4_400_000_000, output_filename: 'The Movie.mkv' },
    { type: 'job_update', ...job, state: 'completed', progress_percent: 100, output_dir: 'The Movie' },
    { type: 'drive_event', agent_id: agentId, drive_id: '/dev/sr0', event: 'removed', volume_label: '' },
  ];
}

it('sends hello first', async () => {
  const dashboard = fx.track(dashboardPeer(fx.hub.port));
  const first = await dashboard.next();
  // A fresh hub has applied nothing yet: revision 0.
  expect(first).toEqual({ type: 'hello', server: 'test-hub', version: '0.1.0-test', protocol: DASHBOARD_PROTOCOL, protocols: [2, 3], rev: 0, revisions: {} });
  expect(dashboard.frames).toHaveLength(1);
});

it('reports an agent online when it says hello and offline when it leaves', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  expect(await dashboard.next((m) => m.type === 'agent_update')).toEqual({
    type: 'agent_update', agent_id: 'station-1', state: 'online', name: 'Station station-1', version: '0.1.0', rev: 1,
  });
  await agent.close();
  expect(await dashboard.next((m) => m.type === 'agent_update')).toEqual({
    type: 'agent_update', agent_id: 'station-1', state: 'offline', name: 'Station station-1', version: '0.1.0', rev: 2,
  });
});

it('forwards every event with the same fields and the hub\'s job id in place of the agent\'s', async () => {
  const dashboard = await fx.dashboard();
  const one = await fx.agent('station-1', drives);
  const two = await fx.agent('station-2', drives);
  // station-2's job 7 starts first, so station-1's job 7 is hub job 2.
  // Revisions: 1 and 2 are the two stations coming online; each event then raises it by one.
  const first = await fx.event(two, dashboard, 1, run('station-2')[1]!);
  expect(first).toEqual({ ...run('station-2')[1], job_id: 1, rev: 3 });
  let seq = 0;
  for (const event of run('station-1')) {
    const received = await fx.event(one, dashboard, ++seq, event);
    expect(received).toEqual('job_id' in event ? { ...event, job_id: 2, rev: 3 + seq } : { ...event, rev: 3 + seq });
  }
  expect(dashboard.pending().filter((m) => (m as { type: string }).type !== 'agent_update')).toEqual([]);
});

it('sends the agent id of the connection, not the one an event claims', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  const received = await fx.event(agent, dashboard, 1, { ...run('station-1')[1]!, agent_id: 'impostor' } as StationEvent);
  expect(received).toMatchObject({ agent_id: 'station-1', job_id: 1 });
});

it('does not forward an event replayed with an old seq', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  const events = run('station-1');
  await fx.event(agent, dashboard, 1, events[0]!);
  await fx.event(agent, dashboard, 2, events[1]!);
  agent.send(eventEnvelope(2, events[3]!));
  agent.send(eventEnvelope(1, events[3]!));
  // The next event through is seq 3: the replays in between were dropped.
  // Nor did they raise the revision: online (1), seq 1 (2), seq 2 (3), seq 3 (4).
  expect(await fx.event(agent, dashboard, 3, events[2]!)).toMatchObject({ type: 'titles_discovered', rev: 4 });
  expect(dashboard.pending().filter((m) => (m as { type: string }).type === 'job_update')).toEqual([]);
});

it('sends byte-identical frames to every client', async () => {
  const a = await fx.dashboard();
  const b = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  let seq = 0;
  for (const event of run('station-1')) {
    await fx.event(agent, a, ++seq, event);
    await b.next((m) => m.type === event.type);
  }
  await agent.close();
  await a.next((m) => m.type === 'agent_update' && m.state === 'offline');
  await b.next((m) => m.type === 'agent_update' && m.state === 'offline');
  expect(a.frames).toHaveLength(1 + 1 + 8 + 1);
  expect(b.frames).toEqual(a.frames);
});

it('answers a message it does not know with an error that names what it takes, and keeps the socket open', async () => {
  const dashboard = await fx.dashboard();
  dashboard.send({ type: 'cancel', job_id: 1 });
  expect(await dashboard.next((m) => m.type === 'error')).toEqual({
    type: 'error', message: 'Unknown message type "cancel" (use subscribe, unsubscribe, ping, snapshot, command)',
  });
  dashboard.send('not even json');
  expect(await dashboard.next((m) => m.type === 'error')).toEqual({ type: 'error', message: 'Message is not valid JSON' });
  await dashboard.ping();
  // Still subscribed.
  await fx.agent('station-1');
  expect(await dashboard.next((m) => m.type === 'agent_update')).toMatchObject({ state: 'online' });
});

it('closes a dashboard that sends a frame over 64 KiB, and keeps the others', async () => {
  const big = await fx.dashboard();
  const other = await fx.dashboard();
  big.send('x'.repeat(65 * 1024));
  expect((await big.closed).code).toBe(1009);
  await fx.agent('station-1');
  expect(await other.next((m) => m.type === 'agent_update')).toMatchObject({ state: 'online' });
});

describe('unknown WebSocket paths', () => {
  it.each(['/nope', '/ws/extra', '/agent/x', '/'])('%s gets HTTP 404 and no socket', async (path) => {
    const peer = fx.track(new Peer(`ws://127.0.0.1:${fx.hub.port}${path}`));
    const refused = await peer.refused;
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.stringContaining('/ws') });
  });

  it('/ws with a query string is the dashboard socket', async () => {
    const peer = fx.track(new Peer(`ws://127.0.0.1:${fx.hub.port}/ws?client=test`, {}, DashboardMessage));
    expect(await peer.next()).toMatchObject({ type: 'hello' });
  });
});

// ---- Slow dashboards (protocol 2): coalesced progress, bounded memory, dropped when stuck; fast clients unaffected.

/** A job_update as a progress-only broadcast; the padding makes a burst big enough to fill the loopback buffers. */
function progressFrame(jobId: number, percent: number, rev: number): StationEvent {
  return {
    type: 'job_update', agent_id: 'station-1', job_id: jobId, state: 'ripping', progress_percent: percent, current_speed: '4.0x',
    error_message: `retrying sector ${percent} `.padEnd(300, '.'), rev,
  };
}

function stateFrame(n: number, rev: number): StationEvent {
  return { type: 'title_update', agent_id: 'station-1', job_id: 1000, title_id: n, state: 'completed', match_progress: 100, rev };
}

interface ServerSide { bufferedAmount: number; readyState: number; OPEN: number; _socket: { remotePort: number } }

describe('slow dashboard clients (in-process DashboardServer)', () => {
  const SOFT = 64 * 1024;
  const HARD = 1024 * 1024;
  const STUCK_MS = 1500;
  let server: DashboardServer;
  let http: Server;
  let port: number;
  let rev: number;
  let dir: string;
  let db: Db;
  const clients: WebSocket[] = [];

  beforeEach(() => {
    dir = tempDir('discbridge-dashboards-');
    db = openDatabase(join(dir, 'hub.sqlite'));
  });

  async function startServer(options: { hard?: number; stuckMs?: number } = {}): Promise<void> {
    rev = 0;
    server = new DashboardServer({
      serverName: 'slow-test', version: '1', heartbeatMs: 60_000, missedHeartbeats: 2,
      softBufferBytes: SOFT, hardBufferBytes: options.hard ?? HARD, stuckMs: options.stuckMs ?? STUCK_MS,
      revision: () => rev, stationRevisions: () => ({}), driveOfJob: () => undefined, requests: { handle: () => undefined },
      access: new AccessControl(db, { viewRequiresLogin: false, secure: false }), logger: silentLogger,
    });
    server.start();
    http = createServer();
    http.on('upgrade', (request, socket, head) => server.handleUpgrade(request, socket, head));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  /** A raw client that records every frame it parses, with the time it arrived. */
  async function client(): Promise<{ ws: WebSocket; received: { at: number; message: Record<string, unknown> }[]; closed: Promise<number> }> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    clients.push(ws);
    ws.on('error', () => undefined);
    const received: { at: number; message: Record<string, unknown> }[] = [];
    ws.on('message', (data) => received.push({ at: Date.now(), message: JSON.parse(data.toString()) as Record<string, unknown> }));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    await until(() => received.length > 0, 'the hello');
    expect(received[0]!.message).toMatchObject({ type: 'hello', rev: 0 });
    return { ws, received, closed };
  }

  /** The hub's side of a client's socket (private in DashboardServer: tests only). */
  function serverSide(ws: WebSocket): ServerSide {
    const localPort = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    const all = [...(server as unknown as { wss: { clients: Set<ServerSide> } }).wss.clients];
    const found = all.find((socket) => socket._socket.remotePort === localPort);
    if (!found) throw new Error('no server-side socket for this client');
    return found;
  }

  const pause = (ws: WebSocket): void => (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const resume = (ws: WebSocket): void => (ws as unknown as { _socket: { resume(): void } })._socket.resume();

  afterEach(async () => {
    for (const ws of clients.splice(0)) ws.terminate();
    await server.stop();
    await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    db.close();
    removeDir(dir);
  });

  it('coalesces a client that stops reading during 20k progress broadcasts, keeps its buffer bounded, drops it when stuck; a fast client gets every state event in order, promptly', async () => {
    await startServer();
    const slow = await client();
    const fast = await client();
    const slowSide = serverSide(slow.ws);
    pause(slow.ws);

    const sentState: { n: number; at: number }[] = [];
    let maxBuffered = 0;
    let maxFrame = 0;
    let slowSince: number | undefined;
    for (let i = 1; i <= 20_000; i++) {
      const frame = progressFrame(1 + (i % 10), i / 200, rev);
      maxFrame = Math.max(maxFrame, Buffer.byteLength(JSON.stringify(frame)));
      server.broadcast({ message: frame, key: `job_update:${1 + (i % 10)}`, progressOnly: true });
      if (i % 1000 === 0) {
        rev++;
        server.broadcast({ message: stateFrame(i / 1000, rev), progressOnly: false });
        sentState.push({ n: i / 1000, at: Date.now() });
      }
      if (slowSide.readyState === slowSide.OPEN) maxBuffered = Math.max(maxBuffered, slowSide.bufferedAmount);
      if (slowSince === undefined && server.stats().slow > 0) slowSince = Date.now();
      // Let the fast client read between chunks, as a real event loop would.
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    // The burst really outran the loopback buffers, and the slow client was switched to coalescing, not dropped.
    expect(slowSince).toBeDefined();
    expect(maxBuffered).toBeGreaterThan(SOFT);
    // Bounded: never more than the hard limit plus one frame queued for it.
    expect(maxBuffered).toBeLessThanOrEqual(HARD + maxFrame);
    expect(slowSide.bufferedAmount).toBeLessThanOrEqual(HARD + maxFrame);

    // The fast client got every state event, in order, each within a second of its broadcast.
    await until(() => fast.received.filter((r) => r.message.type === 'title_update').length === 20, 'the fast client has every state event');
    const states = fast.received.filter((r) => r.message.type === 'title_update');
    expect(states.map((r) => r.message.title_id)).toEqual(sentState.map((s) => s.n));
    expect(states.map((r) => r.message.rev)).toEqual(sentState.map((s) => s.n));
    states.forEach((r, i) => expect(r.at - sentState[i]!.at, `state event ${i + 1}`).toBeLessThan(1000));

    // The stuck client is dropped once it has been behind for stuckMs (the check runs every 100 ms). Its own side
    // sees the close only once it reads again.
    await until(() => server.stats().dropped === 1, 'the stuck client is dropped', STUCK_MS + 5000);
    const droppedAfter = Date.now() - slowSince!;
    resume(slow.ws);
    await slow.closed;
    expect(droppedAfter).toBeGreaterThanOrEqual(STUCK_MS - 50);
    expect(droppedAfter).toBeLessThan(STUCK_MS + 1500);
    expect(server.stats()).toEqual({ clients: 1, slow: 0, dropped: 1 });
    // The fast client is still served.
    rev++;
    server.broadcast({ message: stateFrame(99, rev), progressOnly: false });
    await until(() => fast.received.some((r) => r.message.title_id === 99), 'the fast client gets the next event');
  }, 30_000);

  it('a slow client that catches up before stuckMs gets the newest progress of each key, last', async () => {
    await startServer({ hard: 64 * 1024 * 1024, stuckMs: 20_000 });
    const slow = await client();
    pause(slow.ws);
    const newest = new Map<number, number>();
    let broadcasts = 0;
    let afterSlow = 0;
    // Progress for 10 jobs until the client counts as slow, then 5000 more.
    while (afterSlow < 5000) {
      broadcasts++;
      const jobId = 1 + (broadcasts % 10);
      server.broadcast({ message: progressFrame(jobId, broadcasts / 1000, rev), key: `job_update:${jobId}`, progressOnly: true });
      newest.set(jobId, broadcasts / 1000);
      if (server.stats().slow > 0) afterSlow++;
      if (broadcasts > 200_000) throw new Error('the client never fell behind');
      if (broadcasts % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.stats().slow).toBe(1);

    resume(slow.ws);
    const lastPerJob = (): Map<number, number> => {
      const last = new Map<number, number>();
      for (const { message } of slow.received) if (message.type === 'job_update') last.set(message.job_id as number, message.progress_percent as number);
      return last;
    };
    await until(() => [...newest].every(([jobId, percent]) => lastPerJob().get(jobId) === percent), 'the newest progress of every job arrived');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Last per key is the newest, and nothing older came after it.
    expect(lastPerJob()).toEqual(newest);
    const progress = slow.received.filter((r) => r.message.type === 'job_update');
    // Coalesced: thousands of the broadcasts never went to it.
    expect(progress.length).toBeLessThan(broadcasts - 4000);
    expect(server.stats()).toEqual({ clients: 1, slow: 0, dropped: 0 });
    expect(slow.ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);

  it('a client past the hard limit is dropped at once, its buffer never more than one frame past the limit', async () => {
    await startServer({ hard: 256 * 1024, stuckMs: 60_000 });
    const slow = await client();
    const slowSide = serverSide(slow.ws);
    pause(slow.ws);
    let maxBuffered = 0;
    let maxFrame = 0;
    // State events are never coalesced: they pile up until the hard limit.
    for (let i = 1; i <= 40_000 && slowSide.readyState === slowSide.OPEN; i++) {
      rev++;
      const frame = { ...stateFrame(i, rev), error: 'x'.repeat(400) } as StationEvent;
      maxFrame = Math.max(maxFrame, Buffer.byteLength(JSON.stringify(frame)));
      server.broadcast({ message: frame, progressOnly: false });
      if (slowSide.readyState === slowSide.OPEN) maxBuffered = Math.max(maxBuffered, slowSide.bufferedAmount);
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(slowSide.readyState).not.toBe(slowSide.OPEN);
    resume(slow.ws);
    await slow.closed;
    expect(maxBuffered).toBeGreaterThan(256 * 1024 - maxFrame);
    expect(maxBuffered).toBeLessThanOrEqual(256 * 1024 + maxFrame);
    expect(server.stats().dropped).toBe(1);
  }, 30_000);
});

describe('slow dashboard clients (through a Hub)', () => {
  // Regression (was a bug): DashboardServer keeps a slow client's newest progress per key and sends it when the client catches up, but a
  // state change broadcast meanwhile goes out at once (it has no progress key). So the client gets the job's final
  // state first and the older "ripping n %" progress after it: a dashboard that merges updates shows a completed
  // job as ripping again (the stale frame even carries the older rev). A state event should discard (or be
  // queued behind) pending progress for the same job/title.
  it('a slow client never gets a job\'s older progress after its newer state', async () => {
    await fx.stop();
    await fx.start(undefined, {
      dashboardSoftBufferBytes: 16 * 1024, dashboardHardBufferBytes: 64 * 1024 * 1024, dashboardStuckMs: 30_000, maxStationMessagesPerSecond: 1_000_000,
    });
    const slow = await fx.dashboard();
    const fast = await fx.dashboard();
    const agent = await fx.agent('station-1', drives);
    await fx.event(agent, fast, 1, { type: 'job_update', agent_id: 'station-1', job_id: 7, state: 'ripping', drive_id: '/dev/sr0' });
    pause(slow.ws);
    const api = async () => (await fetch(`${fx.hub.base}/health`)).json() as Promise<{ dashboards: { slow: number } }>;
    let sent = 0;
    while ((await api()).dashboards.slow === 0) {
      for (let i = 0; i < 2000; i++) {
        sent++;
        agent.send({
          kind: 'progress', after_seq: 1, at: Date.now(),
          event: { type: 'job_update', agent_id: 'station-1', job_id: 7, state: 'ripping', progress_percent: (sent % 10_000) / 100, error_message: 'p'.repeat(300) },
        });
      }
      await fast.next((m) => m.type === 'job_update' && m.progress_percent === (sent % 10_000) / 100, 10_000);
      if (sent > 200_000) throw new Error('the dashboard never fell behind');
    }
    agent.send(eventEnvelope(2, { type: 'job_update', agent_id: 'station-1', job_id: 7, state: 'completed', progress_percent: 100 }));
    const completed = await fast.next((m) => m.type === 'job_update' && m.state === 'completed', 10_000);
    expect(completed.rev).toBe(3);
    resume(slow.ws);
    await slow.next((m) => m.type === 'job_update' && m.state === 'completed', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const last = slow.frames.map((f) => JSON.parse(f) as Record<string, unknown>).filter((m) => m.type === 'job_update').at(-1);
    expect(last).toMatchObject({ state: 'completed', rev: completed.rev });
  }, 60_000);

  const pause = (ws: WebSocket): void => (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const resume = (ws: WebSocket): void => (ws as unknown as { _socket: { resume(): void } })._socket.resume();
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
