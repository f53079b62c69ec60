// Bounds the WebSocket connections the hub holds, in total and per address, so one misbehaving host (or a flood)
// cannot take every socket. Counted from the upgrade to the socket's close.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export class ConnectionLimits {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  refused = 0;

  constructor(private readonly maxTotal: number, private readonly maxPerAddress: number) {}

  /** Counts the connection and returns undefined, or returns why it is refused. */
  admit(request: IncomingMessage, socket: Duplex): string | undefined {
    const address = request.socket.remoteAddress ?? 'unknown';
    const mine = this.byAddress.get(address) ?? 0;
    if (this.total >= this.maxTotal || mine >= this.maxPerAddress) {
      this.refused++;
      return this.total >= this.maxTotal ? 'The hub has too many connections; try again later' : 'Too many connections from this address';
    }
    this.total++;
    this.byAddress.set(address, mine + 1);
    socket.once('close', () => {
      this.total--;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    });
    return undefined;
  }

  get open(): number {
    return this.total;
  }
}
