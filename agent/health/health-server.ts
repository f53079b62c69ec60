// The agent's /health on loopback, for a container's HEALTHCHECK or a service monitor on the station itself: the
// agent has no other HTTP server (it dials the hub), so this one answers only GET /health and only on 127.0.0.1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AgentHealth } from '../agent.js';

export interface HealthServerOptions {
  port: number;
  health: () => AgentHealth;
  logger: Logger;
}

export class HealthServer {
  private server: Server | undefined;

  constructor(private readonly options: HealthServerOptions) {}

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (request.method !== 'GET' || path !== '/health') {
        response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"only GET /health is served here"}');
        return;
      }
      try {
        const body = JSON.stringify({ status: 'ok', uptime_seconds: Math.round(process.uptime()), ...this.options.health() });
        response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
      } catch (error) {
        this.options.logger.error({ err: error }, `The agent could not tell its health: ${(error as Error).message}`);
        response.writeHead(500, { 'Content-Type': 'application/json' }).end('{"status":"error"}');
      }
    });
    await new Promise<void>((resolve, reject) => {
      const refuse = (error: NodeJS.ErrnoException) => reject(new Error(
        error.code === 'EADDRINUSE' ? `DISCBRIDGE_HEALTH_PORT ${this.options.port} is already in use on 127.0.0.1: choose another port` : error.message,
      ));
      server.once('error', refuse);
      server.listen(this.options.port, '127.0.0.1', () => {
        server.off('error', refuse);
        resolve();
      });
    });
    this.server = server;
    this.options.logger.info({ port: this.port }, `Agent health on http://127.0.0.1:${this.port}/health`);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.options.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
