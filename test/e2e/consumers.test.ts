// The hub's consumers around one real rip (hub and agent processes, HandBrakeCLI, a loop-device drive): a signed
// webhook notification of the completed job, GET /metrics counting it, and Home Assistant's MQTT topics following
// the drive on a real mosquitto. Lean: one short disc.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../../shared/index.js';
import { Broker, Watcher, noMosquitto } from '../hub/consumers/mqtt/broker.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'dvdauthor', 'genisoimage') ?? noMosquitto;
if (skipReason) console.warn(`Skipping the consumers end-to-end test: ${skipReason}`);

const SECRET = 'e2e-webhook-secret';
const METRICS_TOKEN = 'e2e-metrics-token';

describe.skipIf(skipReason !== undefined)('the hub\'s consumers around a real rip', () => {
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let receiver: Server;
  let broker: Broker;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    broker = new Broker();
    await broker.start();
  });

  afterAll(async () => {
    receiver.close();
    await broker.stop();
  });

  it('notifies, counts and publishes the completed rip', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const station = new Station(VirtualDrive.reserve(), {
      name: 'consumers',
      hubEnv: {
        DISCBRIDGE_NOTIFY: `webhook://127.0.0.1:${port}/hook`, DISCBRIDGE_NOTIFY_SECRET: SECRET,
        DISCBRIDGE_METRICS_TOKEN: METRICS_TOKEN, DISCBRIDGE_MQTT_URL: broker.url,
      },
    });
    const mqtt = await Watcher.connect(broker.url);
    try {
      await station.start();
      const dashboard = await station.dashboard();
      station.drive.insert(makeDisc('e2e-consumers', ['--label', 'E2E_CONSUMERS', '--title', '12:1', '--size', '352x240']));
      const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 60_000);
      expect(done.state).toBe('completed');

      // One signed webhook notification, with the job's record.
      for (const deadline = Date.now() + 15_000; received.length === 0;) {
        if (Date.now() > deadline) throw new Error('no notification arrived');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [notification] = received;
      const body = JSON.parse(notification!.body) as { id: string; event: string; job: { job_id: number; state: string; volume_label: string } };
      expect(body).toMatchObject({ event: 'job_completed', job: { job_id: done.job_id, state: 'completed', volume_label: 'E2E_CONSUMERS' } });
      expect(notification!.headers['x-discbridge-notification-id']).toBe(body.id);
      expect(notification!.headers['x-discbridge-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(notification!.body).digest('hex')}`);

      // The job counted, and /metrics guarded by its token.
      expect((await fetch(`${station.baseUrl}/metrics`)).status).toBe(401);
      const metrics = await (await fetch(`${station.baseUrl}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      expect(metrics).toMatch(new RegExp(`discbridge_jobs_total\\{station="${station.agentId}",disc_type="dvd",outcome="completed"\\} 1`));
      expect(Number(new RegExp(`discbridge_ripped_bytes_total\\{station="${station.agentId}"\\} (\\d+)`).exec(metrics)?.[1])).toBeGreaterThan(0);

      // Home Assistant: the drive announced, its state completed.
      const drive = station.drive.device.replace(/[^a-z0-9_]+/gi, '_').replace(/^_|_$/g, '').toLowerCase();
      const stationTopic = station.agentId.replace(/[^a-z0-9_]+/gi, '_').toLowerCase();
      await mqtt.next((m) => m.topic === `homeassistant/button/discbridge_${stationTopic}_${drive}/eject/config`, 10_000);
      await mqtt.next((m) => m.topic === `discbridge/${stationTopic}/${drive}/state` && JSON.parse(m.payload).state === 'completed', 10_000);
    } finally {
      await mqtt.close();
      await station.stop();
    }
    expect(received).toHaveLength(1);
  }, 120_000);
});
