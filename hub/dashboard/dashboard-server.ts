// The dashboard socket at /ws: greets each client with a hello, then pushes every event as it happens.
// Each event is serialized once, whatever the number of clients. A client that falls behind (its send buffer past
// the soft limit) gets state changes as usual but only the newest progress per job and title until it catches up;
// past the hard limit, or behind for longer than the stuck time, it is dropped. Fast clients never wait for it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_PROTOCOL, type DashboardMessage } from '../../shared/index.js';
import { originAllowed, type AccessControl } from '../auth/access.js';
import { TokenBucket } from '../auth/rate-limit.js';
import { refuseUpgrade } from '../http/auth.js';
import { closeFirmly, startHeartbeat, trackHeartbeat } from '../http/heartbeat.js';

export interface DashboardServerOptions {
  serverName: string;
  version: string;
  heartbeatMs: number;
  missedHeartbeats: number;
  /** Bytes queued for a client beyond which it gets only the newest progress. */
  softBufferBytes: number;
  /** Bytes queued for a client beyond which it is dropped. */
  hardBufferBytes: number;
  /** How long a client may stay past the soft limit before it is dropped. */
  stuckMs: number;
  /** The hub's revision now, for the hello. */
  revision: () => number;
  access: AccessControl;
  logger: Logger;
}

/** A dashboard has little to say: a few messages a second is plenty. */
const MESSAGES_PER_SECOND = 5;

interface SlowClient {
  since: number;
  /** The newest progress frame per job or title, waiting for the client to catch up. */
  progress: Map<string, string>;
}

export class DashboardServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly slow = new Map<WebSocket, SlowClient>();
  private stopHeartbeat: (() => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private droppedClients = 0;

  constructor(private readonly options: DashboardServerOptions) {}

  start(): void {
    this.wss.on('connection', (socket, request) => this.onConnection(socket, request));
    this.stopHeartbeat = startHeartbeat(this.wss, this.options.heartbeatMs, this.options.missedHeartbeats,
      (socket) => this.drop(socket, `it answered none of the last ${this.options.missedHeartbeats} pings`));
    this.drainTimer = setInterval(() => this.serveSlowClients(), 100);
    this.drainTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopHeartbeat?.();
    clearInterval(this.drainTimer);
    for (const socket of this.wss.clients) socket.close(1001, 'Hub is shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Counts for /health: connected clients, those being sent only the newest progress, and those dropped so far. */
  stats(): { clients: number; slow: number; dropped: number } {
    return { clients: this.wss.clients.size, slow: this.slow.size, dropped: this.droppedClients };
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!originAllowed(request)) {
      this.options.logger.warn({ peer: request.socket.remoteAddress, origin: request.headers.origin }, 'Refused a dashboard from another origin');
      refuseUpgrade(socket, 403, 'Cross-origin connection refused');
      return;
    }
    if (!this.options.access.canView(request)) {
      refuseUpgrade(socket, 401, 'Sign in to view this hub');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  /**
   * Sends a message to every client. `key` names what it is about (a job, a title); with `progressOnly`, a slow
   * client may receive only the newest such update, and a state change drops the older progress it would overtake.
   */
  broadcast(message: DashboardMessage, key?: string, progressOnly = false): void {
    if (this.wss.clients.size === 0) return;
    const frame = JSON.stringify(message);
    for (const socket of this.wss.clients) this.deliver(socket, frame, key, progressOnly);
  }

  private deliver(socket: WebSocket, frame: string, key: string | undefined, progressOnly: boolean): void {
    if (socket.readyState !== socket.OPEN) return;
    const slow = this.slow.get(socket);
    if (slow && key) {
      if (progressOnly) {
        slow.progress.set(key, frame);
        return;
      }
      slow.progress.delete(key);
    }
    this.send(socket, frame);
  }

  private send(socket: WebSocket, frame: string): void {
    if (socket.bufferedAmount > this.options.hardBufferBytes) {
      this.drop(socket, 'its send buffer passed the hard limit');
      return;
    }
    socket.send(frame);
    if (!this.slow.has(socket) && socket.bufferedAmount > this.options.softBufferBytes) {
      this.slow.set(socket, { since: Date.now(), progress: new Map() });
      this.options.logger.info({ buffered: socket.bufferedAmount }, 'A dashboard client is falling behind; sending it only the newest progress');
    }
  }

  /** Gives slow clients that caught up their pending progress, and drops those stuck for too long. */
  private serveSlowClients(): void {
    for (const [socket, slow] of this.slow) {
      if (socket.readyState !== socket.OPEN) {
        this.slow.delete(socket);
      } else if (socket.bufferedAmount <= this.options.softBufferBytes) {
        this.slow.delete(socket);
        for (const frame of slow.progress.values()) this.send(socket, frame);
      } else if (Date.now() - slow.since > this.options.stuckMs) {
        this.drop(socket, `it read nothing for ${Math.round(this.options.stuckMs / 1000)} s`);
      }
    }
  }

  private drop(socket: WebSocket, why: string): void {
    this.slow.delete(socket);
    this.droppedClients++;
    this.options.logger.warn({ buffered: socket.bufferedAmount }, `Dropping a dashboard client: ${why}`);
    socket.terminate();
  }

  private onConnection(socket: WebSocket, request: IncomingMessage): void {
    trackHeartbeat(socket);
    const peer = request.socket.remoteAddress;
    this.options.logger.info({ peer, clients: this.wss.clients.size }, 'Dashboard client connected');
    socket.on('close', () => {
      this.slow.delete(socket);
      this.options.logger.info({ peer }, 'Dashboard client disconnected');
    });
    socket.on('error', (error) => this.options.logger.warn({ peer, err: error.message }, 'Dashboard socket error'));
    const rate = new TokenBucket(MESSAGES_PER_SECOND, MESSAGES_PER_SECOND * 4);
    socket.on('message', () => {
      if (socket.readyState !== socket.OPEN) return;
      if (!rate.take()) {
        closeFirmly(socket, 1008, 'Too many messages');
        return;
      }
      // Commands arrive over REST for now; the socket says so rather than ignoring them.
      this.send(socket, JSON.stringify({ type: 'error', message: 'Unknown command: send commands through the REST API' } satisfies DashboardMessage));
    });
    this.send(socket, JSON.stringify({
      type: 'hello', server: this.options.serverName, version: this.options.version, protocol: DASHBOARD_PROTOCOL,
      rev: this.options.revision(),
    } satisfies DashboardMessage));
  }
}
