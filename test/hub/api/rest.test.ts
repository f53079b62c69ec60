// The REST API of a real Hub over real HTTP: the current view of agents, drives and jobs, the bounds on its queries,
// and the cancel and eject commands carried to the agent socket and back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AgentRecord, ApiError, DriveRecord, HubCommand, JobDetail, JobPage,
  type JobState, type StationEvent,
} from '../../../shared/index.js';
import { HubFixture, Peer, getJson } from '../helpers.js';

const fx = new HubFixture();
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

const api = (path: string, init?: RequestInit) => getJson(`${fx.hub.base}${path}`, init);
const post = (path: string) => api(path, { method: 'POST' });

function expectApiError(response: { status: number; body: unknown }, status: number, pattern?: RegExp): void {
  expect(response.status).toBe(status);
  expect(ApiError.strict().parse(response.body)).toEqual(response.body);
  const { error } = response.body as { error: string };
  expect(error.length).toBeLessThan(200);
  expect(error).not.toMatch(/\n|Error:|at .*:\d+/);
  if (pattern) expect(error).toMatch(pattern);
}

const sr0 = { drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false };
const sr1 = { drive_id: '/dev/sr1', has_disc: false, busy: false };

function jobUpdate(agentId: string, jobId: number, state: JobState, extra: Partial<StationEvent & { type: 'job_update' }> = {}): StationEvent {
  return { type: 'job_update', agent_id: agentId, job_id: jobId, state, ...extra } as StationEvent;
}

