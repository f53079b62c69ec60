// The agent socket at /agent on a real Hub: token check on the upgrade, hello/welcome, the close codes of the link,
// replacement of an older connection. Then AgentServer alone with short timers: hello timeout, heartbeat, command timeout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import Database from 'better-sqlite3';
import {
  Ack, AgentRecord, HubCommand, HubMessage, LINK_PROTOCOL, LinkCloseCode, Welcome, type AgentHello, type StationEvent,
} from '../../../shared/index.js';
import { AgentServer, AgentUnavailableError, CommandTimeoutError } from '../../../hub/link/agent-server.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { StationStore } from '../../../hub/store/station-store.js';
import { StationRegistry } from '../../../hub/auth/station-registry.js';
import {
  HubFixture, Peer, TOKEN, agentPeer, eventEnvelope, getJson, hello, removeDir, silentLogger, tempDir,
} from '../helpers.js';

const fx = new HubFixture();
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

describe('authentication on the upgrade', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { Authorization: 'Bearer not-the-token' }],
    ['the right token with another scheme', { Authorization: `Basic ${TOKEN}` }],
    ['the token without a scheme', { Authorization: TOKEN }],
    ['the token with a suffix', { Authorization: `Bearer ${TOKEN}x` }],
  ])('%s gets HTTP 401 and no socket', async (_name, headers: Record<string, string>) => {
    const peer = fx.track(agentPeer(fx.hub.port, headers));
    const refused = await peer.refused;
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.stringMatching(/token/) });
    await expect(peer.opened).rejects.toThrow();
    const agents = await getJson(`${fx.hub.base}/api/agents`);
    expect(agents.body).toEqual([]);
  });

  it('the right token and a hello get a welcome', async () => {
    const peer = fx.track(agentPeer(fx.hub.port));
    await peer.opened;
    peer.send(hello('station-1', [{ drive_id: '/dev/sr0', has_disc: false, busy: false }]));
    const welcome = await peer.next();
    expect(Welcome.parse(welcome)).toEqual(welcome);
    // A station the hub has never seen: nothing stored, no job numbers used.
    expect(welcome).toEqual({ kind: 'welcome', server: 'test-hub', version: '0.1.0-test', protocol: LINK_PROTOCOL.max, last_seq: 0, last_job_id: 0 });
    const agents = await getJson(`${fx.hub.base}/api/agents`);
    expect(agents.body).toEqual([{ agent_id: 'station-1', name: 'Station station-1', version: '0.1.0', state: 'online', last_seen: expect.any(String) }]);
    expect(AgentRecord.parse(agents.body[0])).toEqual(agents.body[0]);
  });

  it('accepts a lower-case bearer scheme', async () => {
    const peer = fx.track(agentPeer(fx.hub.port, { Authorization: `bearer ${TOKEN}` }));
    await peer.opened;
    peer.send(hello('station-1'));
    await expect(peer.next((m) => m.kind === 'welcome')).resolves.toBeDefined();
  });
});

