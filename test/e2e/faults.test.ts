// Faults on real processes, loopback only: the hub killed mid-rip, the agent killed mid-rip, the network cut and
// stalled by a proxy, the same batch replayed twice, and a dashboard that stops reading during a burst.
import { existsSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FINISHED_JOB_STATES, JobDetail, DriveRecord, type AgentUpdate, type JobUpdate } from '../../shared/index.js';
import {
  ScriptedAgent, Station, VirtualDrive, freePort, toolProcesses, loopDevicesUnavailable, makeDisc, residentBytes, toolsUnavailable, waitFor,
} from './harness.js';
import { TcpProxy } from './tcp-proxy.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI');
if (skipReason) console.warn(`Skipping fault tests: ${skipReason}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectEveryEventOnce(station: Station): void {
  const { hub, agentLast } = station.eventSequences();
  expect(agentLast).toBeGreaterThan(5);
  expect(hub).toEqual(Array.from({ length: agentLast }, (_, i) => i + 1));
}

describe.skipIf(skipReason !== undefined)('faults', () => {
  let station: Station | undefined;
  let proxy: TcpProxy | undefined;
  let longDisc: string;
  let shortDisc: string;

  beforeAll(() => {
    longDisc = makeDisc('e2e-long', ['--label', 'E2E_LONG', '--title', '150:5']);
    shortDisc = makeDisc('e2e-short', ['--label', 'E2E_SHORT', '--title', '15:1', '--size', '352x240']);
  }, 120_000);

  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    await station?.stop();
    station = undefined;
  });

  it('SIGKILL the hub mid-rip: the rip goes on, nothing is lost or doubled, a reconnected dashboard sees it completed', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'kill-hub' });
    await station.start();
    const first = await station.dashboard();
    station.drive.insert(longDisc);
    const ripping = await first.waitFor((m): m is JobUpdate => m.type === 'job_update' && (m.progress_percent ?? 0) > 10, 60_000);
    const toolPid = toolProcesses('HandBrakeCLI', station.drive.device)[0];

    await station.hub!.stop('SIGKILL');
    await sleep(3000);
    expect(toolProcesses('HandBrakeCLI', station.drive.device)).toContain(toolPid); // the rip did not stop with the hub
    await station.startHub();
    const second = await station.dashboard();
    await waitFor(async () => (await station!.get<JobDetail>(`/api/jobs/${ripping.job_id}`)).state === 'completed', 120_000, 'the job to complete at the hub');

    const job = JobDetail.parse(await station.get(`/api/jobs/${ripping.job_id}`));
    expect(job.titles.map((t) => t.state)).toEqual(['completed']);
    expect(Date.parse(job.finished_at!) - Date.parse(job.started_at)).toBeGreaterThan(0);
    // The reconnected dashboard saw the missed events replayed, or the REST view it reloads has them.
    expect(second.messages('job_update').some((m) => m.job_id === ripping.job_id && m.state === 'completed')
      || job.state === 'completed').toBe(true);
    expect(second.contractViolations).toEqual([]);

    await station.agent!.stop();
    await station.hub!.stop();
    expectEveryEventOnce(station);
    // The title was started once: the rip was never restarted.
    const hubDb = new Database(station.hubDatabase, { readonly: true });
    const starts = hubDb.prepare(`SELECT COUNT(*) AS n FROM events WHERE type = 'title_update' AND body LIKE '%"state":"ripping"%'`).get() as { n: number };
    hubDb.close();
    expect(starts.n).toBe(1);
  }, 240_000);

  it('SIGKILL the agent mid-rip: the job ends interrupted, no tool is left running, the drive takes the next disc', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'kill-agent' });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(longDisc);
    const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && (m.progress_percent ?? 0) > 5, 60_000);
    expect(toolProcesses('HandBrakeCLI', station.drive.device)).toHaveLength(1);

    await station.agent!.stop('SIGKILL');
    await station.startAgent();

    const interrupted = await dashboard.waitFor(
      (m): m is JobUpdate => m.type === 'job_update' && m.job_id === ripping.job_id && FINISHED_JOB_STATES.has(m.state), 20_000);
    expect(interrupted.state).toBe('interrupted');
    expect(interrupted.error_message).toMatch(/The station stopped while this job was running/);
    await waitFor(() => toolProcesses('HandBrakeCLI', station!.drive.device).length === 0, 5000, 'the orphaned HandBrakeCLI to be killed');
    expect(existsSync(station.outputDir) ? readdirSync(station.outputDir) : []).toEqual([]);
    const job = JobDetail.parse(await station.get(`/api/jobs/${ripping.job_id}`));
    expect(job).toMatchObject({ state: 'interrupted', reachable: true });
    expect(job.titles.map((t) => t.state)).toEqual(['interrupted']);

    // The disc still in the drive is not ripped again on its own; a new insert is a new job.
    station.drive.eject();
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    station.drive.insert(shortDisc);
    const next = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id !== ripping.job_id && FINISHED_JOB_STATES.has(m.state), 60_000);
    expect(next.state).toBe('completed');
    expect(dashboard.messages('job_update').filter((m) => m.job_id !== ripping.job_id && m.state === 'identifying')).toHaveLength(1);
    expect(dashboard.contractViolations).toEqual([]);
  }, 240_000);

  it('a cut and then a silent stall of the network: the agent notices, reconnects, and nothing is lost', async () => {
    const drive = VirtualDrive.reserve();
    const hubPort = await freePort();
    proxy = new TcpProxy(hubPort);
    await proxy.start();
    const via = proxy;
    station = new Station(drive, { name: 'network', agentHubPort: () => via.port });
    station.port = hubPort;
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(longDisc);
    const ripping = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && (m.progress_percent ?? 0) > 5, 60_000);

    // A cut: the hub sees the station go and come back.
    let mark = dashboard.received.length;
    proxy.cut();
    await dashboard.waitFor((m): m is AgentUpdate => m.type === 'agent_update' && m.state === 'offline', 10_000, mark);
    await dashboard.waitFor((m): m is AgentUpdate => m.type === 'agent_update' && m.state === 'online', 15_000, mark);

    // A stall: no close, no bytes. Heartbeats find it on both sides.
    mark = dashboard.received.length;
    const stalledAt = Date.now();
    proxy.stall();
    const offline = await dashboard.waitFor((m): m is AgentUpdate => m.type === 'agent_update' && m.state === 'offline', 15_000, mark);
    const offlineAfter = dashboard.receivedAt(offline) - stalledAt;
    expect(offlineAfter).toBeLessThan(5000); // heartbeat 1 s, two missed pings
    const drives = DriveRecord.array().parse(await station.get('/api/drives'));
    expect(drives[0]?.reachable).toBe(false);
    expect(JobDetail.parse(await station.get(`/api/jobs/${ripping.job_id}`)).reachable).toBe(false);
    await sleep(2000);
    proxy.resume();
    await dashboard.waitFor((m): m is AgentUpdate => m.type === 'agent_update' && m.state === 'online', 30_000, mark);

    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.job_id === ripping.job_id && FINISHED_JOB_STATES.has(m.state), 120_000);
    expect(done.state).toBe('completed');
    expect(dashboard.contractViolations).toEqual([]);
    await station.agent!.stop();
    await station.hub!.stop();
    expectEveryEventOnce(station);
  }, 240_000);

  it('the same batch replayed twice changes nothing', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'replay' });
    await station.startHub();
    const dashboard = await station.dashboard();
    const agent = await ScriptedAgent.connect(station.port, station.token, 'scripted');
    expect(agent.welcome).toMatchObject({ last_seq: 0, last_job_id: 0 });
    const batch = {
      kind: 'events',
      events: [
        { seq: 1, at: Date.now(), event: { type: 'drive_event', agent_id: 'scripted', drive_id: '/dev/sr0', event: 'inserted', volume_label: 'TWICE', disc_type: 'dvd' } },
        { seq: 2, at: Date.now(), event: { type: 'job_update', agent_id: 'scripted', job_id: 1, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'TWICE' } },
        { seq: 3, at: Date.now(), event: { type: 'titles_discovered', agent_id: 'scripted', job_id: 1, titles: [{ title_id: 1, duration_seconds: 300, chapters: 3, expected_size_bytes: 1000, selected: true }] } },
        { seq: 4, at: Date.now(), event: { type: 'job_update', agent_id: 'scripted', job_id: 1, state: 'completed', progress_percent: 100 } },
      ],
    };
    agent.send(batch);
    agent.send(batch);
    await dashboard.waitFor((m) => m.type === 'job_update' && m.state === 'completed', 5000);
    const before = await station.get<unknown>('/api/jobs');
    agent.send(batch);
    await agent.drain();
    await sleep(300);
    expect(await station.get<unknown>('/api/jobs')).toEqual(before);
    const events = dashboard.received.filter((r) => r.message.type !== 'hello' && r.message.type !== 'agent_update');
    expect(events.map((r) => r.message.type)).toEqual(['drive_event', 'job_update', 'titles_discovered', 'job_update']);
    // Revisions rise by one per state change, so a client can tell nothing was missed.
    const revs = dashboard.received.map((r) => ('rev' in r.message ? r.message.rev : undefined)).filter((rev): rev is number => rev !== undefined);
    for (let i = 1; i < revs.length; i++) expect(revs[i]).toBe((revs[i - 1] as number) + 1);
    agent.close();
    await station.hub!.stop();
    const hubDb = new Database(station.hubDatabase, { readonly: true });
    expect((hubDb.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(4);
    expect((hubDb.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n).toBe(1);
    hubDb.close();
  }, 60_000);

  it('a dashboard that stops reading neither slows the others nor grows the hub without bound', async () => {
    // A burst far faster than any station sends: the per-station message limit is raised for it.
    station = new Station(VirtualDrive.reserve(), { name: 'slow-dashboard', hubEnv: { DISCBRIDGE_MAX_STATION_MESSAGES: '1000000' } });
    await station.startHub();
    const good = await station.dashboard();
    const stuck = new WebSocket(`ws://127.0.0.1:${station.port}/ws`);
    await new Promise((resolve) => stuck.once('open', resolve));
    (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
    const agent = await ScriptedAgent.connect(station.port, station.token, 'burst');
    agent.send({ kind: 'event', seq: 1, at: Date.now(), event: { type: 'job_update', agent_id: 'burst', job_id: 1, state: 'ripping', drive_id: '/dev/sr0' } });
    await good.waitFor((m) => m.type === 'job_update', 5000);
    // Two long bursts (about 16 MB of frames each, more than the kernel's socket buffers hold) of progress updates,
    // with a state change every 1000 of them. The first lets the hub's heap reach its working size; after the
    // second, memory must not have grown with the burst.
    const label = 'x'.repeat(200);
    const padding = 'p'.repeat(400);
    let seq = 1;
    const burst = async () => {
      for (let i = 1; i <= 30_000; i++) {
        if (i % 1000 === 0) {
          seq++;
          agent.send({ kind: 'event', seq, at: Date.now(), event: { type: 'title_update', agent_id: 'burst', job_id: 1, title_id: seq, state: 'ripping', output_filename: label } });
        } else {
          agent.send({ kind: 'progress', after_seq: seq, at: Date.now(), event: { type: 'job_update', agent_id: 'burst', job_id: 1, state: 'ripping', progress_percent: (i % 1000) / 10, current_speed: '1.0x', error_message: padding } });
        }
        if (i % 500 === 0) await agent.drain();
      }
      const sentAt = Date.now();
      const last = await good.waitFor((m) => m.type === 'title_update' && m.title_id === seq, 20_000);
      return good.receivedAt(last) - sentAt;
    };
    await burst();
    const rssBefore = residentBytes(station.hub!.child.pid!);
    const lag = await burst();
    const rssAfter = residentBytes(station.hub!.child.pid!);
    console.info(`hub RSS with one stuck dashboard: ${Math.round(rssBefore / 1e6)} MB after one burst, ${Math.round(rssAfter / 1e6)} MB after two; good client's lag at the end ${lag} ms`);
    expect(lag).toBeLessThan(2000);
    expect(good.messages('title_update').map((m) => m.title_id)).toEqual(Array.from({ length: 60 }, (_, i) => i + 2));
    // 32 MB of frames went out while the stuck client was connected; buffering them for it would show here.
    // (RSS also moves with the garbage collector, so the bound is loose; the benchmark reports the figures.)
    expect(rssAfter - rssBefore).toBeLessThan(96 * 1024 * 1024);
    // The hub drops the stuck client (it answers no pings, and stays past the soft limit); the good one stays.
    // (The stuck client itself cannot notice: it reads nothing, not even the close.)
    await waitFor(() => station!.hub!.records().some((r) => String(r.msg).startsWith('Dropping a dashboard client')), 15_000, 'the hub to drop the stuck dashboard');
    const health = await station.get<{ dashboards: { clients: number; dropped: number } }>('/health');
    expect(health.dashboards).toMatchObject({ clients: 1, dropped: 1 });
    expect(good.messages('hello')).toHaveLength(1);
    expect(good.contractViolations).toEqual([]);
    agent.close();
    stuck.terminate();
  }, 90_000);
});