describe('GET', () => {
  it('/health', async () => {
    expect(await api('/health')).toMatchObject({
      status: 200,
      body: {
        status: 'ok', uptime_seconds: expect.any(Number), revision: 0, stations_online: 0,
        dashboards: { clients: 0, slow: 0, dropped: 0 },
        memory: { rss_bytes: expect.any(Number), heap_used_bytes: expect.any(Number) },
      },
    });
    const dashboard = await fx.dashboard();
    await fx.agent('station-1');
    await dashboard.next((m) => m.type === 'agent_update');
    expect((await api('/health')).body).toMatchObject({ status: 'ok', revision: 1, stations_online: 1, dashboards: { clients: 1, slow: 0, dropped: 0 } });
  });

  it('an unknown path is 404 in JSON', async () => {
    expectApiError(await api('/api/nothing'), 404);
    // `/` is the dashboard page now; a path that is neither the API nor one of its files is still a JSON 404.
    expectApiError(await api('/no-such-page.json'), 404);
  });

  it('/api/agents lists agents online, then offline once gone', async () => {
    const dashboard = await fx.dashboard();
    expect((await api('/api/agents')).body).toEqual([]);
    const one = await fx.agent('station-1', [sr0]);
    await fx.agent('station-2', [sr1]);
    let { status, body } = await api('/api/agents');
    expect(status).toBe(200);
    expect(body.map((a: AgentRecord) => [a.agent_id, a.state])).toEqual([['station-1', 'online'], ['station-2', 'online']]);
    for (const agent of body) expect(AgentRecord.parse(agent)).toEqual(agent);
    await one.close();
    await dashboard.next((m) => m.type === 'agent_update' && m.agent_id === 'station-1' && m.state === 'offline');
    ({ body } = await api('/api/agents'));
    expect(body.map((a: AgentRecord) => [a.agent_id, a.state])).toEqual([['station-1', 'offline'], ['station-2', 'online']]);
  });

  it('/api/drives says reachable while the agent is online and not after', async () => {
    const dashboard = await fx.dashboard();
    const agent = await fx.agent('station-1', [sr0, sr1]);
    await fx.event(agent, dashboard, 1, jobUpdate('station-1', 7, 'ripping', { drive_id: '/dev/sr0' }));
    let { status, body } = await api('/api/drives');
    expect(status).toBe(200);
    expect(body).toEqual([
      { agent_id: 'station-1', drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd', job_id: 1, reachable: true },
      { agent_id: 'station-1', drive_id: '/dev/sr1', has_disc: false, reachable: true },
    ]);
    for (const drive of body) expect(DriveRecord.parse(drive)).toEqual(drive);
    await agent.close();
    await dashboard.next((m) => m.type === 'agent_update' && m.state === 'offline');
    ({ body } = await api('/api/drives'));
    expect(body.map((d: DriveRecord) => [d.drive_id, d.reachable])).toEqual([['/dev/sr0', false], ['/dev/sr1', false]]);
  });

  describe('/api/jobs', () => {
    let one: Peer;
    let jobsDashboard: Peer;
    beforeEach(async () => {
      const dashboard = await fx.dashboard();
      jobsDashboard = dashboard;
      one = await fx.agent('station-1', [sr0]);
      const two = await fx.agent('station-2', [sr1]);
      // Hub ids 1..5 in this order.
      await fx.event(one, dashboard, 1, jobUpdate('station-1', 7, 'completed', { drive_id: '/dev/sr0' }));
      await fx.event(two, dashboard, 1, jobUpdate('station-2', 7, 'failed', { drive_id: '/dev/sr1', error_message: 'Read error' }));
      await fx.event(one, dashboard, 2, jobUpdate('station-1', 8, 'ripping', { drive_id: '/dev/sr0', progress_percent: 50 }));
      await fx.event(two, dashboard, 2, jobUpdate('station-2', 8, 'identifying', { drive_id: '/dev/sr1' }));
      await fx.event(one, dashboard, 3, jobUpdate('station-1', 9, 'ripping', { drive_id: '/dev/sr0' }));
    });

    it('lists newest first, with next_before for the next page', async () => {
      const all = await api('/api/jobs');
      expect(all.status).toBe(200);
      expect(JobPage.parse(all.body)).toEqual(all.body);
      expect(all.body.jobs.map((j: { job_id: number }) => j.job_id)).toEqual([5, 4, 3, 2, 1]);
      expect(all.body).not.toHaveProperty('next_before');
      expect(all.body.jobs[3]).toMatchObject({ job_id: 2, agent_id: 'station-2', state: 'failed', error_message: 'Read error' });
      for (const job of all.body.jobs) expect(job).not.toHaveProperty('agent_job_id');

      const first = await api('/api/jobs?limit=2');
      expect(first.body.jobs.map((j: { job_id: number }) => j.job_id)).toEqual([5, 4]);
      expect(first.body.next_before).toBe(4);
      const second = await api(`/api/jobs?limit=2&before=${first.body.next_before}`);
      expect(second.body.jobs.map((j: { job_id: number }) => j.job_id)).toEqual([3, 2]);
      const third = await api(`/api/jobs?limit=2&before=${second.body.next_before}`);
      expect(third.body).toEqual({ jobs: [expect.objectContaining({ job_id: 1 })] });
    });

    it('filters by agent, drive and state', async () => {
      const ids = async (query: string): Promise<number[]> =>
        (await api(`/api/jobs?${query}`)).body.jobs.map((j: { job_id: number }) => j.job_id);
      expect(await ids('agent_id=station-1')).toEqual([5, 3, 1]);
      expect(await ids(`drive_id=${encodeURIComponent('/dev/sr1')}`)).toEqual([4, 2]);
      expect(await ids('state=ripping')).toEqual([5, 3]);
      expect(await ids('state=ripping&agent_id=station-2')).toEqual([]);
      expect(await ids('agent_id=nobody')).toEqual([]);
    });

    it('says reachable: false for the unfinished jobs of an offline station only (protocol 2)', async () => {
      const reach = async (): Promise<[number, string, boolean][]> =>
        (await api('/api/jobs')).body.jobs.map((j: { job_id: number; state: string; reachable: boolean }) => [j.job_id, j.state, j.reachable]);
      expect(await reach()).toEqual([[5, 'ripping', true], [4, 'identifying', true], [3, 'ripping', true], [2, 'failed', true], [1, 'completed', true]]);
      await one.close();
      await jobsDashboard.next((m) => m.type === 'agent_update' && m.agent_id === 'station-1' && m.state === 'offline');
      // station-1 is gone: its running jobs 5 and 3 may be stale; its completed job 1 is final either way.
      expect(await reach()).toEqual([[5, 'ripping', false], [4, 'identifying', true], [3, 'ripping', false], [2, 'failed', true], [1, 'completed', true]]);
      const detail = await api('/api/jobs/5');
      expect(detail.body).toMatchObject({ job_id: 5, reachable: false });
      expect(JobDetail.parse(detail.body)).toEqual(detail.body);
      expect((await api('/api/jobs/1')).body).toMatchObject({ reachable: true });
      expect((await api('/api/jobs?state=interrupted')).body).toEqual({ jobs: [] });
    });

    it('answers with X-Discbridge-Revision, the revision of the newest event dashboards have seen, and each station\'s in X-Discbridge-Revisions', async () => {
      const dashboard = await fx.dashboard();
      const agent = await fx.agent('station-3');
      const online = await dashboard.next((m) => m.type === 'agent_update' && m.agent_id === 'station-3');
      const event = await fx.event(agent, dashboard, 1, jobUpdate('station-3', 1, 'identifying'));
      expect(event.rev).toBe((online.rev as number) + 1);
      for (const path of ['/api/jobs', '/api/agents', '/api/drives', '/api/jobs/6', '/health']) {
        const response = await fetch(`${fx.hub.base}${path}`);
        expect(response.headers.get('X-Discbridge-Revision'), path).toBe(String(event.rev));
        // station-3: online (its revision 1) and one event (2).
        expect(JSON.parse(response.headers.get('X-Discbridge-Revisions') ?? '{}'), path).toMatchObject({ 'station-3': 2 });
      }
    });

    it.each(['limit=0', 'limit=1000', 'limit=501', 'limit=abc', 'limit=-5', 'limit=2.5', 'before=abc'])(
      '%s is 400 with a short error', async (query) => {
        expectApiError(await api(`/api/jobs?${query}`), 400, /limit|before/);
      },
    );

    it('limit=1 and limit=500 are fine', async () => {
      expect((await api('/api/jobs?limit=1')).body.jobs).toHaveLength(1);
      expect((await api('/api/jobs?limit=500')).body.jobs).toHaveLength(5);
    });

    it.each(['RIPPING', 'Ripping', 'done', ''])('state=%s is 400', async (state) => {
      expectApiError(await api(`/api/jobs?state=${state}`), 400, /state must be one of/);
    });

    it('/api/jobs/:id gives the job with its titles, by hub id', async () => {
      const { status, body } = await api('/api/jobs/3');
      expect(status).toBe(200);
      expect(JobDetail.parse(body)).toEqual(body);
      expect(body).toMatchObject({ job_id: 3, agent_id: 'station-1', state: 'ripping', progress_percent: 50, titles: [] });
      expect(body).not.toHaveProperty('finished_at');
    });

    it('/api/jobs/:id is 404 for an unknown job and 400 for a non-number', async () => {
      expectApiError(await api('/api/jobs/999'), 404, /No such job/);
      expectApiError(await api('/api/jobs/abc'), 400, /whole number/);
      expectApiError(await api('/api/jobs/1.5'), 400, /whole number/);
      expectApiError(await api('/api/jobs/-1'), 400, /whole number/);
    });
  });

  it('a malformed percent-escape in the path is a 400, not a 500', async () => {
    expectApiError(await api('/api/jobs/%zz'), 400);
  });
});

it('a 405 names the allowed method in an Allow header', async () => {
  const response = await fetch(`${fx.hub.base}/api/jobs/1/cancel`);
  await response.text();
  expect(response.status).toBe(405);
  expect(response.headers.get('allow')).toBe('POST');
});

describe('POST /api/jobs/:id/cancel', () => {
  let dashboard: Peer;
  let agent: Peer;

  beforeEach(async () => {
    dashboard = await fx.dashboard();
    agent = await fx.agent('station-1', [sr0]);
    // The agent's local job 7 becomes hub job 2 because another station started one first.
    const other = await fx.agent('station-2', [sr1]);
    await fx.event(other, dashboard, 1, jobUpdate('station-2', 7, 'ripping', { drive_id: '/dev/sr1' }));
    await fx.event(agent, dashboard, 1, jobUpdate('station-1', 7, 'ripping', { drive_id: '/dev/sr0' }));
  });

  async function nextCommand(): Promise<HubCommand> {
    const command = await agent.next<HubCommand>((m) => m.kind === 'command');
    expect(HubCommand.parse(command)).toEqual(command);
    return command;
  }

  it('sends the agent a cancel with its own job id; ok:true makes the call 200', async () => {
    const before = Date.now();
    const call = post('/api/jobs/2/cancel');
    const command = await nextCommand();
    expect(command).toEqual({ kind: 'command', id: expect.any(String), expires_at: expect.any(Number), command: { name: 'cancel', job_id: 7 } });
    expect(command.expires_at).toBeGreaterThan(before);
    agent.send({ kind: 'command_result', id: command.id, ok: true });
    expect(await call).toEqual({ status: 200, body: { ok: true } });
  });

  it('ok:false with an error makes the call 409 with that error', async () => {
    const call = post('/api/jobs/2/cancel');
    const command = await nextCommand();
    agent.send({ kind: 'command_result', id: command.id, ok: false, error: 'Drive is busy' });
    const response = await call;
    expectApiError(response, 409);
    expect(response.body).toEqual({ error: 'Drive is busy' });
  });

  it('ok:false without an error gives a sentence of the hub\'s own', async () => {
    const call = post('/api/jobs/2/cancel');
    const command = await nextCommand();
    agent.send({ kind: 'command_result', id: command.id, ok: false });
    expectApiError(await call, 409, /refused/);
  });

  it('matches each answer to its command when two are in flight', async () => {
    const first = post('/api/jobs/2/cancel');
    const c1 = await nextCommand();
    const second = post('/api/jobs/2/cancel');
    const c2 = await nextCommand();
    expect(c2.id).not.toBe(c1.id);
    agent.send({ kind: 'command_result', id: c2.id, ok: false, error: 'Already cancelling' });
    agent.send({ kind: 'command_result', id: c1.id, ok: true });
    expect(await first).toEqual({ status: 200, body: { ok: true } });
    expect(await second).toEqual({ status: 409, body: { error: 'Already cancelling' } });
  });

  it('a finished job is 409 and nothing is sent', async () => {
    await fx.event(agent, dashboard, 2, jobUpdate('station-1', 7, 'completed'));
    expectApiError(await post('/api/jobs/2/cancel'), 409, /already completed/);
    await fx.event(agent, dashboard, 3, jobUpdate('station-1', 8, 'cancelled', { drive_id: '/dev/sr0' }));
    expectApiError(await post('/api/jobs/3/cancel'), 409, /already been cancelled/);
    await agent.ping();
    expect(agent.pending().filter((m) => (m as { kind: string }).kind === 'command')).toEqual([]);
  });

  it('an offline agent is 503', async () => {
    await agent.close();
    await dashboard.next((m) => m.type === 'agent_update' && m.agent_id === 'station-1' && m.state === 'offline');
    expectApiError(await post('/api/jobs/2/cancel'), 503, /offline/);
  });

  it('an unknown job is 404, a bad id 400, and GET on the route 405', async () => {
    expectApiError(await post('/api/jobs/99/cancel'), 404);
    expectApiError(await post('/api/jobs/abc/cancel'), 400);
    expectApiError(await api('/api/jobs/2/cancel'), 405, /POST/);
    expectApiError(await api('/api/jobs', { method: 'POST' }), 405, /GET/);
    expectApiError(await api('/api/jobs/2', { method: 'DELETE' }), 405);
  });
});

describe('POST /api/drives/:agent/:drive/eject', () => {
  let dashboard: Peer;
  let agent: Peer;
  const ejectPath = `/api/drives/station-1/${encodeURIComponent('/dev/sr0')}/eject`;

  beforeEach(async () => {
    dashboard = await fx.dashboard();
    agent = await fx.agent('station-1', [sr0, sr1]);
  });

  it('sends the agent an eject for the decoded drive path; ok:true makes the call 200', async () => {
    const call = post(ejectPath);
    const command = await agent.next<HubCommand>((m) => m.kind === 'command');
    expect(HubCommand.parse(command)).toEqual(command);
    expect(command.command).toEqual({ name: 'eject', drive_id: '/dev/sr0' });
    agent.send({ kind: 'command_result', id: command.id, ok: true });
    expect(await call).toEqual({ status: 200, body: { ok: true } });
  });

  it('ok:false "Drive is busy" is 409 with that error', async () => {
    const call = post(ejectPath);
    const command = await agent.next<HubCommand>((m) => m.kind === 'command');
    agent.send({ kind: 'command_result', id: command.id, ok: false, error: 'Drive is busy' });
    expect(await call).toEqual({ status: 409, body: { error: 'Drive is busy' } });
  });

  it('an unknown drive or agent is 404; an offline agent 503; GET 405', async () => {
    expectApiError(await post(`/api/drives/station-1/${encodeURIComponent('/dev/sr9')}/eject`), 404, /No such drive/);
    expectApiError(await post(`/api/drives/nobody/${encodeURIComponent('/dev/sr0')}/eject`), 404);
    expectApiError(await api(ejectPath), 405, /POST/);
    await agent.close();
    await dashboard.next((m) => m.type === 'agent_update' && m.state === 'offline');
    expectApiError(await post(ejectPath), 503, /offline/);
  });
});
