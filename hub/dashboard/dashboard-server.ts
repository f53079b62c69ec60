// The dashboard socket at /ws: greets each client with a hello, then pushes every event as it happens.
// Each event is serialized once, whatever the number of clients, and a client that cannot keep up is dropped
// rather than allowed to grow the hub's memory.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_PROTOCOL, type DashboardMessage } from '../../shared/index.js';
import { startHeartbeat, trackHeartbeat } from '../http/heartbeat.js';

export interface DashboardServerOptions {
  serverName: string;
  version: string;
  heartbeatMs: number;
  /** Bytes queued for one client beyond which it is disconnected. */
  maxBufferedBytes: number;
  logger: Logger;
}

export class DashboardServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private stopHeartbeat: (() => void) | undefined;

  constructor(private readonly options: DashboardServerOptions) {}

  start(): void {
    this.wss.on('connection', (socket, request) => this.onConnection(socket, request));
    this.stopHeartbeat = startHeartbeat(this.wss, this.options.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.stopHeartbeat?.();
    for (const socket of this.wss.clients) socket.close(1001, 'Hub is shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  get clientCount(): number {
    return this.wss.clients.size;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  broadcast(message: DashboardMessage): void {
    if (this.wss.clients.size === 0) return;
    const frame = JSON.stringify(message);
    for (const socket of this.wss.clients) this.sendFrame(socket, frame);
  }

  private sendFrame(socket: WebSocket, frame: string): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.options.logger.warn({ buffered: socket.bufferedAmount }, 'Dropping a dashboard client that stopped reading');
      socket.terminate();
      return;
    }
    socket.send(frame);
  }

  private onConnection(socket: WebSocket, request: IncomingMessage): void {
    trackHeartbeat(socket);
    const peer = request.socket.remoteAddress;
    this.options.logger.info({ peer, clients: this.wss.clients.size }, 'Dashboard client connected');
    socket.on('close', () => this.options.logger.info({ peer }, 'Dashboard client disconnected'));
    socket.on('error', (error) => this.options.logger.warn({ peer, err: error.message }, 'Dashboard socket error'));
    socket.on('message', () => {
      // Commands arrive over REST for now; the socket says so rather than ignoring them.
      this.sendFrame(socket, JSON.stringify({ type: 'error', message: 'Unknown command: send commands through the REST API' }));
    });
    this.sendFrame(socket, JSON.stringify({
      type: 'hello', server: this.options.serverName, version: this.options.version, protocol: DASHBOARD_PROTOCOL,
    } satisfies DashboardMessage));
  }
}
