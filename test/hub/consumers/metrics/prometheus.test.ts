// The real Prometheus (Debian's `prometheus`) scraping a real Hub every second with the metrics token: its query API
// then shows the completed job and the ripped bytes. Skipped when Prometheus is not installed.
import { afterEach, expect, it } from 'vitest';
import { metricsConsumer } from '../../../../hub/consumers/metrics/metrics.js';
import { HubFixture, connectAgent, hello } from '../../helpers.js';
import { PrometheusServer, noPrometheus } from './prometheus-server.js';
import { STATION, TITLE_BYTES, drives, scriptRip } from './scripted-rip.js';

const fx = new HubFixture();
const TOKEN = 'metrics-token-for-prometheus';
let prometheus: PrometheusServer | undefined;

afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
  await fx.stop();
});

it('is scraped by the real Prometheus, which then has the completed job and the bytes', async (context) => {
  if (noPrometheus) return context.skip(noPrometheus);
  await fx.start(undefined, { consumers: [metricsConsumer({ token: TOKEN })] });
  const dashboard = await fx.dashboard();
  const agent = fx.track(await connectAgent(fx.hub.port, hello(STATION, drives)));
  await scriptRip(fx, agent, dashboard);

  prometheus = await PrometheusServer.start(fx.hub.port, TOKEN);
  const query = (promql: string) => (prometheus as PrometheusServer).query(promql);

  await expect.poll(async () => (await query('up{job="discbridge"}'))[0]?.value[1], { timeout: 15_000, interval: 250, message: `Prometheus: ${prometheus.output}` }).toBe('1');
  await expect.poll(async () => (await query('discbridge_jobs_total{outcome="completed"}')).map((v) => [v.metric.station, v.metric.disc_type, v.value[1]]),
    { timeout: 15_000, interval: 250 }).toEqual([[STATION, 'dvd', '1']]);
  const bytes = await query('discbridge_ripped_bytes_total');
  expect(bytes.map((v) => [v.metric.station, Number(v.value[1])])).toEqual([[STATION, TITLE_BYTES[0]! + TITLE_BYTES[1]!]]);
  expect((await query('sum(discbridge_jobs_total)'))[0]?.value[1]).toBe('2');
}, 40_000);
