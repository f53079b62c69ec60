// The hub's events per second with every consumer on (notifications to a local webhook, metrics, MQTT to a real
// mosquitto) against none, in one run, rounds alternated: a scripted station streams jobs through the real link, timed
// from the first event to the last one at a dashboard and stored (with the consumers of the committed step run).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'vitest';
import { Broker, noMosquitto } from '../test/hub/consumers/mqtt/broker.js';
import { ScriptedAgent, Station, VirtualDrive, loopDevicesUnavailable } from '../test/e2e/harness.js';
import { median, report } from './report.js';
import { STEPS, jobEvents } from './station-events.js';

const skip = loopDevicesUnavailable() ?? noMosquitto;
if (skip) console.warn(`Skipping the consumers benchmark: ${skip}`);
const ROUNDS = 3;
const JOBS = 2000;
describe.skipIf(skip !== undefined)('hub consumers', () => {
  it('events per second: every consumer on against none', async () => {
    const receiver = createServer((request, response) => { request.resume(); request.on('end', () => response.end('ok')); });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const broker = new Broker();
    await broker.start();
    const rates: Record<'none' | 'all', number[]> = { none: [], all: [] };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const setup of ['none', 'all'] as const) {
          const hubEnv: Record<string, string> = setup === 'all' ? {
            DISCBRIDGE_NOTIFY: `webhook://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
            DISCBRIDGE_NOTIFY_EVENTS: 'job_completed,job_failed,stalled,disc_inserted', DISCBRIDGE_MQTT_URL: broker.url,
          } : {};
          const station = new Station(VirtualDrive.reserve(), { name: `bench-consumers-${setup}`, hubEnv: { DISCBRIDGE_LOG_LEVEL: 'warn', DISCBRIDGE_MAX_STATION_MESSAGES: '1000000', ...hubEnv } });
          try {
            await station.startHub();
            const dashboard = await station.dashboard();
            const agent = await ScriptedAgent.connect(station.port, station.token, 'bench-station');
            const events = Array.from({ length: JOBS }, (_, job) => jobEvents('bench-station', job + 1)).flat();
            const before = dashboard.received.length;
            const start = performance.now();
            events.forEach((event, index) => agent.send({ kind: 'event', seq: index + 1, at: Date.now(), event }));
            await dashboard.waitFor((m) => m.type === 'job_update' && m.job_id === JOBS && m.state === 'completed', 120_000, before);
            // A REST read writes what is pending first, and the committed step's consumers run with that write.
            await station.get(`/api/jobs/${JOBS}`);
            rates[setup].push(events.length / ((performance.now() - start) / 1000));
            agent.close();
          } finally {
            await station.stop();
          }
        }
      }
    } finally {
      receiver.close();
      await broker.stop();
    }
    const none = median(rates.none);
    report(`Hub events per second, ${JOBS * (STEPS + 4)} state events from one station (median of ${ROUNDS})`, [
      { consumers: 'none (dashboard socket only)', 'events/s': Math.round(none), ratio: 1 },
      { consumers: 'notifications + metrics + MQTT', 'events/s': Math.round(median(rates.all)), ratio: median(rates.all) / none },
    ]);
  });
});
