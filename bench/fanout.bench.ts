// The dashboard socket's fan-out against a bare ws broadcast server (bench/bare-broadcast.mjs, its own process, one
// parse and one serialization per message), same run, same load: 500 clients and one station sending 200 progress
// updates a second for 10 s, one every 5 ms, as updates from many stations arrive. (Bunched 10 at a time every 50 ms,
// p99 is the length of the burst on these 2 cores: 32-35 ms for the bare server and the hub alike.) Then 500 clients
// each following one of 50 stations (protocol 3) against 500 that get everything (protocol 2): the hub's CPU for
// each. Latency is from the publisher's send to a client's receipt.
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, it } from 'vitest';
import WebSocket from 'ws';
import type { StationEvent } from '../shared/index.js';
import { ROOT, ScriptedAgent, Station, VirtualDrive, cpuSeconds, freePort, loopDevicesUnavailable } from '../test/e2e/harness.js';
import { report } from './report.js';

const skip = loopDevicesUnavailable();
const CLIENTS = 500;
const RATE = 200;
const SECONDS = 10;
const TICK_MS = 5;
const PROGRESS = /"match_progress":([0-9.]+)/;
const AGENT = /"agent_id":"([^"]*)"/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Clients on a dashboard socket, recording how long each progress update took to reach them. */
class Audience {
  readonly latencies: number[] = [];
  private readonly sockets: WebSocket[] = [];

  constructor(private readonly sentAt: Map<string, number>) {}

  async open(url: string, count: number, firstMessage?: (index: number) => unknown): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, index) => new Promise<void>((resolve, reject) => {
      // Spread over loopback addresses, as clients on many machines would be.
      const ws = new WebSocket(url, { localAddress: `127.0.0.${2 + (index % 20)}` });
      this.sockets.push(ws);
      ws.once('error', reject);
      ws.once('open', () => {
        const first = firstMessage?.(index);
        if (first) ws.send(JSON.stringify(first));
        resolve();
      });
      // The clients share this one process with the benchmark: they read only what they measure, not the whole message,
      // so that their own work (500 parses per update) is not what the latency measures.
      ws.on('message', (data) => {
        const text = data.toString();
        if (!text.includes('"title_update"')) return;
        const progress = PROGRESS.exec(text)?.[1];
        const agent = AGENT.exec(text)?.[1];
        const sent = progress === undefined ? undefined : this.sentAt.get(`${agent}:${Number(progress)}`);
        if (sent !== undefined) this.latencies.push(performance.now() - sent);
      });
    })));
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function progress(agentId: string, index: number): StationEvent {
  return { type: 'title_update', agent_id: agentId, job_id: 1, title_id: 1, state: 'ripping', match_progress: (index % 10_000) / 100 };
}

/** Sends RATE updates a second for SECONDS, round-robin over `stations`; returns when the last was sent. */
async function publish(stations: string[], send: (station: string, event: StationEvent) => void, sentAt: Map<string, number>): Promise<void> {
  const perTick = (RATE * TICK_MS) / 1000;
  let index = 0;
  const start = performance.now();
  for (let tick = 0; tick < (SECONDS * 1000) / TICK_MS; tick++) {
    for (let n = 0; n < perTick; n++, index++) {
      const station = stations[index % stations.length] as string;
      const event = progress(station, Math.floor(index / stations.length) + 1);
      sentAt.set(`${station}:${(event as { match_progress: number }).match_progress}`, performance.now());
      send(station, event);
    }
    const due = start + (tick + 1) * TICK_MS;
    await sleep(Math.max(0, due - performance.now()));
  }
}

interface Result { deliveries: number; seconds: number; p50: number; p99: number; cpu?: number }

function row(name: string, result: Result, against?: Result): Record<string, string | number> {
  return {
    server: name, 'deliveries/s': Math.round(result.deliveries / result.seconds), 'p50 ms': result.p50, 'p99 ms': result.p99,
    ...(result.cpu !== undefined ? { 'server CPU s': result.cpu } : {}),
    ...(against ? { ratio: result.deliveries / result.seconds / (against.deliveries / against.seconds) } : {}),
  };
}

