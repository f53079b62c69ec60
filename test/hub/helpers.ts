// Small helpers for the hub tests: a real Hub on 127.0.0.1 port 0 over a temp data dir, and a WebSocket peer that
// queues every frame from the moment it is created (so nothing sent right after the upgrade is missed) and checks
// each frame against the schema of its side of the protocol.
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import type { z } from 'zod';
import { Hub, type HubConfig } from '../../hub/hub.js';
import {
  DASHBOARD_PATH, DashboardMessage, HubMessage, LINK_PATH, LINK_PROTOCOL,
  type AgentHello, type AgentMessage, type StationEvent, type Welcome,
} from '../../shared/index.js';

export const TOKEN = 'station-token-for-tests';
export const silentLogger = pino({ level: 'silent' });

export function tempDir(prefix = 'discbridge-hub-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface TestHub {
  hub: Hub;
  dataDir: string;
  port: number;
  /** http://127.0.0.1:port */
  base: string;
}

export async function startHub(dataDir = tempDir(), extra: Partial<HubConfig> = {}): Promise<TestHub> {
  const hub = new Hub({
    host: '127.0.0.1', port: 0, dataDir, sharedToken: TOKEN, serverName: 'test-hub', version: '0.1.0-test', heartbeatMs: 60_000,
    missedHeartbeats: 2, viewRequiresLogin: false, maxConnections: 500, maxConnectionsPerAddress: 50, maxStationMessagesPerSecond: 2000, leaseMs: 60_000,
    ...extra,
  }, silentLogger);
  await hub.start();
  return { hub, dataDir, port: hub.port, base: `http://127.0.0.1:${hub.port}` };
}

export interface Closed { code: number; reason: string }

