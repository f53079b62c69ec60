// The heartbeat from ws's README: ping every interval, and terminate a socket that did not answer the previous ping.
// A dead peer (a pulled cable, a frozen machine) sends no close frame; without this its socket would stay open forever.
import type { WebSocket, WebSocketServer } from 'ws';

const alive = new WeakMap<WebSocket, boolean>();

export function trackHeartbeat(socket: WebSocket): void {
  alive.set(socket, true);
  socket.on('pong', () => alive.set(socket, true));
  // Any message also proves the peer is alive.
  socket.on('message', () => alive.set(socket, true));
}

export function startHeartbeat(server: WebSocketServer, intervalMs: number, onDead?: (socket: WebSocket) => void): () => void {
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (alive.get(socket) === false) {
        onDead?.(socket);
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
