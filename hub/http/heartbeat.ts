// The heartbeat from ws's README: ping every interval, and terminate a socket that left `maxMissed` pings in a row
// unanswered. A dead peer (a pulled cable, a frozen machine) sends no close frame; without this its socket would
// stay open forever.
import type { WebSocket, WebSocketServer } from 'ws';

/** Pings sent since the peer was last heard from. */
const missed = new WeakMap<WebSocket, number>();

export function trackHeartbeat(socket: WebSocket): void {
  missed.set(socket, 0);
  socket.on('pong', () => missed.set(socket, 0));
  // Any message also proves the peer is alive.
  socket.on('message', () => missed.set(socket, 0));
}

export function startHeartbeat(server: WebSocketServer, intervalMs: number, maxMissed: number, onDead?: (socket: WebSocket) => void): () => void {
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      const count = missed.get(socket) ?? 0;
      if (count >= maxMissed) {
        onDead?.(socket);
        socket.terminate();
        continue;
      }
      missed.set(socket, count + 1);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
