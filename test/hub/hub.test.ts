// The Hub as a whole: it keeps serving through garbage from agents and raw clients, closes its sockets on stop,
// and a new Hub on the same data dir serves what the old one stored.
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobPage, LinkCloseCode, type JobState, type StationEvent } from '../../shared/index.js';
import { HubFixture, agentPeer, eventEnvelope, getJson } from './helpers.js';

const fx = new HubFixture();
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

const api = (path: string, init?: RequestInit) => getJson(`${fx.hub.base}${path}`, init);
const sr0 = { drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false };
const job = (jobId: number, state: JobState, extra: Record<string, unknown> = {}): StationEvent =>
  ({ type: 'job_update', agent_id: 'station-1', job_id: jobId, state, drive_id: '/dev/sr0', ...extra }) as StationEvent;

describe('garbage', () => {
  it('keeps serving after an agent sends garbage, before and after its hello', async () => {
    const dashboard = await fx.dashboard();
    const early = fx.track(agentPeer(fx.hub.port));
    await early.opened;
    early.ws.send(Buffer.from([0, 1, 2, 3, 255]));
    expect((await early.closed).code).toBe(LinkCloseCode.BadHello);

    const late = await fx.agent('garbler');
    late.send('\u0000\u0001{{{{');
    expect((await late.closed).code).toBe(LinkCloseCode.BadMessage);

    expect(await api('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const agent = await fx.agent('station-1', [sr0]);
    expect(await fx.event(agent, dashboard, 1, job(7, 'ripping'))).toMatchObject({ job_id: 1, state: 'ripping' });
  });

  it('closes an agent that sends a frame over 1 MiB with 1009 and keeps serving', async () => {
    const dashboard = await fx.dashboard();
    const big = await fx.agent('big');
    big.send(JSON.stringify({ ...eventEnvelope(1, job(1, 'ripping')), padding: 'x'.repeat(1024 * 1024) }));
    expect((await big.closed).code).toBe(1009);
    const agent = await fx.agent('station-1', [sr0]);
    expect(await fx.event(agent, dashboard, 1, job(7, 'ripping'))).toMatchObject({ job_id: 1 });
  });

  it('answers a raw non-HTTP client with 400 and keeps serving', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(fx.hub.port, '127.0.0.1', () => socket.write('GARBAGE \u0001\u0002 NOT HTTP\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => { text += chunk; });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await api('/health')).status).toBe(200);
  });
});

describe('stop and restart', () => {
  it('closes agent and dashboard sockets with 1001 on stop', async () => {
    const dashboard = await fx.dashboard();
    const agent = await fx.agent('station-1', [sr0]);
    await fx.restart();
    expect(await agent.closed).toEqual({ code: 1001, reason: 'Hub is shutting down' });
    expect((await dashboard.closed).code).toBe(1001);
  });

  it('a new Hub on the same data dir lists the old jobs and carries on without reusing ids or replaying seqs', async () => {
    let dashboard = await fx.dashboard();
    let agent = await fx.agent('station-1', [sr0]);
    await fx.event(agent, dashboard, 1, job(7, 'ripping', { volume_label: 'THE_MOVIE', progress_percent: 10 }));
    await fx.event(agent, dashboard, 2, job(7, 'completed', { progress_percent: 100, output_dir: 'The Movie' }));
    await fx.event(agent, dashboard, 3, job(8, 'ripping', { progress_percent: 20 }));
    const jobs = await api('/api/jobs');
    const first = await api('/api/jobs/1');
    expect(jobs.body.jobs.map((j: { job_id: number }) => j.job_id)).toEqual([2, 1]);

    expect(jobs.body.jobs.map((j: { job_id: number; reachable: boolean }) => [j.job_id, j.reachable])).toEqual([[2, true], [1, true]]);
    const revision = Number((await fetch(`${fx.hub.base}/api/jobs`)).headers.get('X-Discbridge-Revision'));

    await fx.restart();
    // The same records, except that the unfinished job now says its station cannot be reached (protocol 2).
    const after = await api('/api/jobs');
    expect(after).toEqual({
      ...jobs,
      body: { ...jobs.body, jobs: jobs.body.jobs.map((j: { state: string }) => ({ ...j, reachable: j.state !== 'ripping' })) },
    });
    expect(JobPage.parse(jobs.body)).toEqual(jobs.body);
    expect(JobPage.parse(after.body)).toEqual(after.body);
    // The revision survives the restart: 3 events and the agent coming online, then going offline at the stop.
    expect(revision).toBe(4);
    const restarted = await fetch(`${fx.hub.base}/api/jobs`);
    expect(Number(restarted.headers.get('X-Discbridge-Revision'))).toBe(revision + 1);
    expect(await api('/api/jobs/1')).toEqual(first);
    expect(first.body).toMatchObject({ state: 'completed', output_dir: 'The Movie', finished_at: expect.any(String) });
    expect((await api('/api/agents')).body).toMatchObject([{ agent_id: 'station-1', state: 'offline' }]);
    expect((await api('/api/drives')).body).toMatchObject([{ drive_id: '/dev/sr0', job_id: 2, reachable: false }]);

    dashboard = await fx.dashboard();
    expect(dashboard.frames.map((f) => JSON.parse(f))[0]).toMatchObject({ type: 'hello', rev: revision + 1 });
    const welcomed = await fx.agentWelcomed('station-1', [sr0]);
    agent = welcomed.peer;
    // The hub tells the station what it stored: the last seq and its highest job number.
    expect(welcomed.welcome).toMatchObject({ last_seq: 3, last_job_id: 8 });
    // Old seqs are not applied again; the first job_update through is seq 4.
    agent.send(eventEnvelope(3, job(8, 'failed', { error_message: 'replayed' })));
    expect(await fx.event(agent, dashboard, 4, job(8, 'ripping', { progress_percent: 30 }))).toMatchObject({ job_id: 2, progress_percent: 30 });
    expect(await fx.event(agent, dashboard, 5, job(9, 'identifying'))).toMatchObject({ job_id: 3 });
    expect((await api('/api/jobs')).body.jobs.map((j: { job_id: number; state: string }) => [j.job_id, j.state]))
      .toEqual([[3, 'identifying'], [2, 'ripping'], [1, 'completed']]);
  });
});
