// The dashboard socket at /ws: greets each client with a hello, then pushes events as they happen, each serialized
// once per protocol whatever the number of clients: protocol-2 clients get everything with the hub's revision,
// protocol-3 clients their topics' events with each station's own revision (see dashboard-client.ts for the slow
// client's and the progress interval's rules, dashboard-requests.ts for what clients may ask). Fast clients never
// wait for slow ones.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_PROTOCOL, DASHBOARD_PROTOCOLS, type AgentUpdate, type DashboardMessage, type StationEvent, type TaskUpdate } from '../../shared/index.js';
import { originAllowed, type AccessControl } from '../auth/access.js';
import { TokenBucket } from '../auth/rate-limit.js';
import { refuseUpgrade } from '../http/auth.js';
import { closeFirmly, startHeartbeat, trackHeartbeat } from '../http/heartbeat.js';
import { DashboardClient, type ClientLimits } from './dashboard-client.js';
import type { DashboardRequests } from './dashboard-requests.js';

export interface DashboardServerOptions extends ClientLimits {
  serverName: string;
  version: string;
  heartbeatMs: number;
  missedHeartbeats: number;
  /** The hub's revision and each station's now, for the hello. */
  revision: () => number;
  stationRevisions: () => Record<string, number>;
  /** The drive a job runs on, to route its events to a drive's followers. */
  driveOfJob: (jobId: number) => string | undefined;
  requests: Pick<DashboardRequests, 'handle'>;
  access: AccessControl;
  logger: Logger;
}

/** One message for every client: its protocol-2 form, and for protocol 3 its station's revision. */
export interface Outgoing {
  message: StationEvent | AgentUpdate | TaskUpdate;
  /** The station's revision, which protocol-3 clients get as `rev`. */
  stationRev?: number | undefined;
  /** What it is about (a job, a title): with `progressOnly`, a held-back client gets only the newest such update. */
  key?: string;
  progressOnly: boolean;
}

/** GET /ws/status */
export interface DashboardStatus {
  connections: number;
  by_protocol: Record<string, number>;
  topics: Record<string, number>;
  slow: number;
  dropped: number;
}

/** A dashboard has little to say: a few messages a second is plenty. */
const MESSAGES_PER_SECOND = 5;

export class DashboardServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Map<WebSocket, DashboardClient>();
  private stopHeartbeat: (() => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private droppedClients = 0;

  constructor(private readonly options: DashboardServerOptions) {}

  start(): void {
    this.wss.on('connection', (socket, request) => this.onConnection(socket, request));
    this.stopHeartbeat = startHeartbeat(this.wss, this.options.heartbeatMs, this.options.missedHeartbeats,
      (socket) => {
        const client = this.clients.get(socket);
        if (client) this.drop(client, `it answered none of the last ${this.options.missedHeartbeats} pings`);
      });
    this.drainTimer = setInterval(() => this.serveHeldProgress(), 100);
    this.drainTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopHeartbeat?.();
    clearInterval(this.drainTimer);
    for (const socket of this.wss.clients) socket.close(1001, 'Hub is shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Counts for /health: connected clients, those held to the newest progress, and those dropped so far. */
  stats(): { clients: number; slow: number; dropped: number } {
    return { clients: this.clients.size, slow: [...this.clients.values()].filter((c) => c.slow).length, dropped: this.droppedClients };
  }

  status(): DashboardStatus {
    const byProtocol: Record<string, number> = {};
    const topics: Record<string, number> = {};
    for (const client of this.clients.values()) {
      byProtocol[client.protocol] = (byProtocol[client.protocol] ?? 0) + 1;
      if (client.protocol === 3) for (const name of client.topicNames()) topics[name] = (topics[name] ?? 0) + 1;
    }
    const { clients, slow, dropped } = this.stats();
    return { connections: clients, by_protocol: byProtocol, topics, slow, dropped };
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

  /** Sends a message to every client that follows it, serialized at most once per protocol. */
  broadcast(outgoing: Outgoing): void {
    if (this.clients.size === 0) return;
    const { message, stationRev, key, progressOnly } = outgoing;
    let frame2: Buffer | undefined;
    let frame3: Buffer | undefined;
    const now = Date.now();
    for (const client of this.clients.values()) {
      if (!client.follows(message, this.options.driveOfJob)) continue;
      const frame = client.protocol === 2
        ? (frame2 ??= Buffer.from(JSON.stringify(message)))
        : (frame3 ??= Buffer.from(JSON.stringify(stationRev === undefined || !('rev' in message) ? message : { ...message, rev: stationRev })));
      client.deliver(frame, key, progressOnly, now);
    }
  }

  /** Gives held progress to clients that caught up or whose interval passed, and drops those stuck for too long. */
  private serveHeldProgress(): void {
    const now = Date.now();
    for (const client of this.clients.values()) if (client.holdsProgress) client.serveHeld(now);
  }

  private drop(client: DashboardClient, why: string): void {
    this.clients.delete(client.socket);
    this.droppedClients++;
    this.options.logger.warn({ buffered: client.socket.bufferedAmount }, `Dropping a dashboard client: ${why}`);
    client.socket.terminate();
  }

  private onConnection(socket: WebSocket, request: IncomingMessage): void {
    trackHeartbeat(socket);
    const peer = request.socket.remoteAddress;
    const client = new DashboardClient(socket, request, this.options, (dropped, why) => this.drop(dropped, why), this.options.logger);
    this.clients.set(socket, client);
    this.options.logger.info({ peer, clients: this.clients.size }, 'Dashboard client connected');
    socket.on('close', () => {
      this.clients.delete(socket);
      this.options.logger.info({ peer }, 'Dashboard client disconnected');
    });
    socket.on('error', (error) => this.options.logger.warn({ peer, err: error.message }, 'Dashboard socket error'));
    const rate = new TokenBucket(MESSAGES_PER_SECOND, MESSAGES_PER_SECOND * 4);
    socket.on('message', (data, isBinary) => {
      if (socket.readyState !== socket.OPEN) return;
      if (!rate.take()) {
        closeFirmly(socket, 1008, 'Too many messages');
        return;
      }
      if (isBinary) {
        client.send(JSON.stringify({ type: 'error', message: 'Messages must be JSON text' } satisfies DashboardMessage));
        return;
      }
      this.options.requests.handle(client, data.toString());
    });
    client.send(JSON.stringify({
      type: 'hello', server: this.options.serverName, version: this.options.version, protocol: DASHBOARD_PROTOCOL,
      protocols: [...DASHBOARD_PROTOCOLS], rev: this.options.revision(), revisions: this.options.stationRevisions(),
    } satisfies DashboardMessage));
  }
}
