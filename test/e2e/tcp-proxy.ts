// A TCP proxy on loopback that the fault tests put between agent and hub, to cut the network (every connection
// reset at once) or stall it (connections stay open but no byte moves, as when a Wi-Fi link dies silently).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.on('data', (data) => { if (!this.stalled) upstream.write(data); });
      upstream.on('data', (data) => { if (!this.stalled) client.write(data); });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server?.address() as { port: number }).port;
  }

  /** Resets every connection, as a pulled cable followed by a timeout would. New connections still go through. */
  cut(): void {
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** From now on, bytes are swallowed in both directions; nothing is closed. */
  stall(): void {
    this.stalled = true;
  }

  /** Lets bytes through again. Connections that lost bytes while stalled are reset: their streams are broken. */
  resume(): void {
    this.stalled = false;
    this.cut();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
