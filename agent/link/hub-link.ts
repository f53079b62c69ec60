// The agent's connection to its hub. Every event is first written to the agent's outbox (AgentStore); the link
// sends it when connected, and on each (re)connect replays whatever the hub says it has not stored, in order, then
// the latest progress of each running job. The hub's acknowledgements trim the outbox, so a hub restart, a dropped
// network or an agent restart loses nothing and duplicates nothing.
// It reconnects by itself (backoff with full jitter) and treats a hub that has been silent for two heartbeat
// intervals as gone, since a dead network path often never closes the socket.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  HubMessage, LINK_PATH, LinkCloseCode, decodeMessage,
  type AgentHello, type AgentMessage, type CommandResult, type HubCommand, type LinkEvent, type ResultReady, type SourceUnavailable,
  type SourceWanted, type TaskOffer, type TaskReport, type TaskVerdict, type Welcome,
} from '../../shared/index.js';
import type { AgentStore } from '../store/agent-store.js';
import { Backoff } from './backoff.js';

export interface LinkTls {
  /** PEM file of the CA, or of the hub's self-signed certificate, to trust. */
  ca?: string;
  /** The SHA-256 fingerprint the hub's certificate must have. */
  pin?: string;
}

export interface HubLinkOptions {
  url: string;
  token: string;
  tls: LinkTls;
  /** The hello's description of the station; the link adds what its outbox knows (instance, last sequence, size). */
  hello: () => Omit<AgentHello, 'instance' | 'last_seq' | 'outbox_events'>;
  store: AgentStore;
  heartbeatMs: number;
  logger: Logger;
}

export interface HubLinkEvents {
  command: [HubCommand];
  taskOffer: [TaskOffer];
  taskVerdict: [TaskVerdict];
  sourceWanted: [SourceWanted];
  resultReady: [ResultReady];
  connected: [];
}

/** Events per replay message: big enough to catch up fast, small enough to stay far below the hub's frame limit. */
const REPLAY_BATCH = 200;

