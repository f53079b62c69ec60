// The images and compose.yaml as a self-hoster uses them, under podman: both images built from Debian's packages,
// the compose station with a loop device as its drive (root:cdrom 0660, as udev makes a real /dev/sr0), a dashboard
// on the published port seeing a disc ripped into the host's folder, `podman stop` mid-rip ending the job
// interrupted and the next start going on, and the sentences for a drive not passed in or not readable.
// Prints the images' sizes and build and start times (the README's table).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardMessage, JobUpdate } from '../../shared/index.js';
import { ARTIFACTS, DashboardClient, ROOT, VirtualDrive, freePort, loopDevicesUnavailable, makeDisc, probeDuration, toolsUnavailable, waitFor } from '../e2e/harness.js';
import { PODMAN_ENV, compose, containerRecords, podman, podmanStatus } from './podman.js';

const skip = loopDevicesUnavailable() ?? toolsUnavailable('podman', 'podman-compose', 'mmdebstrap');
/** The images' user (scripts/images/Containerfile). */
const IMAGE_UID = 990;
const CDROM_GID = 24;
const FEDORA_CDROM_GID = 11;
/** Set to keep images already built while working on this test; CI always builds from scratch. */
const REUSE = process.env.DISCBRIDGE_TEST_REUSE_IMAGES === '1';

const SHORT_DISC = ['--label', 'E2E_BOXED', '--title', '12:1', '--size', '352x240'];
const LONG_DISC = ['--label', 'E2E_BOXED_LONG', '--title', '300:8', '--size', '352x240'];

interface Project { dir: string; name: string; file: string; env: Record<string, string>; port: number; rips: string }

const figures: Record<string, string> = {};
let project: Project | undefined;
let drive: VirtualDrive | undefined;
let restoreDrive: (() => void) | undefined;
let dashboard: DashboardClient | undefined;
const extraContainers: string[] = [];

const isJob = (jobId: number, state: JobUpdate['state']) => (m: DashboardMessage): m is JobUpdate =>
  m.type === 'job_update' && m.job_id === jobId && m.state === state;

/** The id of the job of the disc labelled `label` (its first update names the label; later ones need not). */
async function jobOf(label: string, since: number): Promise<number> {
  return (await dashboard!.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.volume_label === label, 60_000, since)).job_id;
}