/** A WebSocket client that records every frame (raw and parsed) and every frame its schema rejects. */
export class Peer {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  /** Frames that were not JSON or did not match the schema: must stay empty. */
  readonly invalid: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  /** Set when the server refused the upgrade with a plain HTTP answer. */
  readonly refused: Promise<{ status: number; body: string }>;
  private readonly queue: unknown[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(url: string, headers: Record<string, string> = {}, private readonly schema?: z.ZodType) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('error', () => { /* the close or refusal is what the tests look at */ });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '<binary>' : data.toString();
      this.frames.push(text);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        this.invalid.push(text);
        return this.wake();
      }
      if (this.schema && !this.schema.safeParse(value).success) this.invalid.push(text);
      this.queue.push(value);
      this.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => reject(new Error('socket closed before it opened')));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    this.refused = new Promise((resolve) => {
      this.ws.once('unexpected-response', (_request, response: IncomingMessage) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => { body += chunk; });
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body });
          this.ws.terminate();
        });
      });
    });
  }

  /** Resolves with the first queued message matching `predicate` (removing it); rejects on timeout or invalid frame. */
  next<T = Record<string, unknown>>(predicate: (message: T) => boolean = () => true, timeoutMs = 3000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.invalid.length > 0) {
          finish();
          reject(new Error(`received a frame that does not match the protocol: ${this.invalid[0]}`));
          return true;
        }
        const index = this.queue.findIndex((message) => predicate(message as T));
        if (index >= 0) {
          finish();
          resolve(this.queue.splice(index, 1)[0] as T);
          return true;
        }
        if (this.ws.readyState === WebSocket.CLOSED) {
          finish();
          reject(new Error('socket closed while waiting for a message'));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching message within ${timeoutMs} ms; queued: ${JSON.stringify(this.queue).slice(0, 500)}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => { check(); };
      if (!check()) this.waiters.add(waiter);
    });
  }

  /** Messages received and not yet taken by next(). */
  pending(): unknown[] {
    return [...this.queue];
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Proves the socket is open and answered by the server. */
  async ping(timeoutMs = 3000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no pong')), timeoutMs);
      this.ws.once('pong', () => { clearTimeout(timer); resolve(); });
      this.ws.ping();
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(1000);
    await this.closed;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function dashboardPeer(port: number): Peer {
  return new Peer(`ws://127.0.0.1:${port}${DASHBOARD_PATH}`, {}, DashboardMessage);
}

/** A dashboard client whose hello has arrived. */
export async function connectDashboard(port: number): Promise<Peer> {
  const peer = dashboardPeer(port);
  await peer.next((m) => m.type === 'hello');
  return peer;
}

export function agentPeer(port: number, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }): Peer {
  return new Peer(`ws://127.0.0.1:${port}${LINK_PATH}`, headers, HubMessage);
}

export function hello(agentId: string, drives: AgentHello['drives'] = [], extra: Partial<AgentHello> = {}): AgentHello {
  return { kind: 'hello', agent_id: agentId, name: `Station ${agentId}`, version: '0.1.0', protocol: { ...LINK_PROTOCOL }, drives, ...extra };
}

/** An agent socket that said hello and got its welcome. */
export async function connectAgent(port: number, helloMessage: AgentHello, token = TOKEN): Promise<Peer> {
  const peer = agentPeer(port, { Authorization: `Bearer ${token}` });
  await peer.opened;
  peer.send(helloMessage);
  await peer.next((m) => m.kind === 'welcome');
  return peer;
}

export function eventEnvelope(seq: number, event: StationEvent, at = 1_700_000_000_000 + seq * 1000): AgentMessage {
  return { kind: 'event', seq, at, event };
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** One hub per test, plus every socket the test opened; stop() closes them all and checks no frame broke the protocol. */
export class HubFixture {
  private current: TestHub | undefined;
  private readonly peers: Peer[] = [];

  get hub(): TestHub {
    if (!this.current) throw new Error('the hub is not started');
    return this.current;
  }

  async start(dataDir?: string, extra: Partial<HubConfig> = {}): Promise<TestHub> {
    this.current = await startHub(dataDir, extra);
    return this.current;
  }

  track(peer: Peer): Peer {
    this.peers.push(peer);
    return peer;
  }

  async dashboard(): Promise<Peer> {
    const peer = this.track(dashboardPeer(this.hub.port));
    await peer.next((m) => m.type === 'hello');
    return peer;
  }

  async agent(agentId: string, drives: AgentHello['drives'] = []): Promise<Peer> {
    return (await this.agentWelcomed(agentId, drives)).peer;
  }

  /** Like agent(), with the welcome it got (protocol 2: the hub's last_seq and last_job_id for it). */
  async agentWelcomed(agentId: string, drives: AgentHello['drives'] = []): Promise<{ peer: Peer; welcome: Welcome }> {
    const peer = this.track(agentPeer(this.hub.port));
    await peer.opened;
    peer.send(hello(agentId, drives));
    const welcome = await peer.next<Welcome>((m) => m.kind === 'welcome');
    return { peer, welcome };
  }

  /** Sends a station event and waits until `dashboard` has it, so the hub has applied it. */
  async event<T extends Record<string, unknown>>(agent: Peer, dashboard: Peer, seq: number, event: StationEvent): Promise<T> {
    agent.send(eventEnvelope(seq, event));
    return dashboard.next<T>((m) => m.type === event.type);
  }

  /** Stops the hub and starts a new one on the same data dir. */
  async restart(): Promise<TestHub> {
    const { hub, dataDir } = this.hub;
    this.current = undefined;
    await hub.stop();
    return this.start(dataDir);
  }

  async stop(): Promise<void> {
    const invalid = this.peers.flatMap((peer) => peer.invalid);
    await Promise.all(this.peers.splice(0).map((peer) => peer.close()));
    if (this.current) {
      await this.current.hub.stop();
      removeDir(this.current.dataDir);
      this.current = undefined;
    }
    if (invalid.length > 0) throw new Error(`frames that break the protocol: ${invalid.join(' | ').slice(0, 1000)}`);
  }
}
