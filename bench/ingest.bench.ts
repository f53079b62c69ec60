// The hub's ingest when 50 stations replay their outboxes at once (as after the hub was down), with every consumer
// on (notifications to a local webhook, metrics, MQTT to a real mosquitto) and durable commits (synchronous=FULL):
// each station sends its backlog in batches of 200, as the agent's replay does, and the run is timed from the first
// batch to the last acknowledgement.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'vitest';
import { Broker, noMosquitto } from '../test/hub/consumers/mqtt/broker.js';
import { ScriptedAgent, Station, VirtualDrive, loopDevicesUnavailable } from '../test/e2e/harness.js';
import { median, report } from './report.js';
import { jobEvents } from './station-events.js';

const skip = loopDevicesUnavailable() ?? noMosquitto;
const STATIONS = 50;
const JOBS_PER_STATION = 80;
const BATCH = 200;
const ROUNDS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)('hub ingest', () => {
  it(`${STATIONS} stations replaying their outboxes at once, every consumer on`, async () => {
    const receiver = createServer((request, response) => { request.resume(); request.on('end', () => response.end('ok')); });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const broker = new Broker();
    await broker.start();
    const rates: number[] = [];
    let total = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const station = new Station(VirtualDrive.reserve(), {
          name: 'bench-ingest',
          hubEnv: {
            DISCBRIDGE_LOG_LEVEL: 'warn', DISCBRIDGE_MAX_STATION_MESSAGES: '100000', DISCBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: '500',
            DISCBRIDGE_NOTIFY: `webhook://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
            DISCBRIDGE_NOTIFY_EVENTS: 'job_completed,job_failed,stalled,disc_inserted', DISCBRIDGE_MQTT_URL: broker.url,
          },
        });
        try {
          await station.startHub();
          const agents = await Promise.all(Array.from({ length: STATIONS }, (_, i) => ScriptedAgent.connect(station.port, station.token, `ingest-${i}`)));
          const backlogs = agents.map((_, i) => Array.from({ length: JOBS_PER_STATION }, (__, job) => jobEvents(`ingest-${i}`, job + 1)).flat()
            .map((event, index) => ({ seq: index + 1, at: Date.now(), event })));
          total = backlogs.reduce((sum, backlog) => sum + backlog.length, 0);
          const start = performance.now();
          // Every station at once, one batch each in turn, as their replays interleave on the hub's event loop.
          for (let offset = 0; offset < (backlogs[0]?.length ?? 0); offset += BATCH) {
            agents.forEach((agent, i) => agent.send({ kind: 'events', events: backlogs[i]?.slice(offset, offset + BATCH) }));
            await new Promise((resolve) => setImmediate(resolve));
          }
          while (agents.some((agent, i) => agent.acked < (backlogs[i]?.length ?? 0))) await sleep(5);
          rates.push(total / ((performance.now() - start) / 1000));
          for (const agent of agents) agent.close();
        } finally {
          await station.stop();
        }
      }
    } finally {
      receiver.close();
      await broker.stop();
    }
    report(`Hub ingest: ${STATIONS} stations replaying ${total} state events at once, every consumer on, synchronous=FULL (median of ${ROUNDS})`, [
      { 'events/s': Math.round(median(rates)), runs: rates.map(Math.round).join(' / '), goal: 50_000 },
    ]);
  });
});
