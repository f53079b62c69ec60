// The real Prometheus (Debian's `prometheus`) scraping a real Hub every second with the metrics token: its query API
// then shows the completed job and the ripped bytes. Skipped when Prometheus is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { metricsConsumer } from '../../../../hub/consumers/metrics/metrics.js';
import { HubFixture, connectAgent, hello, removeDir, tempDir } from '../../helpers.js';
import { STATION, TITLE_BYTES, drives, scriptRip } from './scripted-rip.js';

const fx = new HubFixture();
const TOKEN = 'metrics-token-for-prometheus';
let prometheus: ChildProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  prometheus = undefined;
  if (dir) removeDir(dir);
  await fx.stop();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Vector { metric: Record<string, string>; value: [number, string] }

async function query(port: number, promql: string): Promise<Vector[]> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await response.json() as { status: string; data?: { result: Vector[] } };
    return body.data?.result ?? [];
  } catch {
    return []; // not listening yet
  }
}

it('is scraped by the real Prometheus, which then has the completed job and the bytes', async (context) => {
  if (spawnSync('prometheus', ['--version']).error) return context.skip('prometheus is not installed (Debian: apt-get install prometheus)');
  await fx.start(undefined, { consumers: [metricsConsumer({ token: TOKEN })] });
  const dashboard = await fx.dashboard();
  const agent = fx.track(await connectAgent(fx.hub.port, hello(STATION, drives)));
  await scriptRip(fx, agent, dashboard);

  dir = tempDir('discbridge-prometheus-');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global: { scrape_interval: 1s, scrape_timeout: 1s }',
    'scrape_configs:',
    '  - job_name: discbridge',
    `    authorization: { credentials: ${TOKEN} }`,
    `    static_configs: [{ targets: ['127.0.0.1:${fx.hub.port}'] }]`,
  ].join('\n'));
  const port = await freePort();
  let log = '';
  prometheus = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString(); });

  await expect.poll(async () => (await query(port, 'up{job="discbridge"}'))[0]?.value[1], { timeout: 15_000, interval: 250, message: `Prometheus: ${log}` }).toBe('1');
  await expect.poll(async () => (await query(port, 'discbridge_jobs_total{outcome="completed"}')).map((v) => [v.metric.station, v.metric.disc_type, v.value[1]]),
    { timeout: 15_000, interval: 250 }).toEqual([[STATION, 'dvd', '1']]);
  const bytes = await query(port, 'discbridge_ripped_bytes_total');
  expect(bytes.map((v) => [v.metric.station, Number(v.value[1])])).toEqual([[STATION, TITLE_BYTES[0]! + TITLE_BYTES[1]!]]);
  expect((await query(port, 'sum(discbridge_jobs_total)'))[0]?.value[1]).toBe('2');
}, 40_000);
