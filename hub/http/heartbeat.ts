// Socket liveness for both sockets: the heartbeat from ws's README (ping every interval, terminate a socket that left
// `maxMissed` pings in a row unanswered; a dead peer sends no close frame, so without it the socket would stay open
// forever), and closes the hub starts that a peer cannot ignore.
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

/** How long a peer has to answer a close the hub started before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * Closes a socket the hub is done with. ws would keep reading a peer that ignores the close frame for up to 30 s;
 * callers ignore messages on a socket that is not open, and this cuts it after a short grace.
 */
export function closeFirmly(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}
