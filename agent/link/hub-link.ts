// The agent's connection to its hub: says hello, sends station events in order, receives commands.
// It reconnects by itself (backoff with full jitter) and treats a hub that has been silent for two heartbeat
// intervals as gone, since a dead network path often never closes the socket.
// Events wait in memory while the hub is away, oldest dropped first past the limit.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  HubMessage, LINK_PATH, LinkCloseCode, decodeMessage,
  type AgentHello, type AgentMessage, type CommandResult, type HubCommand, type StationEvent,
} from '../../shared/index.js';
import { Backoff } from './backoff.js';

export interface HubLinkOptions {
  url: string;
  token: string;
  hello: () => AgentHello;
  nextSeq: () => number;
  heartbeatMs: number;
  maxQueued: number;
  logger: Logger;
}

export interface HubLinkEvents {
  command: [HubCommand];
  connected: [];
}

export class HubLink extends EventEmitter<HubLinkEvents> {
  private socket: WebSocket | undefined;
  private welcomed = false;
  private stopped = true;
  private readonly queue: string[] = [];
  private readonly backoff = new Backoff(500, 30_000);
  private reconnectTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private droppedWhileAway = 0;

  constructor(private readonly options: HubLinkOptions) {
    super();
  }

  get isConnected(): boolean {
    return this.welcomed;
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

  /** Queues a station event for the hub, numbered in the order it happened. */
  send(event: StationEvent): void {
    const message: AgentMessage = { kind: 'event', seq: this.options.nextSeq(), at: Date.now(), event };
    const frame = JSON.stringify(message);
    if (this.welcomed && this.queue.length === 0) {
      this.socket?.send(frame);
      return;
    }
    this.queue.push(frame);
    if (this.queue.length > this.options.maxQueued) {
      this.queue.shift();
      this.droppedWhileAway++;
    }
  }

  reply(result: CommandResult): void {
    if (this.welcomed) this.socket?.send(JSON.stringify(result satisfies AgentMessage));
  }

  private connect(): void {
    const url = linkUrl(this.options.url);
    const log = this.options.logger;
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: 10_000,
      maxPayload: 1024 * 1024,
    });
    this.socket = socket;
    this.welcomed = false;

    socket.on('open', () => {
      this.heardFromHub();
      socket.send(JSON.stringify(this.options.hello() satisfies AgentMessage));
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
      if (message.kind === 'welcome') {
        this.welcomed = true;
        this.backoff.reset();
        log.info({ hub: url, server: message.server, version: message.version, protocol: message.protocol }, 'Connected to the hub');
        if (this.droppedWhileAway > 0) {
          log.warn({ dropped: this.droppedWhileAway }, 'The hub was away long enough that the oldest events were dropped');
          this.droppedWhileAway = 0;
        }
        for (const frame of this.queue.splice(0)) socket.send(frame);
        this.emit('connected');
      } else {
        this.emit('command', message);
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
      log.debug({ hub: url, err: error.message }, 'Link error');
    });
    socket.on('close', (code, reasonBuffer) => {
      clearTimeout(this.silenceTimer);
      const wasWelcomed = this.welcomed;
      this.welcomed = false;
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) return;
      const reason = reasonBuffer.toString();
      const delay = this.backoff.next();
      if (code === LinkCloseCode.ProtocolMismatch) log.error({ reason }, 'The hub speaks another protocol version; upgrade the older side');
      else if (wasWelcomed) log.warn({ code, reason, retryInMs: delay }, 'Lost the hub; reconnecting');
      else log.warn({ hub: url, retryInMs: delay }, 'Cannot reach the hub; retrying');
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private heardFromHub(): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.options.logger.warn('The hub has been silent for two heartbeat intervals; reconnecting');
      this.socket?.terminate();
    }, this.options.heartbeatMs * 2 + 1000);
  }
}

/** The link's URL from the configured hub URL: ws://host:8000 becomes ws://host:8000/agent. */
export function linkUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = LINK_PATH;
  return url.toString();
}
