// A TCP proxy on loopback that the fault tests put between agent and hub, to cut the network (every connection
// reset at once) or stall it (connections stay open but no byte moves, as when a Wi-Fi link dies silently).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  /** Bytes from clients still to pass before every connection is cut once (cutAfterUpstream). */
  private cutBudget: number | undefined;
  /** Bytes passed from clients to the target so far. */
  upstreamBytes = 0;
  /** Cuts made by cutAfterUpstream. */
  upstreamCuts = 0;
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
      client.on('data', (data) => {
        if (this.stalled) return;
        upstream.write(data);
        this.upstreamBytes += data.length;
        if (this.cutBudget === undefined) return;
        this.cutBudget -= data.length;
        if (this.cutBudget <= 0) {
          this.cutBudget = undefined;
          this.upstreamCuts++;
          this.cut();
        }
      });
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

  /** Cuts every connection once, as soon as `bytes` more have gone from clients to the target (mid-upload). */
  cutAfterUpstream(bytes: number): void {
    this.cutBudget = bytes;
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
