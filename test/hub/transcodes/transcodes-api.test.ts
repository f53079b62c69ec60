// The transcode queue through a real hub on loopback: GET /api/transcodes, a person's retry, cancel and prioritize
// with their refusals, task_update on the dashboard socket for protocol-3 clients only, and a lease that runs out
// while the hub runs.
import { afterEach, describe, expect, it } from 'vitest';
import { TranscodeTaskPage, type TaskUpdate } from '../../../shared/index.js';
import type { Hub } from '../../../hub/hub.js';
import type { TranscodeTask } from '../../../hub/transcodes/transcode-queue.js';
import { connectDashboard, getJson, startHub, type Peer, type TestHub } from '../helpers.js';

let hub: TestHub | undefined;
const peers: Peer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.close();
  await hub?.hub.stop();
  hub = undefined;
});

/** A station's hand-off of one title of job 3, as the agent socket gives it to the farm; the task it made. */
function queueTitle(h: Hub, titleId: number): TranscodeTask {
  h.transcodes!.requested({
    type: 'transcode_request', agent_id: 'rip-a', job_id: 3, profile: 'h265', keep_rip: true, root: 'library',
    titles: [{ title_id: titleId, source: `FILM/FILM_t0${titleId}.mkv`, output: `FILM/FILM_t0${titleId}.h265.mkv`, duration_seconds: 60 }],
  });
  return h.transcodes!.tasks.tasksOfJob('rip-a', 3).find((task) => task.titleId === titleId) as TranscodeTask;
}

async function start(leaseMs = 60_000): Promise<TestHub> {
  hub = await startHub(undefined, { leaseMs });
  return hub;
}

const post = (path: string) => getJson(`${hub!.base}${path}`, { method: 'POST', headers: { Origin: hub!.base } });

async function protocol3(port: number): Promise<Peer> {
  const client = await connectDashboard(port);
  peers.push(client);
  client.send({ type: 'subscribe', topics: ['jobs'] });
  await client.next((m) => m.type === 'subscribed');
  return client;
}

describe('the transcode queue at the hub', () => {
  it('lists its tasks over REST, newest first, by state', async () => {
    const { hub: h, base } = await start();
    const first = queueTitle(h, 1);
    queueTitle(h, 2);
    const page = TranscodeTaskPage.parse((await getJson(`${base}/api/transcodes`)).body);
    expect(page.tasks.map((t) => [t.task_id, t.title_id, t.state])).toEqual([[first.id + 1, 2, 'queued'], [first.id, 1, 'queued']]);
    expect(page.tasks[1]).toMatchObject({ agent_id: 'rip-a', job_id: 3, profile: 'h265', source: 'FILM/FILM_t01.mkv', attempts: 0, priority: 0 });
    expect((await getJson(`${base}/api/transcodes?state=done`)).body).toEqual({ tasks: [] });
    expect(await getJson(`${base}/api/transcodes?state=finished`)).toEqual({ status: 400, body: { error: 'state must be one of queued, transcoding, done, failed, cancelled' } });
    expect((await getJson(`${base}/api/transcodes?limit=0`)).status).toBe(400);
  });

  it('takes a person\'s prioritize, cancel and retry, and says why when the task is not in a state for it', async () => {
    const { hub: h } = await start();
    const older = queueTitle(h, 1);
    const newer = queueTitle(h, 2);
    expect((await post(`/api/transcodes/${newer.id}/prioritize`)).body).toMatchObject({ task_id: newer.id, priority: 1 });
    expect(h.transcodes!.tasks.queued(10).map((t) => t.id)).toEqual([newer.id, older.id]);
    expect((await post(`/api/transcodes/${older.id}/cancel`)).body).toMatchObject({ state: 'cancelled' });
    expect(await post(`/api/transcodes/${older.id}/cancel`)).toEqual({ status: 409, body: { error: `Task ${older.id} is cancelled: only a queued or running task (or one done whose result never arrived) can be cancelled` } });
    expect((await post(`/api/transcodes/${older.id}/retry`)).body).toMatchObject({ state: 'queued', attempts: 0 });
    expect(await post('/api/transcodes/999/retry')).toEqual({ status: 404, body: { error: 'There is no transcode task 999' } });
    expect(await post('/api/transcodes/x/retry')).toEqual({ status: 400, body: { error: 'Task id must be a whole number' } });
    expect((await post(`/api/transcodes/${older.id}/delete`)).status).toBe(404);
  });

  it('tells protocol-3 dashboards of every change as task_update; protocol-2 ones keep the stream they had', async () => {
    const { hub: h, port } = await start();
    const modern = await protocol3(port);
    const old = await connectDashboard(port);
    peers.push(old);
    const task = queueTitle(h, 1);
    expect(await modern.next<TaskUpdate>((m) => m.type === 'task_update')).toMatchObject({ task_id: task.id, state: 'queued', agent_id: 'rip-a', job_id: 3 });
    await post(`/api/transcodes/${task.id}/cancel`);
    expect(await modern.next<TaskUpdate>((m) => m.type === 'task_update')).toMatchObject({ task_id: task.id, state: 'cancelled' });
    await old.ping();
    expect(old.pending().filter((m) => (m as { type: string }).type === 'task_update')).toEqual([]);
  });

  it('puts a task back in the queue when its worker stays silent past the lease, and tells it', async () => {
    const { hub: h, base, port } = await start(300);
    const modern = await protocol3(port);
    const task = queueTitle(h, 1);
    const lease = h.transcodes!.tasks.lease(task.id, 'worker-b', Date.now(), 300);
    expect(lease).toBeDefined();
    const requeued = await modern.next<TaskUpdate>((m) => m.type === 'task_update' && m.state === 'queued' && m.attempts === 1, 5000);
    expect(requeued).toMatchObject({ task_id: task.id, last_error: 'worker-b went silent: its lease ran out' });
    expect(requeued).not.toHaveProperty('leased_to');
    // The run-out lease is still the task's newest (worker-b may yet deliver under it), but no other station's.
    expect(h.transcodes!.tasks.complete(task.id, lease as string, 'worker-c', Date.now())).toBe(false);
    expect((await getJson(`${base}/api/transcodes`)).body.tasks[0]).toMatchObject({ state: 'queued', attempts: 1 });
  });
});