function containerOf(service: string): string {
  const name = podman('ps', '-a', '--filter', `label=io.podman.compose.project=${project!.name}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.Names}}');
  if (!name) throw new Error(`No container for the compose service ${service}`);
  return name.split('\n')[0] as string;
}

async function hubAnswers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
  } catch {
    return false;
  }
}

/** Every file under `folder`, relative to it. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1)).sort();
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

describe.skipIf(skip !== undefined)('the container images and the compose station', () => {
  beforeAll(() => {
    mkdirSync(join(ARTIFACTS, 'containers'), { recursive: true });
    // A new base has a new id, so no layer cached from an earlier build matches: everything is built again.
    if (!REUSE) {
      for (const image of ['discbridge-hub', 'discbridge-agent', 'localhost/discbridge-base:bookworm']) podmanStatus('rmi', '--force', image);
    }
    const started = Date.now();
    const log = join(ARTIFACTS, 'containers', 'build.log');
    try {
      // The machine's CA bundle: these machines reach the npm registry through a TLS-inspecting proxy.
      execFileSync(join(ROOT, 'scripts/build-images'), [], {
        env: { ...PODMAN_ENV, DISCBRIDGE_BUILD_CA: '/etc/ssl/certs/ca-certificates.crt' },
        stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024,
      });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
      writeFileSync(log, `${stdout ?? ''}${stderr ?? ''}`);
      throw new Error(`npm run images failed; its output is in ${log}`);
    }
    figures['build, both images'] = seconds(Date.now() - started) + (REUSE ? ' (cached layers)' : ' (from scratch, base included)');
  });

  afterAll(async () => {
    dashboard?.close();
    for (const container of extraContainers) podmanStatus('rm', '--force', '--volumes', container);
    if (project) {
      const logs = ['hub', 'agent'].map((service) => { try { return podmanStatus('logs', containerOf(service)).output; } catch { return ''; } });
      writeFileSync(join(ARTIFACTS, 'containers', 'station.log'), logs.join('\n---- agent\n'));
      await compose(project, 'down', '-v').catch(() => '');
      // podman-compose 1.0.3 leaves the project's network behind.
      podmanStatus('network', 'rm', '--force', `${project.name}_default`);
      rmSync(project.dir, { recursive: true, force: true });
    }
    // The build stage (about 950 MB) and the images this build replaced stay behind as dangling images otherwise;
    // the Containerfile labels its images, so no one else's go.
    if (!REUSE) podmanStatus('image', 'prune', '--force', '--filter', 'label=io.discbridge.containerfile=1');
    restoreDrive?.();
    drive?.release();
    console.log(Object.entries(figures).map(([what, figure]) => `${what}: ${figure}`).join('\n'));
  });

  it('builds both images small, each with its user, health check, stop signal, volumes and labels, and no build tools', () => {
    for (const [image, user, healthCommand, volumes] of [
      ['discbridge-hub', 'discbridge', 'health hub', ['/var/lib/discbridge']],
      ['discbridge-agent', 'discbridge', 'health agent', ['/rips', '/var/lib/discbridge']],
    ] as const) {
      const inspected = JSON.parse(podman('image', 'inspect', `${image}:latest`))[0];
      const config = inspected.Config;
      expect(config.User).toBe(user);
      expect(config.StopSignal).toBe('SIGTERM');
      expect(inspected.Healthcheck.Test.join(' ')).toContain(healthCommand);
      expect(Object.keys(config.Volumes).sort()).toEqual(volumes);
      expect(config.Labels).toMatchObject({ 'org.opencontainers.image.title': image, 'org.opencontainers.image.version': '0.1.0' });
      const leftovers = podman('run', '--rm', '--entrypoint', 'sh', `${image}:latest`, '-c',
        'for tool in g++ gcc make curl npm mmdebstrap; do command -v $tool; done; ls /var/lib/apt/lists /var/cache/apt/archives | grep -v -e "^partial$" -e "^lock$" -e ":$" -e "^$"; ls /app; true');
      expect(leftovers.split('\n').sort()).toEqual(['app', 'node_modules', 'package.json', 'web']);
      figures[`${image} size`] = `${Math.round(inspected.Size / 1e6)} MB`;
    }
    const users = podman('run', '--rm', '--entrypoint', 'id', 'discbridge-agent:latest');
    expect(users).toBe(`uid=${IMAGE_UID}(discbridge) gid=${IMAGE_UID}(discbridge) groups=${IMAGE_UID}(discbridge),${CDROM_GID}(cdrom)`);
  });

  it('runs the compose station: a disc in the drive is ripped, the dashboard on the port sees it, the files land on the host', async () => {
    drive = VirtualDrive.reserve();
    const device = drive.device;
    const before = statSync(device);
    restoreDrive = () => { chownSync(device, before.uid, before.gid); chmodSync(device, before.mode & 0o7777); };
    // As udev makes a real /dev/sr0.
    chownSync(device, 0, CDROM_GID);
    chmodSync(device, 0o660);

    const dir = mkdtempSync(join(tmpdir(), 'discbridge-compose-'));
    const rips = join(dir, 'rips');
    mkdirSync(rips);
    chownSync(rips, IMAGE_UID, IMAGE_UID);
    copyFileSync(join(ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
    writeFileSync(join(dir, 'discbridge.env'), [
      `DISCBRIDGE_TOKEN=${randomBytes(24).toString('hex')}`, 'DISCBRIDGE_MIN_TITLE_SECONDS=10', 'DISCBRIDGE_AGENT_NAME=Boxed station', '',
    ].join('\n'));
    const port = await freePort();
    project = { dir, name: `discbridge-test-${process.pid}`, file: join(dir, 'compose.yaml'), port, rips, env: { DRIVE: device, HUB_PORT: String(port), RIPS: rips } };

    const started = Date.now();
    await compose(project, 'up', '-d');
    await waitFor(() => hubAnswers(port), 60_000, 'the hub container to answer /health');
    figures['compose up to the hub answering /health'] = seconds(Date.now() - started);
    dashboard = await DashboardClient.connect(`ws://127.0.0.1:${port}/ws`);
    await waitFor(async () => {
      const drives = await (await fetch(`http://127.0.0.1:${port}/api/drives`)).json() as { drive_id: string }[];
      return drives.some((d) => d.drive_id === device);
    }, 60_000, 'the agent container to report its drive');
    figures['compose up to the agent reporting its drive'] = seconds(Date.now() - started);

    for (const service of ['hub', 'agent']) {
      const check = podmanStatus('healthcheck', 'run', containerOf(service));
      expect(check, `${service} health check`).toMatchObject({ status: 0 });
    }

    const insertedAt = Date.now();
    drive.insert(makeDisc('containers-short', SHORT_DISC));
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted' && m.drive_id === device, 30_000);
    const done = await dashboard.waitFor(isJob(await jobOf('E2E_BOXED', 0), 'completed'), 150_000);
    figures['short disc (12 s title), insert to completed'] = seconds(Date.now() - insertedAt);
    const record = await (await fetch(`http://127.0.0.1:${port}/api/jobs/${done.job_id}`)).json();
    expect(record).toMatchObject({ agent_id: 'discbridge-station', drive_id: device, volume_label: 'E2E_BOXED', state: 'completed' });
    expect(filesUnder(rips)).toEqual(['E2E_BOXED/E2E_BOXED_t01.mkv']);
    const file = join(rips, 'E2E_BOXED/E2E_BOXED_t01.mkv');
    expect(statSync(file).uid).toBe(IMAGE_UID);
    expect(Math.abs(probeDuration(file) - 12)).toBeLessThan(1.5);
  });

  it('podman stop mid-rip ends the job interrupted within the grace period; the next start recovers and rips the next disc', async () => {
    const { rips } = project!;
    const device = drive!.device;
    drive!.eject();
    await dashboard!.waitFor((m) => m.type === 'drive_event' && m.event === 'removed' && m.drive_id === device, 30_000);
    const beforeLong = dashboard!.received.length;
    drive!.insert(makeDisc('containers-long', LONG_DISC));
    const ripping = await dashboard!.waitFor(isJob(await jobOf('E2E_BOXED_LONG', beforeLong), 'ripping'), 120_000, beforeLong);
    await dashboard!.waitFor((m) => m.type === 'job_update' && m.job_id === ripping.job_id && (m.progress_percent ?? 0) > 1, 120_000, beforeLong);

    const agent = containerOf('agent');
    const stopping = Date.now();
    podman('stop', '--time', '40', agent);
    const stopMs = Date.now() - stopping;
    figures['podman stop of the agent mid-rip'] = seconds(stopMs);
    expect(stopMs).toBeLessThan(40_000); // it ended by itself: podman did not have to kill it
    expect(JSON.parse(podman('inspect', agent))[0].State.ExitCode).toBe(0);
    const stopped = containerRecords(agent).map((r) => r.msg);
    expect(stopped).toContain('Agent stopped');

    const starting = Date.now();
    podman('start', agent);
    const interrupted = await dashboard!.waitFor(isJob(ripping.job_id, 'interrupted'), 60_000, beforeLong);
    expect(interrupted.error_message).toMatch(/shut down during the job/);
    const job = await (await fetch(`http://127.0.0.1:${project!.port}/api/jobs/${ripping.job_id}`)).json() as { state: string };
    expect(job.state).toBe('interrupted');
    // The interrupted rip's partial file is gone; the first disc's file is untouched.
    await waitFor(() => filesUnder(rips).join() === 'E2E_BOXED/E2E_BOXED_t01.mkv', 30_000, 'the partial file of the interrupted rip to be removed');

    // Its health answers once it watches the drive again; the long disc, found in the drive at start, waits for a person.
    await waitFor(() => podmanStatus('healthcheck', 'run', agent).status === 0, 30_000, 'the restarted agent to answer its health check');
    figures['podman start of the agent to its health check passing'] = seconds(Date.now() - starting);
    const since = dashboard!.received.length;
    drive!.eject();
    await dashboard!.waitFor((m) => m.type === 'drive_event' && m.event === 'removed' && m.drive_id === device, 30_000, since);
    drive!.insert(makeDisc('containers-short', SHORT_DISC));
    const next = await jobOf('E2E_BOXED', since);
    expect(next).not.toBe(ripping.job_id);
    await dashboard!.waitFor(isJob(next, 'completed'), 150_000, since);
  });

  it('rips with a MakeMKV mounted into the agent container, as the README says (the stand-in replaying a real capture)', async () => {
    const { dir, name, rips } = project!;
    const device = drive!.device;
    // The compose agent steps aside: one drive, one agent.
    podman('stop', containerOf('agent'));
    const makemkvRips = join(dir, 'makemkv-rips');
    mkdirSync(makemkvRips);
    chownSync(makemkvRips, IMAGE_UID, IMAGE_UID);
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify({ info: 'dvd_info_automakemkv_mrpoppers_v1.16.5.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt', saveSeconds: 2 }));
    const container = `discbridge-test-makemkv-${process.pid}`;
    extraContainers.push(container);
    const since = dashboard!.received.length;
    drive!.eject();
    podman('run', '-d', '--name', container, '--network', `${name}_default`, '--device', device, '--env-file', join(dir, 'discbridge.env'),
      '-v', `${join(ROOT, 'test/makemkv-standin')}:/opt/makemkv/makemkv-standin:ro`, '-v', `${join(ROOT, 'test/fixtures/makemkv')}:/opt/makemkv/fixtures/makemkv:ro`,
      '-v', `${join(dir, 'scenario.json')}:/opt/makemkv/scenario.json:ro`, '-v', `${makemkvRips}:/rips`,
      '-e', 'DISCBRIDGE_HUB_URL=ws://hub:8000', '-e', 'DISCBRIDGE_AGENT_ID=makemkv-station', '-e', `DISCBRIDGE_DRIVES=${device}`, '-e', 'DISCBRIDGE_MIN_TITLE_SECONDS=600',
      '-e', 'DISCBRIDGE_RIPPER=makemkv', '-e', 'DISCBRIDGE_MAKEMKVCON=/opt/makemkv/makemkv-standin/makemkvcon.mjs', '-e', 'MAKEMKVCON_STANDIN_SCENARIO=/opt/makemkv/scenario.json',
      'discbridge-agent:latest');
    await dashboard!.waitFor((m) => m.type === 'agent_update' && m.agent_id === 'makemkv-station' && m.state === 'online', 60_000, since);
    drive!.insert(makeDisc('containers-short', SHORT_DISC));
    const job = await dashboard!.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.agent_id === 'makemkv-station', 60_000, since);
    const done = await dashboard!.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.agent_id === 'makemkv-station' && m.job_id === job.job_id && ['completed', 'failed'].includes(m.state), 120_000, since);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });
    expect(filesUnder(makemkvRips).length).toBeGreaterThan(0);
    expect(filesUnder(rips)).toContain('E2E_BOXED/E2E_BOXED_t01.mkv');
    podman('rm', '--force', '--volumes', container);
    drive!.eject();
  });

  it('tells a person what to fix when the drive is not passed in, or its node is not readable by the container\'s user', async () => {
    const device = drive!.device;
    const cases: { name: string; args: string[]; sentence: string; gid?: number }[] = [
      { name: 'no-drive', args: [], sentence: 'No drive node matches /dev/sr0 in this container: pass the drive in' },
      { name: 'no-makemkv', args: ['--device', device, '-e', 'DISCBRIDGE_RIPPER=makemkv'], sentence: 'the image cannot carry MakeMKV (it is not redistributable): mount your MakeMKV folder into the container and set DISCBRIDGE_MAKEMKVCON to makemkvcon in it' },
      // A host whose drive group has another gid than Debian's cdrom (Fedora's is 11), and no group_add.
      { name: 'other-gid', gid: FEDORA_CDROM_GID, args: ['--device', device], sentence: `${device} is owned by 0:${FEDORA_CDROM_GID} with mode 0660, and this process (uid ${IMAGE_UID}, groups ${CDROM_GID},${IMAGE_UID}) cannot read it: add the group to the container's user (compose: group_add: ["${FEDORA_CDROM_GID}"]; the number must be the host's gid ${FEDORA_CDROM_GID})` },
    ];
    for (const { name, args, sentence, gid } of cases) {
      if (gid !== undefined) chownSync(device, 0, gid);
      const container = `discbridge-test-${name}-${process.pid}`;
      extraContainers.push(container);
      podman('run', '-d', '--name', container, ...args, '-e', 'DISCBRIDGE_TOKEN=unused', '-e', 'DISCBRIDGE_HUB_URL=ws://127.0.0.1:9',
        '-e', `DISCBRIDGE_DRIVES=${name === 'no-drive' ? '/dev/sr0' : device}`, 'discbridge-agent:latest');
      await waitFor(() => containerRecords(container).some((r) => String(r.msg).includes(sentence)), 30_000, `the agent to log "${sentence}"`);
      const record = containerRecords(container).find((r) => String(r.msg).includes(sentence));
      expect(record).toMatchObject({ level: 50 });
      expect(String(record!.msg)).toMatch(name === 'no-makemkv' ? /^makemkvcon/ : /^Station check: /);
    }
  });
});