describe('the handshake', () => {
  async function openAgent(): Promise<Peer> {
    const peer = fx.track(agentPeer(fx.hub.port));
    await peer.opened;
    return peer;
  }

  it('closes with 4001 and a reason naming the protocol when the ranges do not meet', async () => {
    const dashboard = await fx.dashboard();
    const peer = await openAgent();
    peer.send(hello('station-1', [], { protocol: { min: LINK_PROTOCOL.max + 1, max: LINK_PROTOCOL.max + 2 } }));
    const closed = await peer.closed;
    expect(closed.code).toBe(LinkCloseCode.ProtocolMismatch);
    expect(closed.reason).toMatch(/protocol/i);
    expect(closed.reason).toContain(`${LINK_PROTOCOL.max + 1}-${LINK_PROTOCOL.max + 2}`);
    expect(peer.frames).toEqual([]);
    // Dashboards learn why the station is not there (protocol 2: agent_update carries the refusal)...
    const refusal = await dashboard.next((m) => m.type === 'agent_update');
    expect(refusal).toMatchObject({ agent_id: 'station-1', state: 'offline', error: expect.stringMatching(/protocol/i), rev: expect.any(Number) });
    // ...but the refused agent never counted as online: the next agent_update is for the next one.
    await fx.agent('station-2');
    expect(await dashboard.next((m) => m.type === 'agent_update')).toMatchObject({ agent_id: 'station-2', state: 'online' });
    expect(dashboard.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'agent_update' && m.state === 'online').map((m) => m.agent_id))
      .toEqual(['station-2']);
    expect((await getJson(`${fx.hub.base}/api/agents`)).body.map((a: { agent_id: string }) => a.agent_id)).toEqual(['station-2']);
  });

  it('accepts an agent whose range includes the hub\'s', async () => {
    const peer = await openAgent();
    peer.send(hello('station-1', [], { protocol: { min: 1, max: 5 } }));
    expect(await peer.next()).toMatchObject({ kind: 'welcome', protocol: LINK_PROTOCOL.max });
  });

  it.each([
    ['an event before the hello', JSON.stringify(eventEnvelope(1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'ripping' }))],
    ['a command result before the hello', JSON.stringify({ kind: 'command_result', id: 'x', ok: true })],
    ['malformed JSON', '{"kind":"hello",'],
    ['a hello with a bad agent id', JSON.stringify(hello('../x'))],
    ['a hello with null for an optional drive field', JSON.stringify(hello('s', [{ drive_id: '/dev/sr0', has_disc: true, busy: false, volume_label: null } as never]))],
  ])('closes with 4002 on %s', async (_name, frame) => {
    const peer = await openAgent();
    peer.send(frame);
    const closed = await peer.closed;
    expect(closed.code).toBe(LinkCloseCode.BadHello);
    expect(closed.reason.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
  });

  it('closes with 4002 on a binary first frame', async () => {
    const peer = await openAgent();
    peer.ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect((await peer.closed).code).toBe(LinkCloseCode.BadHello);
  });
});

describe('after the hello', () => {
  it('closes with 4004, naming the field, on an invalid event, and reports the agent offline', async () => {
    const dashboard = await fx.dashboard();
    const agent = await fx.agent('station-1');
    await dashboard.next((m) => m.type === 'agent_update' && m.state === 'online');
    agent.send(eventEnvelope(1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'RIPPING' as never }));
    const closed = await agent.closed;
    expect(closed.code).toBe(LinkCloseCode.BadMessage);
    expect(closed.reason).toContain('event.state');
    expect(await dashboard.next((m) => m.type === 'agent_update')).toMatchObject({ agent_id: 'station-1', state: 'offline' });
    expect(dashboard.pending().filter((m) => (m as { type: string }).type === 'job_update')).toEqual([]);
  });

  it.each([
    ['malformed JSON', 'not json at all'],
    ['a second hello', JSON.stringify(hello('station-1'))],
    ['progress 101', JSON.stringify(eventEnvelope(1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'ripping', progress_percent: 101 }))],
    ['a fractional seq', JSON.stringify({ ...eventEnvelope(1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'ripping' }), seq: 1.5 })],
  ])('closes with 4004 on %s', async (_name, frame) => {
    const agent = await fx.agent('station-1');
    agent.send(frame);
    expect((await agent.closed).code).toBe(LinkCloseCode.BadMessage);
  });

  it('a second connection with the same agent id replaces the first, which gets 4003', async () => {
    const dashboard = await fx.dashboard();
    const first = await fx.agent('station-1');
    const second = await fx.agent('station-1');
    const closed = await first.closed;
    expect(closed.code).toBe(LinkCloseCode.Replaced);
    expect(closed.reason).toMatch(/replaced/i);
    // The newer connection works, and the agent stays online.
    const event = await fx.event(second, dashboard, 1, { type: 'job_update', agent_id: 'station-1', job_id: 4, state: 'identifying' });
    expect(event).toMatchObject({ job_id: 1, agent_id: 'station-1' });
    expect((await getJson(`${fx.hub.base}/api/agents`)).body).toMatchObject([{ agent_id: 'station-1', state: 'online' }]);
    await second.close();
    await dashboard.next((m) => m.type === 'agent_update' && m.state === 'offline');
    const updates = dashboard.frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'agent_update').map((m) => m.state);
    expect(updates).toEqual(['online', 'online', 'offline']);
  });
});