export class HubLink extends EventEmitter<HubLinkEvents> {
  private socket: WebSocket | undefined;
  /** Connected, welcomed and caught up: new events go out as they happen. */
  private live = false;
  private stopped = true;
  // Capped at 10 s: on a LAN a hub is back within seconds, and waiting longer only delays the replay.
  private readonly backoff = new Backoff(500, 10_000);
  private reconnectTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HubLinkOptions) {
    super();
  }

  get isConnected(): boolean {
    return this.live;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.silenceTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1001, 'Agent is shutting down');
      setTimeout(() => { socket.terminate(); resolve(); }, 2000).unref();
    });
  }

  /**
   * Records a station event in the outbox and sends it if the hub is there. `progressOnly` marks an update that
   * only moves percentages, speed or ETA: the newest one per job and title is all that needs to arrive.
   */
  send(event: LinkEvent, progressOnly = false): void {
    const message = this.options.store.record(event, progressOnly);
    if (this.live) this.socket?.send(JSON.stringify(message satisfies AgentMessage));
  }

  reply(result: CommandResult): void {
    if (this.live) this.socket?.send(JSON.stringify(result satisfies AgentMessage));
  }

  /** Sends a word on a transcode task; false when the hub is not there (it is said again later). */
  report(report: TaskReport | SourceUnavailable): boolean {
    if (!this.live) return false;
    this.socket?.send(JSON.stringify(report satisfies AgentMessage));
    return true;
  }

  private connect(): void {
    const url = linkUrl(this.options.url);
    const log = this.options.logger;
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: 10_000,
      maxPayload: 1024 * 1024,
      ...tlsClientOptions(this.options.tls),
    });
    this.socket = socket;
    this.live = false;

    socket.on('open', () => {
      this.heardFromHub();
      const { store } = this.options;
      socket.send(JSON.stringify({ ...this.options.hello(), instance: store.instanceId(), last_seq: store.lastSeq(), outbox_events: store.outboxSize() } satisfies AgentMessage));
    });
    socket.on('ping', () => this.heardFromHub());
    socket.on('message', (data) => {
      this.heardFromHub();
      const decoded = decodeMessage(HubMessage, data.toString());
      if (!decoded.ok) {
        log.warn({ reason: decoded.error }, 'Ignoring an invalid message from the hub');
        return;
      }
      const message = decoded.value;
      switch (message.kind) {
        case 'welcome':
          this.catchUp(socket, message, url);
          break;
        case 'ack':
          this.options.store.acknowledge(message.seq);
          break;
        case 'command':
          this.emit('command', message);
          break;
        case 'task_offer':
          this.emit('taskOffer', message);
          break;
        case 'task_verdict':
          this.emit('taskVerdict', message);
          break;
        case 'source_wanted':
          this.emit('sourceWanted', message);
          break;
        case 'result_ready':
          this.emit('resultReady', message);
          break;
      }
    });
    socket.on('unexpected-response', (_request, response) => {
      const reason = response.statusCode === 401
        ? 'The hub refused this station\'s token: check DISCBRIDGE_TOKEN'
        : `The hub answered HTTP ${response.statusCode} instead of opening the link`;
      log.error({ hub: url, status: response.statusCode }, reason);
      socket.terminate();
    });
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (/CERT|SELF_SIGNED|TLS|SSL/.test(code) || /certificate/i.test(error.message)) {
        log.error({ hub: url, err: error.message }, 'Cannot trust the hub\'s TLS certificate: set DISCBRIDGE_TLS_CA (and DISCBRIDGE_TLS_PIN) to the hub\'s certificate');
      } else {
        log.debug({ hub: url, err: error.message }, 'Link error');
      }
    });
    socket.on('close', (code, reasonBuffer) => {
      clearTimeout(this.silenceTimer);
      const wasLive = this.live;
      this.live = false;
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) return;
      const reason = reasonBuffer.toString();
      const delay = this.backoff.next();
      if (code === LinkCloseCode.ProtocolMismatch) log.error({ reason, retryInMs: delay }, 'The hub speaks another protocol version; upgrade the older side');
      else if (wasLive) log.warn({ code, reason, retryInMs: delay, unsent: this.options.store.outboxSize() }, 'Lost the hub; events wait in the outbox while reconnecting');
      else log.warn({ hub: url, retryInMs: delay }, 'Cannot reach the hub; retrying');
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  /** After the welcome: replay what the hub is missing, in order, then the newest progress, then go live. */
  private catchUp(socket: WebSocket, welcome: Welcome, url: string): void {
    const { store, logger } = this.options;
    if (store.catchUp(welcome.last_seq, welcome.last_job_id)) {
      logger.warn({ hubLastSeq: welcome.last_seq }, 'The hub knows more of this station than its own data folder does (was it wiped?); continuing after the hub\'s numbers');
    }
    let after = welcome.last_seq;
    let replayed = 0;
    for (;;) {
      const events = store.eventsAfter(after, REPLAY_BATCH);
      if (events.length === 0) break;
      if ((events[0] as { seq: number }).seq !== after + 1) {
        logger.warn({ from: after + 1, to: (events[0] as { seq: number }).seq - 1 }, 'Events the hub never stored are no longer in the outbox');
      }
      socket.send(JSON.stringify({ kind: 'events', events: events.map(({ seq, at, event }) => ({ seq, at, event })) } satisfies AgentMessage));
      after = (events.at(-1) as { seq: number }).seq;
      replayed += events.length;
    }
    for (const progress of store.latestProgress()) socket.send(JSON.stringify(progress satisfies AgentMessage));
    this.live = true;
    this.backoff.reset();
    logger.info({ hub: url, server: welcome.server, version: welcome.version, protocol: welcome.protocol, replayed }, 'Connected to the hub');
    this.emit('connected');
  }

  private heardFromHub(): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.options.logger.warn('The hub has been silent for two heartbeat intervals; reconnecting');
      this.socket?.terminate();
    }, this.options.heartbeatMs * 2 + 1000);
  }
}

/**
 * What a TLS client of the hub (the link, and the transfers of streamed tasks) trusts: the CA given, and the pinned
 * certificate, checked after the chain and before any byte of the request (the token) is sent.
 */
export function tlsClientOptions({ ca, pin }: LinkTls): { ca?: Buffer; checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined } {
  return {
    ...(ca ? { ca: readFileSync(ca) } : {}),
    ...(pin ? {
      checkServerIdentity: (host: string, cert: PeerCertificate) =>
        checkServerIdentity(host, cert) ?? (cert.fingerprint256 === pin ? undefined : new Error(`the hub's certificate is not the one pinned (${cert.fingerprint256})`)),
    } : {}),
  };
}

/** The link's URL from the configured hub URL: ws://host:8000 becomes ws://host:8000/agent. */
export function linkUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = LINK_PATH;
  return url.toString();
}
