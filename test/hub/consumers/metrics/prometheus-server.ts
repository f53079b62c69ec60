// The real Prometheus (Debian's `prometheus`) as a child process scraping one hub every second with a bearer token,
// with a temporary configuration and storage, and its HTTP query API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../tools/free-port.js';

/** Why the real Prometheus cannot run here, or undefined when it can. */
export const noPrometheus: string | undefined = spawnSync('prometheus', ['--version']).error
  ? 'prometheus is not installed (Debian: apt-get install prometheus)'
  : undefined;

export interface Sample { metric: Record<string, string>; value: [number, string] }

export class PrometheusServer {
  private log = '';

  private constructor(private readonly child: ChildProcess, private readonly dir: string, readonly port: number) {
    child.stderr?.on('data', (chunk: Buffer) => { this.log += chunk.toString(); });
  }

  static async start(hubPort: number, token: string): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'discbridge-prometheus-'));
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: discbridge',
      `    authorization: { credentials: ${token} }`,
      `    static_configs: [{ targets: ['127.0.0.1:${hubPort}'] }]`,
    ].join('\n'));
    const port = await freePort();
    const child = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new PrometheusServer(child, dir, port);
  }

  /** What Prometheus logged, for a failure's message. */
  get output(): string {
    return this.log;
  }

  /** An instant query's samples; none while Prometheus is not listening yet. */
  async query(promql: string): Promise<Sample[]> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = await response.json() as { data?: { result: Sample[] } };
      return body.data?.result ?? [];
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
