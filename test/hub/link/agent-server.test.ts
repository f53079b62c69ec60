// The agent socket at /agent on a real Hub: token check on the upgrade, hello/welcome, the close codes of the link,
// replacement of an older connection. Then AgentServer alone with short timers: hello timeout, heartbeat, command timeout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentRecord, HubCommand, HubMessage, LINK_PROTOCOL, LinkCloseCode, Welcome, type AgentHello } from '../../../shared/index.js';
import { AgentServer, AgentUnavailableError, CommandTimeoutError } from '../../../hub/link/agent-server.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { StationStore } from '../../../hub/store/station-store.js';
import {
  HubFixture, Peer, TOKEN, agentPeer, eventEnvelope, getJson, hello, removeDir, silentLogger, tempDir,
} from '../helpers.js';

const fx = new HubFixture();
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
    expect(welcome).toEqual({ kind: 'welcome', server: 'test-hub', version: '0.1.0-test', protocol: LINK_PROTOCOL.max });
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
    peer.send(hello('station-1', [], { protocol: { min: 2, max: 3 } }));
    const closed = await peer.closed;
    expect(closed.code).toBe(LinkCloseCode.ProtocolMismatch);
    expect(closed.reason).toMatch(/protocol/i);
    expect(closed.reason).toContain('2-3');
    expect(peer.frames).toEqual([]);
    // The refused agent never counted as online: the first agent_update is for the next one.
    await fx.agent('station-2');
    expect(await dashboard.next((m) => m.type === 'agent_update')).toMatchObject({ agent_id: 'station-2', state: 'online' });
    expect((await getJson(`${fx.hub.base}/api/agents`)).body.map((a: { agent_id: string }) => a.agent_id)).toEqual(['station-2']);
  });

  it('accepts an agent whose range includes the hub\'s', async () => {
    const peer = await openAgent();
    peer.send(hello('station-1', [], { protocol: { min: 1, max: 5 } }));
    expect(await peer.next()).toMatchObject({ kind: 'welcome', protocol: 1 });
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

describe('AgentServer with short timers', () => {
  let dir: string;
  let db: Db;
  let store: StationStore;
  let http: Server;
  let server: AgentServer;
  let port: number;
  let states: [string, boolean][];
  let stateWaiters: (() => void)[];

  async function startServer(options: { helloTimeoutMs?: number; heartbeatMs?: number } = {}): Promise<void> {
    server = new AgentServer({
      token: TOKEN, serverName: 'unit-hub', version: '1', heartbeatMs: options.heartbeatMs ?? 60_000,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000, store, logger: silentLogger,
      onEvent: () => undefined,
      onAgentState: (agentHello: AgentHello, online: boolean) => {
        states.push([agentHello.agent_id, online]);
        for (const wake of stateWaiters.splice(0)) wake();
      },
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
