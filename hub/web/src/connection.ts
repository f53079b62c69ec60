// The live connection to the hub's dashboard socket (/ws): reconnecting-websocket keeps it up with exponential
// backoff; every frame is validated against the shared DashboardMessage schema before the page sees it (a frame that
// does not match is counted and reported, never applied). It reports its status for the connection indicator.
import ReconnectingWebSocket from 'reconnecting-websocket';
import { DASHBOARD_PATH, DashboardMessage, decodeMessage, type DashboardRequest } from '../../../shared/index.js';

export type ConnectionStatus =
  | { state: 'connecting'; attempt: number; since: number }
  | { state: 'open'; since: number }
  | { state: 'closed'; attempt: number; since: number; reason: string };

export interface ConnectionHandlers {
  message(message: DashboardMessage): void;
  status(status: ConnectionStatus): void;
  invalid(error: string): void;
}

export function socketUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${DASHBOARD_PATH}`;
}

export class Connection {
  private socket: ReconnectingWebSocket | undefined;
  private downSince = Date.now();

  constructor(private readonly url: string, private readonly handlers: ConnectionHandlers) {}

  start(): void {
    const socket = new ReconnectingWebSocket(this.url, [], {
      // 0.5 s, then ×1.6 up to 10 s, the agents' own cap; a connect attempt that hangs is abandoned after 4 s.
      minReconnectionDelay: 500,
      maxReconnectionDelay: 10_000,
      reconnectionDelayGrowFactor: 1.6,
      connectionTimeout: 4000,
      minUptime: 5000,
      maxEnqueuedMessages: 0,
    });
    this.socket = socket;
    this.handlers.status({ state: 'connecting', attempt: 1, since: this.downSince });
    socket.addEventListener('open', () => {
      this.handlers.status({ state: 'open', since: Date.now() });
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      // The first failure since being up starts the "down since" clock.
      if (socket.retryCount <= 1) this.downSince = Date.now();
      const reason = event.code === 1001 ? 'The hub is restarting' : event.code === 1006 || event.code === 1000 ? 'Lost the connection to the hub' : `Connection closed (${event.code})`;
      this.handlers.status({ state: 'closed', attempt: socket.retryCount + 1, since: this.downSince, reason });
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return this.handlers.invalid('A binary frame is not part of the protocol');
      const decoded = decodeMessage(DashboardMessage, event.data);
      if (decoded.ok) this.handlers.message(decoded.value);
      else this.handlers.invalid(decoded.error);
    });
  }

  /** Sends a request if the socket is open; returns whether it went. */
  send(request: DashboardRequest): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(request));
    return true;
  }

  /** Drops the connection and connects again at once (after the page noticed the hub was gone). */
  reconnect(): void {
    this.socket?.reconnect();
  }

  stop(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'Page closed');
  }
}
