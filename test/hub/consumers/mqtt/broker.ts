// A real mosquitto broker for the MQTT consumer's tests (a child process on a free 127.0.0.1 port with a temp
// config), a TCP proxy in front of it whose connections a test can cut (so the broker sends the last will), and a
// test client that records every message it sees.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { freePort } from '../../../tools/free-port.js';
import { removeDir, tempDir } from '../../helpers.js';

/** Why the broker tests cannot run here, or undefined when mosquitto is installed. */
export const noMosquitto: string | undefined = spawnSync('mosquitto', ['-h']).error
  ? 'mosquitto is not installed (Debian: apt-get install -y mosquitto)'
  : undefined;

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class Broker {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  port = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.dir = tempDir('discbridge-mosquitto-');
    this.port = await freePort();
    const config = join(this.dir, 'mosquitto.conf');
    writeFileSync(config, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    this.child = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (this.dir) removeDir(this.dir);
  }
}

/** Forwards 127.0.0.1:port to the broker; cut() drops every connection at once, as a network failure would. */
export class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = connectTcp(this.target, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => { inbound.destroy(); outbound.destroy(); });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface Seen { topic: string; payload: string; retain: boolean }

/** A client of the broker that records every message on the topics it subscribed to. */
export class Watcher {
  readonly seen: Seen[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, payload: payload.toString(), retain: packet.retain });
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  static async connect(url: string, topics: string[] = ['discbridge/#', 'homeassistant/#']): Promise<Watcher> {
    const watcher = new Watcher(await connectAsync(url, { reconnectPeriod: 0 }));
    if (topics.length > 0) await watcher.client.subscribeAsync(topics, { qos: 1 });
    return watcher;
  }

  /** The first message matching `predicate` from `from` on (index into seen); rejects after timeoutMs. */
  next(predicate: (message: Seen) => boolean, timeoutMs = 5000, from = 0): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.seen.slice(from).find(predicate);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching MQTT message in ${timeoutMs} ms; seen: ${JSON.stringify(this.seen.slice(from).map((m) => `${m.topic} ${m.payload}`)).slice(0, 1500)}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
