// The transcode queue on a real SQLite file: enqueue once, lease in priority order, renew, complete exactly once,
// fail and retry up to the last attempt, leases that run out, the person's retry, cancel and prioritize, a reopened
// database; and random interleavings of workers, expiries and late results that never complete a task twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { MAX_ATTEMPTS, TaskRefusal, TranscodeQueue, type NewTask } from '../../../hub/transcodes/transcode-queue.js';

const LEASE_MS = 60_000;
let dir: string | undefined;
const open: Db[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function queue(): { queue: TranscodeQueue; file: string } {
  dir ??= mkdtempSync(join(tmpdir(), 'discbridge-queue-'));
  const file = join(dir, 'hub.sqlite');
  const db = openDatabase(file);
  open.push(db);
  return { queue: new TranscodeQueue(db), file };
}

const title = (titleId: number, jobId = 1): NewTask => ({
  agentId: 'rip-a', jobId, titleId, profile: 'h264', source: `MOVIE/MOVIE_t0${titleId}.mkv`, output: `MOVIE/MOVIE_t0${titleId}.h264.mkv`,
});

describe('the transcode queue', () => {
  it('adds a title once however often it is enqueued, and hands tasks out by priority, then age', () => {
    const { queue: q } = queue();
    const { task: first, added } = q.enqueue(title(1), 1000);
    expect(added).toBe(true);
    expect(q.enqueue(title(1), 2000)).toEqual({ task: first, added: false });
    const second = q.enqueue(title(2), 1001).task;
    const third = q.enqueue(title(3), 1002).task;
    expect(q.queued(10).map((t) => t.id)).toEqual([first.id, second.id, third.id]);
    q.prioritize(third.id, 1003);
    expect(q.queued(10).map((t) => t.id)).toEqual([third.id, first.id, second.id]);
    expect(first).toMatchObject({ state: 'queued', attempts: 0, priority: 0, source: 'MOVIE/MOVIE_t01.mkv' });
  });

  it('leases a task to one worker only, and accepts its result once, from that lease only', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 10, LEASE_MS) as string;
    expect(lease).toBeDefined();
    expect(q.lease(id, 'worker-c', 11, LEASE_MS)).toBeUndefined();
    expect(q.runningByStation()).toEqual(new Map([['worker-b', 1]]));
    expect(q.renew(id, lease, 42.5, 20, LEASE_MS)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'transcoding', leasedTo: 'worker-b', progressPercent: 42.5, leaseExpiresAt: 20 + LEASE_MS });
    expect(q.complete(id, 'not-the-lease', 30)).toBe(false);
    expect(q.complete(id, lease, 30)).toBe(true);
    expect(q.complete(id, lease, 31)).toBe(false);
    expect(q.renew(id, lease, 50, 32, LEASE_MS)).toBe(false);
    expect(q.get(id)).toMatchObject({ state: 'done', transcodedBy: 'worker-b', progressPercent: 100, finishedAt: 30 });
  });

  it('gives a task whose worker went silent to the queue again, and refuses that worker\'s late result', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const silent = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.expireLeases(LEASE_MS)).toEqual([]); // not past its end yet
    expect(q.expireLeases(LEASE_MS + 1)).toEqual([expect.objectContaining({ id, state: 'queued', attempts: 1, lastFailedOn: 'worker-b' })]);
    expect(q.get(id)?.lastError).toBe('worker-b went silent: its lease ran out');
    const next = q.lease(id, 'worker-c', LEASE_MS + 2, LEASE_MS) as string;
    expect(q.complete(id, silent, LEASE_MS + 3)).toBe(false);
    expect(q.complete(id, next, LEASE_MS + 4)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'done', transcodedBy: 'worker-c' });
  });

  it('refuses a result under a lease that ran out even before the sweep saw it, and gives leases their time again after a hub restart', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.renew(id, lease, 30, LEASE_MS + 1, LEASE_MS)).toBe(false);
    expect(q.complete(id, lease, LEASE_MS + 1)).toBe(false);
    expect(q.fail(id, lease, 'too late', LEASE_MS + 1)).toBe(false);
    // The hub was down past the lease's end: on start the lease runs from then, and the result still counts.
    expect(q.extendLeases(10 * LEASE_MS, LEASE_MS)).toBe(1);
    expect(q.expireLeases(10 * LEASE_MS + 1)).toEqual([]);
    expect(q.complete(id, lease, 10 * LEASE_MS + 2)).toBe(true);
  });

  it(`fails a task for good after ${MAX_ATTEMPTS} failed attempts; a person's retry counts afresh`, () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const lease = q.lease(id, `worker-${attempt}`, attempt, LEASE_MS) as string;
      expect(q.fail(id, lease, 'ffmpeg is not installed on this station', attempt)).toBe(true);
      expect(q.get(id)).toMatchObject({ attempts: attempt, state: attempt < MAX_ATTEMPTS ? 'queued' : 'failed', lastFailedOn: `worker-${attempt}` });
      expect(q.get(id)).not.toHaveProperty('progressPercent');
    }
    expect(q.lease(id, 'worker-4', 10, LEASE_MS)).toBeUndefined();
    expect(q.retry(id, 11)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(() => q.retry(id, 12)).toThrow(new TaskRefusal(`Task ${id} is queued: only a failed or cancelled task can be retried`));
  });

  it('cancels a running task: its worker\'s reports and result are refused from then on', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.cancel(id, 5)).toMatchObject({ state: 'cancelled' });
    expect(q.renew(id, lease, 60, 6, LEASE_MS)).toBe(false);
    expect(q.complete(id, lease, 7)).toBe(false);
    expect(() => q.cancel(id, 8)).toThrow(`Task ${id} is cancelled: only a queued or running task can be cancelled`);
    expect(() => q.prioritize(id, 9)).toThrow(`Task ${id} is cancelled: only a queued task can be moved up`);
    expect(() => q.cancel(999, 9)).toThrow('There is no transcode task 999');
  });

  it('keeps every task, lease and attempt across a reopened database', () => {
    const { queue: q, file } = queue();
    const running = q.enqueue(title(1), 0).task;
    const waiting = q.enqueue(title(2), 0).task;
    const lease = q.lease(running.id, 'worker-b', 0, LEASE_MS) as string;
    open.pop()?.close();
    const db = openDatabase(file);
    open.push(db);
    const reopened = new TranscodeQueue(db);
    expect(reopened.get(waiting.id)?.state).toBe('queued');
    expect(reopened.complete(running.id, lease, 1)).toBe(true);
    expect(reopened.tasksOfJob('rip-a', 1).map((t) => [t.titleId, t.state])).toEqual([[1, 'done'], [2, 'queued']]);
  });

  it('never completes a task twice, nor under any lease but the newest, whatever the order of leases, expiries and results', () => {
    type Step = { kind: 'lease' | 'complete' | 'fail' | 'renew'; worker: number; task: number } | { kind: 'tick'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constantFrom('lease', 'complete', 'fail', 'renew'), worker: fc.integer({ min: 0, max: 2 }), task: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: LEASE_MS * 2 }) }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { queue: q } = queue();
      const ids = [1, 2, 3].map((n) => q.enqueue(title(n, 7), 0).task.id);
      /** Each worker's newest lease per task, as it believes. */
      const held = new Map<string, string>();
      const completions = new Map<number, number>();
      let now = 0;
      for (const s of steps) {
        if (s.kind === 'tick') {
          now += s.ms;
          q.expireLeases(now);
          continue;
        }
        const id = ids[s.task] as number;
        const key = `${s.worker}:${id}`;
        const lease = held.get(key);
        if (s.kind === 'lease') {
          const got = q.lease(id, `worker-${s.worker}`, now, LEASE_MS);
          if (got) held.set(key, got);
          continue;
        }
        if (!lease) continue;
        const newest = q.get(id)?.leaseId;
        if (s.kind === 'renew') expect(q.renew(id, lease, 10, now, LEASE_MS)).toBe(lease === newest);
        if (s.kind === 'fail') expect(q.fail(id, lease, 'no room left', now)).toBe(lease === newest);
        if (s.kind === 'complete') {
          const accepted = q.complete(id, lease, now);
          expect(accepted).toBe(lease === newest);
          if (accepted) completions.set(id, (completions.get(id) ?? 0) + 1);
        }
      }
      for (const count of completions.values()) expect(count).toBe(1);
      for (const id of ids) {
        const task = q.get(id);
        expect(task?.state === 'done').toBe(completions.get(id) === 1);
        expect(task?.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
      }
      open.pop()?.close();
      rmSync(join(dir as string, 'hub.sqlite'), { force: true });
    }), { numRuns: 200 });
  });
});