describe('protocol 2: acks, replay batches, welcome numbers, progress', () => {
  const job = (jobId: number, state: 'identifying' | 'ripping' | 'transcoding' | 'completed', extra: Record<string, unknown> = {}): StationEvent =>
    ({ type: 'job_update', agent_id: 'station-1', job_id: jobId, state, ...extra }) as StationEvent;

  function storedSeqs(): number[] {
    const db = new Database(join(fx.hub.dataDir, 'hub.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT seq FROM events WHERE agent_id = ? ORDER BY seq').all('station-1') as { seq: number }[]).map((r) => r.seq);
    } finally {
      db.close();
    }
  }

  it('acknowledges events only once they are committed, up to the newest seq', async () => {
    const agent = await fx.agent('station-1');
    agent.send(eventEnvelope(1, job(5, 'identifying')));
    agent.send(eventEnvelope(2, job(5, 'ripping')));
    agent.send(eventEnvelope(3, job(5, 'completed')));
    let ack = await agent.next<Ack>((m) => m.kind === 'ack');
    // Whatever an ack says is already in the database, as another connection sees it.
    expect(storedSeqs()).toEqual(expect.arrayContaining(range(1, ack.seq)));
    while (ack.seq < 3) {
      ack = await agent.next<Ack>((m) => m.kind === 'ack');
      expect(storedSeqs()).toEqual(expect.arrayContaining(range(1, ack.seq)));
    }
    expect(ack).toEqual({ kind: 'ack', seq: 3 });
    expect(Ack.parse(ack)).toEqual(ack);
  });

  it('applies a replay batch in order, skips what it already has, and acknowledges the whole batch', async () => {
    const dashboard = await fx.dashboard();
    const agent = await fx.agent('station-1');
    await fx.event(agent, dashboard, 1, job(1, 'identifying'));
    await fx.event(agent, dashboard, 2, job(1, 'ripping'));
    await agent.next((m) => m.kind === 'ack' && m.seq === 2);
    agent.send({
      kind: 'events',
      events: [1, 2, 3, 4].map((seq) => ({ seq, at: 1_700_000_000_000 + seq, event: [job(1, 'identifying'), job(1, 'ripping'), job(1, 'completed'), job(2, 'identifying')][seq - 1]! })),
    });
    expect(await agent.next((m) => m.kind === 'ack' && (m.seq as number) >= 4)).toEqual({ kind: 'ack', seq: 4 });
    const forwarded = [await dashboard.next((m) => m.type === 'job_update'), await dashboard.next((m) => m.type === 'job_update')];
    expect(forwarded).toMatchObject([{ job_id: 1, state: 'completed' }, { job_id: 2, state: 'identifying' }]);
    expect(storedSeqs()).toEqual([1, 2, 3, 4]);
    // Only 3 and 4 were new: revisions 1 (online) .. 5.
    expect(forwarded.map((m) => m.rev)).toEqual([4, 5]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(dashboard.pending().filter((m) => (m as { type: string }).type === 'job_update')).toEqual([]);
  });

  it('welcomes a returning station with its last stored seq and highest job number', async () => {
    const first = await fx.agent('station-1');
    first.send(eventEnvelope(1, job(9, 'identifying')));
    first.send(eventEnvelope(2, job(4, 'identifying')));
    first.send(eventEnvelope(3, job(4, 'completed')));
    await first.next((m) => m.kind === 'ack' && m.seq === 3);
    await first.close();
    const { welcome } = await fx.agentWelcomed('station-1');
    expect(welcome).toMatchObject({ kind: 'welcome', last_seq: 3, last_job_id: 9 });
    // Another station's numbers are its own.
    expect((await fx.agentWelcomed('station-2')).welcome).toMatchObject({ last_seq: 0, last_job_id: 0 });
  });

  it('forwards progress with the current revision, and drops stale progress and progress for another state', async () => {
    const dashboard = await fx.dashboard();
    const agent = await fx.agent('station-1');
    await fx.event(agent, dashboard, 1, job(1, 'ripping'));
    const current = await fx.event(agent, dashboard, 2, { type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'ripping' });
    const progress = (afterSeq: number, event: StationEvent) => ({ kind: 'progress', after_seq: afterSeq, at: Date.now(), event });
    agent.send(progress(1, job(1, 'ripping', { progress_percent: 11 })));
    agent.send(progress(3, job(1, 'ripping', { progress_percent: 12 })));
    agent.send(progress(2, job(1, 'transcoding', { progress_percent: 13 })));
    agent.send(progress(2, { type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'completed', match_progress: 14 }));
    agent.send(progress(2, job(1, 'ripping', { progress_percent: 15 })));
    const forwarded = await dashboard.next((m) => m.type === 'job_update');
    expect(forwarded).toEqual({ type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'ripping', progress_percent: 15, rev: current.rev });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(dashboard.pending().filter((m) => (m as { type: string }).type !== 'agent_update')).toEqual([]);
    // No ack for progress: it has no seq.
    expect(agent.pending().filter((m) => (m as { kind: string }).kind === 'ack' && (m as { seq: number }).seq > 2)).toEqual([]);
    expect((await getJson(`${fx.hub.base}/api/jobs/1`)).body).toMatchObject({ state: 'ripping', progress_percent: 15 });
    expect(storedSeqs()).toEqual([1, 2]);
  });
});