/** A hub with one scripted station per id, each with job 1 ripping title 1, so progress for it is applied. */
async function hubWithStations(ids: string[]): Promise<{ station: Station; agents: Map<string, ScriptedAgent> }> {
  const station = new Station(VirtualDrive.reserve(), {
    name: 'bench-fanout',
    hubEnv: {
      DISCBRIDGE_LOG_LEVEL: 'warn', DISCBRIDGE_MAX_CONNECTIONS: '5000', DISCBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: '5000',
      DISCBRIDGE_MAX_STATION_MESSAGES: '100000', DISCBRIDGE_HEARTBEAT_MS: '5000',
    },
  });
  await station.startHub();
  const agents = new Map<string, ScriptedAgent>();
  for (const id of ids) {
    const agent = await ScriptedAgent.connect(station.port, station.token, id);
    const job = { agent_id: id, job_id: 1 } as const;
    const events: StationEvent[] = [
      { type: 'job_update', ...job, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'FANOUT', disc_type: 'dvd' },
      { type: 'job_update', ...job, state: 'ripping', progress_percent: 0 },
      { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 0 },
    ];
    events.forEach((event, i) => agent.send({ kind: 'event', seq: i + 1, at: Date.now(), event }));
    agents.set(id, agent);
  }
  for (const agent of agents.values()) while (agent.acked < 3) await sleep(20);
  return { station, agents };
}

async function runHub(stations: string[], subscribe: boolean): Promise<Result> {
  const sentAt = new Map<string, number>();
  const audience = new Audience(sentAt);
  const { station, agents } = await hubWithStations(stations);
  try {
    await audience.open(`ws://127.0.0.1:${station.port}/ws`, CLIENTS,
      subscribe ? (index) => ({ type: 'subscribe', topics: [`station:${stations[index % stations.length]}`] }) : undefined);
    await sleep(500);
    const pid = station.hub!.child.pid as number;
    const cpuBefore = cpuSeconds(pid);
    await publish(stations, (id, event) => agents.get(id)?.send({ kind: 'progress', after_seq: 3, at: Date.now(), event }), sentAt);
    await sleep(1000);
    return { deliveries: audience.latencies.length, seconds: SECONDS, p50: percentile(audience.latencies, 50), p99: percentile(audience.latencies, 99), cpu: cpuSeconds(pid) - cpuBefore };
  } finally {
    audience.close();
    for (const agent of agents.values()) agent.close();
    await station.stop();
  }
}

async function runBare(): Promise<Result> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [`${ROOT}/bench/bare-broadcast.mjs`, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sentAt = new Map<string, number>();
  const audience = new Audience(sentAt);
  try {
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    const publisher = new WebSocket(`ws://127.0.0.1:${port}/publish`);
    await new Promise((resolve) => publisher.once('open', resolve));
    await audience.open(`ws://127.0.0.1:${port}/ws`, CLIENTS);
    await sleep(500);
    const cpuBefore = cpuSeconds(child.pid as number);
    await publish(['fan-1'], (_id, event) => publisher.send(JSON.stringify(event)), sentAt);
    await sleep(1000);
    const result = { deliveries: audience.latencies.length, seconds: SECONDS, p50: percentile(audience.latencies, 50), p99: percentile(audience.latencies, 99), cpu: cpuSeconds(child.pid as number) - cpuBefore };
    publisher.terminate();
    return result;
  } finally {
    audience.close();
    child.kill();
  }
}

describe.skipIf(skip !== undefined)('dashboard fan-out', () => {
  it(`${CLIENTS} clients, ${RATE} progress updates a second: the hub against a bare ws broadcast server`, async () => {
    const bare = await runBare();
    const hub = await runHub(['fan-1'], false);
    report(`Fan-out to ${CLIENTS} dashboards, ${RATE} progress updates/s for ${SECONDS} s (same run)`, [row('bare ws broadcast', bare), row('discbridge hub (protocol 2)', hub, bare)]);
  });

  it(`${CLIENTS} clients each following one of 50 stations against ${CLIENTS} that get everything`, async () => {
    const stations = Array.from({ length: 50 }, (_, i) => `fan-s${i}`);
    const everything = await runHub(stations, false);
    const following = await runHub(stations, true);
    report(`${CLIENTS} dashboards, 50 stations sending ${RATE} progress updates/s between them for ${SECONDS} s`, [
      row('every client gets every station (protocol 2)', everything), row('each client follows one station (protocol 3)', following),
    ]);
  });
});
