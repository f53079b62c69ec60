// The dashboard socket at /ws on a real Hub: hello first, agent status, every station event with the hub's job ids,
// one serialization for all clients, and a polite error for anything a dashboard sends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_PROTOCOL, DashboardMessage, type StationEvent } from '../../../shared/index.js';
import { HubFixture, Peer, dashboardPeer, eventEnvelope } from '../helpers.js';

const fx = new HubFixture();
beforeEach(async () => { await fx.start(); });
afterEach(async () => { await fx.stop(); });

const drives = [{ drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false }];

/** A run of local job 7 as an agent would send it. */
function run(agentId: string): StationEvent[] {
  const job = { agent_id: agentId, job_id: 7 } as const;
  return [
    { type: 'drive_event', agent_id: agentId, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
    { type: 'job_update', ...job, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
    {
      type: 'titles_discovered', ...job, content_type: 'movie', detected_title: 'The Movie',
      titles: [{ title_id: 1, duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true, name: 'Main' }],
    },
    { type: 'job_update', ...job, state: 'ripping', progress_percent: 12.5, current_speed: '4.2x', eta_seconds: 900, current_title: 1, total_titles: 1 },
    { type: 'title_update', ...job, title_id: 1, state: 'ripping', match_progress: 12.5, actual_size_bytes: 500_000_000 },
    { type: 'title_update', ...job, title_id: 1, state: 'completed', actual_size_bytes: 4_400_000_000, output_filename: 'The Movie.mkv' },
    { type: 'job_update', ...job, state: 'completed', progress_percent: 100, output_dir: 'The Movie' },
    { type: 'drive_event', agent_id: agentId, drive_id: '/dev/sr0', event: 'removed', volume_label: '' },
  ];
}

it('sends hello first', async () => {
  const dashboard = fx.track(dashboardPeer(fx.hub.port));
  const first = await dashboard.next();
  expect(first).toEqual({ type: 'hello', server: 'test-hub', version: '0.1.0-test', protocol: DASHBOARD_PROTOCOL });
  expect(dashboard.frames).toHaveLength(1);
});

it('reports an agent online when it says hello and offline when it leaves', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  expect(await dashboard.next((m) => m.type === 'agent_update')).toEqual({
    type: 'agent_update', agent_id: 'station-1', state: 'online', name: 'Station station-1', version: '0.1.0',
  });
  await agent.close();
  expect(await dashboard.next((m) => m.type === 'agent_update')).toEqual({
    type: 'agent_update', agent_id: 'station-1', state: 'offline', name: 'Station station-1', version: '0.1.0',
  });
});

it('forwards every event with the same fields and the hub\'s job id in place of the agent\'s', async () => {
  const dashboard = await fx.dashboard();
  const one = await fx.agent('station-1', drives);
  const two = await fx.agent('station-2', drives);
  // station-2's job 7 starts first, so station-1's job 7 is hub job 2.
  const first = await fx.event(two, dashboard, 1, run('station-2')[1]!);
  expect(first).toEqual({ ...run('station-2')[1], job_id: 1 });
  let seq = 0;
  for (const event of run('station-1')) {
    const received = await fx.event(one, dashboard, ++seq, event);
    expect(received).toEqual('job_id' in event ? { ...event, job_id: 2 } : event);
  }
  expect(dashboard.pending().filter((m) => (m as { type: string }).type !== 'agent_update')).toEqual([]);
});

it('sends the agent id of the connection, not the one an event claims', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  const received = await fx.event(agent, dashboard, 1, { ...run('station-1')[1]!, agent_id: 'impostor' } as StationEvent);
  expect(received).toMatchObject({ agent_id: 'station-1', job_id: 1 });
});

it('does not forward an event replayed with an old seq', async () => {
  const dashboard = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  const events = run('station-1');
  await fx.event(agent, dashboard, 1, events[0]!);
  await fx.event(agent, dashboard, 2, events[1]!);
  agent.send(eventEnvelope(2, events[3]!));
  agent.send(eventEnvelope(1, events[3]!));
  // The next event through is seq 3: the replays in between were dropped.
  expect(await fx.event(agent, dashboard, 3, events[2]!)).toMatchObject({ type: 'titles_discovered' });
  expect(dashboard.pending().filter((m) => (m as { type: string }).type === 'job_update')).toEqual([]);
});

it('sends byte-identical frames to every client', async () => {
  const a = await fx.dashboard();
  const b = await fx.dashboard();
  const agent = await fx.agent('station-1', drives);
  let seq = 0;
  for (const event of run('station-1')) {
    await fx.event(agent, a, ++seq, event);
    await b.next((m) => m.type === event.type);
  }
  await agent.close();
  await a.next((m) => m.type === 'agent_update' && m.state === 'offline');
  await b.next((m) => m.type === 'agent_update' && m.state === 'offline');
  expect(a.frames).toHaveLength(1 + 1 + 8 + 1);
  expect(b.frames).toEqual(a.frames);
});

it('answers a message from a dashboard with an error and keeps the socket open', async () => {
  const dashboard = await fx.dashboard();
  dashboard.send({ type: 'cancel', job_id: 1 });
  const reply = await dashboard.next((m) => m.type === 'error');
  expect(reply).toEqual({ type: 'error', message: expect.stringMatching(/REST/) });
  dashboard.send('not even json');
  expect(await dashboard.next((m) => m.type === 'error')).toEqual(reply);
  await dashboard.ping();
  // Still subscribed.
  await fx.agent('station-1');
  expect(await dashboard.next((m) => m.type === 'agent_update')).toMatchObject({ state: 'online' });
});

it('closes a dashboard that sends a frame over 64 KiB, and keeps the others', async () => {
  const big = await fx.dashboard();
  const other = await fx.dashboard();
  big.send('x'.repeat(65 * 1024));
  expect((await big.closed).code).toBe(1009);
  await fx.agent('station-1');
  expect(await other.next((m) => m.type === 'agent_update')).toMatchObject({ state: 'online' });
});

describe('unknown WebSocket paths', () => {
  it.each(['/nope', '/ws/extra', '/agent/x', '/'])('%s gets HTTP 404 and no socket', async (path) => {
    const peer = fx.track(new Peer(`ws://127.0.0.1:${fx.hub.port}${path}`));
    const refused = await peer.refused;
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.stringContaining('/ws') });
  });

  it('/ws with a query string is the dashboard socket', async () => {
    const peer = fx.track(new Peer(`ws://127.0.0.1:${fx.hub.port}/ws?client=test`, {}, DashboardMessage));
    expect(await peer.next()).toMatchObject({ type: 'hello' });
  });
});
