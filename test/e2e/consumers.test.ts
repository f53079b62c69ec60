// The hub's consumers around one real rip (hub and agent processes, HandBrakeCLI, a loop-device drive): a signed
// webhook notification of the completed job that survives the hub being SIGKILLed between two attempts (delivered
// once, with the same id), the real Prometheus scraping GET /metrics during the rip, and Home Assistant's MQTT topics
// following the drive on a real mosquitto. Lean: one short disc.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../../shared/index.js';
import { PrometheusServer, noPrometheus } from '../hub/consumers/metrics/prometheus-server.js';
import { Broker, Watcher, noMosquitto } from '../hub/consumers/mqtt/broker.js';
import { JobDetail } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'dvdauthor', 'genisoimage') ?? noPrometheus ?? noMosquitto;
if (skipReason) console.warn(`Skipping the consumers end-to-end test: ${skipReason}`);

const SECRET = 'e2e-webhook-secret';
const METRICS_TOKEN = 'e2e-metrics-token';

describe.skipIf(skipReason !== undefined)('the hub\'s consumers around a real rip', () => {
  const received: { headers: Record<string, string | string[] | undefined>; body: string; accepted: boolean }[] = [];
  /** The receiver refuses (503) until told to accept: a service that is down when the job ends. */
  let accepting = false;
  let receiver: Server;
  let broker: Broker;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      request.on('end', () => {
        received.push({ headers: request.headers, body, accepted: accepting });
        response.statusCode = accepting ? 200 : 503;
        response.end(accepting ? 'ok' : 'down for maintenance');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    broker = new Broker();
    await broker.start();
  });

  afterAll(async () => {
    receiver.close();
    await broker.stop();
    await prometheus?.stop();
  });

  it('notifies (across a SIGKILLed hub), counts (in the real Prometheus) and publishes (on mosquitto) the completed rip', async () => {
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
      prometheus = await PrometheusServer.start(station.port, METRICS_TOKEN);
      const query = (promql: string) => (prometheus as PrometheusServer).query(promql);
      const dashboard = await station.dashboard();
      station.drive.insert(makeDisc('e2e-consumers', ['--label', 'E2E_CONSUMERS', '--title', '12:1', '--size', '352x240']));
      const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 60_000);
      expect(done.state).toBe('completed');

      // The real Prometheus, scraping the hub during the rip, has the job and its bytes.
      const job = JobDetail.parse(await station.get(`/api/jobs/${done.job_id}`));
      const bytes = job.titles.reduce((sum, title) => sum + (title.state === 'completed' ? title.actual_size_bytes ?? 0 : 0), 0);
      await waitUntil(async () => (await query('discbridge_stations_connected'))[0]?.value[1] === '1', 'Prometheus scraping', 20_000);
      await waitUntil(async () => (await query(`discbridge_ripped_bytes_total{station="${station.agentId}"}`))[0]?.value[1] === String(bytes),
        'the ripped bytes in Prometheus', 20_000);
      expect((await query(`discbridge_jobs_total{station="${station.agentId}",outcome="completed"}`))[0]?.value[1]).toBe('1');

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

      // The receiver is down (503) for the first attempt; the hub is SIGKILLed before it retries, then the receiver is
      // up and the hub back: the notification arrives, with the id of the first attempt, and is accepted once.
      await waitUntil(() => received.length > 0, 'the first notification attempt');
      const firstId = received[0]!.headers['x-discbridge-notification-id'];
      await station.hub!.stop('SIGKILL');
      accepting = true;
      await station.startHub();
      await waitUntil(() => received.some((r) => r.accepted), 'the notification after the restart', 20_000);
      const notification = received.find((r) => r.accepted);
      expect(notification!.headers['x-discbridge-notification-id']).toBe(firstId);
      const body = JSON.parse(notification!.body) as { id: string; event: string; job: { job_id: number; state: string; volume_label: string } };
      expect(body).toMatchObject({ event: 'job_completed', job: { job_id: done.job_id, state: 'completed', volume_label: 'E2E_CONSUMERS' } });
      expect(notification!.headers['x-discbridge-notification-id']).toBe(body.id);
      expect(notification!.headers['x-discbridge-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(notification!.body).digest('hex')}`);
    } finally {
      await mqtt.close();
      await station.stop();
    }
    // Refused before the SIGKILL (once, or again on its first retry), accepted once after it, always the same id.
    expect(received.filter((r) => r.accepted)).toHaveLength(1);
    expect(new Set(received.map((r) => r.headers['x-discbridge-notification-id'])).size).toBe(1);
  }, 120_000);
});

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