describe('AgentServer with short timers', () => {
  let dir: string;
  let db: Db;
  let store: StationStore;
  let http: Server;
  let server: AgentServer;
  let port: number;
  let states: [string, boolean][];
  let stateWaiters: (() => void)[];

  async function startServer(options: { helloTimeoutMs?: number; heartbeatMs?: number; missedHeartbeats?: number } = {}): Promise<void> {
    server = new AgentServer({
      registry: new StationRegistry(db, TOKEN), maxMessagesPerSecond: 2000, serverName: 'unit-hub', version: '1', heartbeatMs: options.heartbeatMs ?? 60_000,
      missedHeartbeats: options.missedHeartbeats ?? 2,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000, store, logger: silentLogger,
      onEvent: () => undefined,
      onAgentState: (agentHello: AgentHello, online: boolean) => {
        states.push([agentHello.agent_id, online]);
        for (const wake of stateWaiters.splice(0)) wake();
      },
      // These timers' tests hand off no titles and hold no tasks.
      onTranscodeRequest: () => undefined,
      onTaskReport: () => undefined,
      onSourceUnavailable: () => undefined,
    });
    server.start();
    http = createServer();
    http.on('upgrade', (request, socket, head) => server.handleUpgrade(request, socket, head));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  function stateCount(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => { if (states.length >= n) resolve(); else stateWaiters.push(check); };
      check();
    });
  }

  async function linkAgent(): Promise<Peer> {
    const peer = fx.track(new Peer(`ws://127.0.0.1:${port}/agent`, { Authorization: `Bearer ${TOKEN}` }, HubMessage));
    await peer.opened;
    return peer;
  }

  beforeEach(() => {
    dir = tempDir('discbridge-link-');
    db = openDatabase(join(dir, 'hub.sqlite'));
    store = new StationStore(db, silentLogger, 10);
    store.start();
    states = [];
    stateWaiters = [];
  });

  afterEach(async () => {
    await server.stop();
    await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    store.stop();
    db.close();
    removeDir(dir);
  });

  it('closes with 4002 a socket that sends no hello in time', async () => {
    await startServer({ helloTimeoutMs: 150 });
    const peer = await linkAgent();
    const closed = await peer.closed;
    expect(closed).toEqual({ code: LinkCloseCode.BadHello, reason: 'Expected hello' });
    expect(states).toEqual([]);
  });

  it('terminates an agent that stops answering pings, and reports it offline', async () => {
    await startServer({ heartbeatMs: 100 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { Authorization: `Bearer ${TOKEN}` }, autoPong: false });
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify(hello('mute')));
    await stateCount(1);
    expect(server.isOnline('mute')).toBe(true);
    expect(await closed).toBe(1006);
    await stateCount(2);
    expect(states).toEqual([['mute', true], ['mute', false]]);
    expect(server.isOnline('mute')).toBe(false);
  });

  it('drops a station only after it left missedHeartbeats pings in a row unanswered', async () => {
    await startServer({ heartbeatMs: 100, missedHeartbeats: 4 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { Authorization: `Bearer ${TOKEN}` }, autoPong: false });
    ws.on('error', () => undefined);
    let pings = 0;
    ws.on('ping', () => { pings++; });
    const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));
    await new Promise((resolve) => ws.once('open', resolve));
    const start = Date.now();
    ws.send(JSON.stringify(hello('mute')));
    await stateCount(1);
    const gone = await closed;
    // Four pings went unanswered before the next tick terminated it: 4-5 intervals, not 1-2. (A fifth ping is
    // possible only if the hello arrived after the first ping and reset the count.)
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(pings).toBeLessThanOrEqual(5);
    expect(gone - start).toBeGreaterThanOrEqual(380);
    await stateCount(2);
    expect(states).toEqual([['mute', true], ['mute', false]]);
  });

  it('keeps a station that answers pings, or that keeps talking, however many intervals pass', async () => {
    await startServer({ heartbeatMs: 50, missedHeartbeats: 1 });
    const answering = await linkAgent();
    answering.send(hello('answering'));
    await answering.next((m) => m.kind === 'welcome');
    const talking = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { Authorization: `Bearer ${TOKEN}` }, autoPong: false });
    talking.on('error', () => undefined);
    await new Promise((resolve) => talking.once('open', resolve));
    talking.send(JSON.stringify(hello('talking')));
    // It never answers a ping, but a message between two pings proves it is there.
    const chatter = setInterval(() => talking.send(JSON.stringify({ kind: 'command_result', id: 'none', ok: true })), 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(server.isOnline('answering')).toBe(true);
      expect(server.isOnline('talking')).toBe(true);
      expect(states).toEqual([['answering', true], ['talking', true]]);
    } finally {
      clearInterval(chatter);
      talking.terminate();
    }
  });

  it('sends a command and resolves with the agent\'s answer; an unanswered one times out; an offline agent is refused', async () => {
    await startServer();
    await expect(server.sendCommand('station-1', { name: 'eject', drive_id: '/dev/sr0' })).rejects.toBeInstanceOf(AgentUnavailableError);
    const peer = await linkAgent();
    peer.send(hello('station-1'));
    await peer.next((m) => m.kind === 'welcome');

    const answered = server.sendCommand('station-1', { name: 'cancel', job_id: 3 }, 5000);
    const command = await peer.next<HubCommand>((m) => m.kind === 'command');
    expect(command.command).toEqual({ name: 'cancel', job_id: 3 });
    // An answer with an unknown id is ignored.
    peer.send({ kind: 'command_result', id: 'someone-else', ok: true });
    peer.send({ kind: 'command_result', id: command.id, ok: false, error: 'Drive is busy' });
    expect(await answered).toEqual({ kind: 'command_result', id: command.id, ok: false, error: 'Drive is busy' });

    await expect(server.sendCommand('station-1', { name: 'eject', drive_id: '/dev/sr0' }, 100)).rejects.toBeInstanceOf(CommandTimeoutError);
    await peer.ping();
  });

  it('settles a pending command as soon as its agent disconnects', async () => {
    await startServer();
    const peer = await linkAgent();
    peer.send(hello('station-1'));
    await peer.next((m) => m.kind === 'welcome');
    let settled = false;
    const pending = server.sendCommand('station-1', { name: 'eject', drive_id: '/dev/sr0' }, 3000)
      .finally(() => { settled = true; });
    pending.catch(() => undefined);
    await peer.next((m) => m.kind === 'command');
    await peer.close();
    await stateCount(2);
    // Let any immediate settlement run; the command timeout is 3 s away.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(true);
  });
});
