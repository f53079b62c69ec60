// podman and podman-compose for the container tests, with this machine's podman configuration (containers.conf).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ROOT, pinoRecords } from '../e2e/harness.js';

export const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: join(ROOT, 'test/containers/containers.conf') };

/** podman's lines about healthcheck timers: there is no systemd here to run them, and the tests run them by hand. */
const NO_SYSTEMD = /unable to get systemd connection/;

export function podman(...args: string[]): string {
  return execFileSync('podman', args, { env: PODMAN_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** podman's exit status and output, for commands whose failure is the answer (a health check). */
export function podmanStatus(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('podman', args, { env: PODMAN_ENV, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.split('\n').filter((line) => !NO_SYSTEMD.test(line)).join('\n').trim() };
}

const execFileAsync = promisify(execFile);

/** podman-compose in a project folder, with the compose variables given; resolves with its output. */
export async function compose(project: { dir: string; name: string; file: string; env: Record<string, string> }, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync('podman-compose', ['-p', project.name, '-f', project.file, ...args], {
    cwd: project.dir, env: { ...PODMAN_ENV, ...project.env }, maxBuffer: 16 * 1024 * 1024,
  });
  return `${stdout}${stderr}`;
}

/** The agent's pino records from a container's log. */
export function containerRecords(container: string): Record<string, unknown>[] {
  return pinoRecords(podmanStatus('logs', container).output);
}
