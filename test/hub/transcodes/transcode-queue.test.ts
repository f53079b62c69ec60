// The transcode queue on a real SQLite file: enqueue once, lease in priority order, renew, complete exactly once,
// fail and retry up to the last attempt, leases that run out (and the worker back from a cut link that still
// delivers under one), a lease released untaken, the person's retry, cancel and prioritize, a reopened database; and
// random interleavings of workers, expiries and late results that never complete a task twice.
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
  root: 'library', durationSeconds: 60, keepRip: true,
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
    expect(first).toMatchObject({ state: 'queued', attempts: 0, priority: 0, source: 'MOVIE/MOVIE_t01.mkv', root: 'library', durationSeconds: 60, keepRip: true });
    expect(q.enqueue({ ...title(4), root: 'output', durationSeconds: 5400, keepRip: false }, 1004).task).toMatchObject({ root: 'output', durationSeconds: 5400, keepRip: false });
  });

  it('leases a task to one worker only, and accepts its result once, from that lease only', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 10, LEASE_MS) as string;
    expect(lease).toBeDefined();
    expect(q.lease(id, 'worker-c', 11, LEASE_MS)).toBeUndefined();
    expect(q.runningByStation()).toEqual(new Map([['worker-b', 1]]));
    expect(q.renew(id, lease, 'worker-b', 42.5, 20, LEASE_MS)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'transcoding', leasedTo: 'worker-b', progressPercent: 42.5, leaseExpiresAt: 20 + LEASE_MS });
    // The lease is worker-b's: another station that names it is refused.
    expect(q.renew(id, lease, 'worker-c', 50, 21, LEASE_MS)).toBe(false);
    expect(q.complete(id, lease, 'worker-c', 29)).toBe(false);
    expect(q.complete(id, 'not-the-lease', 'worker-b', 30)).toBe(false);
    expect(q.complete(id, lease, 'worker-b', 30)).toBe(true);
    expect(q.complete(id, lease, 'worker-b', 31)).toBe(false);
    expect(q.renew(id, lease, 'worker-b', 50, 32, LEASE_MS)).toBe(false);
    // The done task keeps its lease: a finish said again (its answer lost with the link) is known for the same one.
    expect(q.get(id)).toMatchObject({ state: 'done', transcodedBy: 'worker-b', leaseId: lease, progressPercent: 100, finishedAt: 30 });
  });

  it('gives a task whose worker went silent to the queue again, and refuses that worker\'s late result once it is leased again', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const silent = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.expireLeases(LEASE_MS)).toEqual([]); // not past its end yet
    // Queued again, but the lease stays the task's newest until the next one is given.
    expect(q.expireLeases(LEASE_MS + 1)).toEqual([expect.objectContaining({ id, state: 'queued', attempts: 1, lastFailedOn: 'worker-b', leaseId: silent, leasedTo: 'worker-b' })]);
    expect(q.get(id)?.lastError).toBe('worker-b went silent: its lease ran out');
    expect(q.expireLeases(10 * LEASE_MS)).toEqual([]); // a queued task's old lease runs out only once
    const next = q.lease(id, 'worker-c', LEASE_MS + 2, LEASE_MS) as string;
    expect(q.complete(id, silent, 'worker-b', LEASE_MS + 3)).toBe(false);
    expect(q.complete(id, next, 'worker-c', LEASE_MS + 4)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'done', transcodedBy: 'worker-c', attempts: 1 });
  });

  it('takes the result of a worker back from a cut link while nobody else has its task, and refuses it once another has', () => {
    const { queue: q } = queue();
    const untaken = q.enqueue(title(1), 0).task.id;
    const retaken = q.enqueue(title(2), 0).task.id;
    const first = q.lease(untaken, 'worker-b', 0, LEASE_MS) as string;
    const second = q.lease(retaken, 'worker-b', 0, LEASE_MS) as string;
    expect(q.expireLeases(LEASE_MS + 1).map((t) => [t.id, t.state])).toEqual([[untaken, 'queued'], [retaken, 'queued']]);

    // Nobody took the first: worker-b's finish under its old lease still counts, and only worker-b's.
    expect(q.complete(untaken, first, 'worker-c', LEASE_MS + 2)).toBe(false);
    expect(q.complete(untaken, first, 'worker-b', LEASE_MS + 3)).toBe(true);
    expect(q.get(untaken)).toMatchObject({ state: 'done', transcodedBy: 'worker-b', leaseId: first });

    // The second went to worker-c meanwhile: from then on its lease is the only one.
    const next = q.lease(retaken, 'worker-c', LEASE_MS + 2, LEASE_MS) as string;
    expect(q.complete(retaken, second, 'worker-b', LEASE_MS + 3)).toBe(false);
    expect(q.renew(retaken, second, 'worker-b', 90, LEASE_MS + 3, LEASE_MS)).toBe(false);
    expect(q.complete(retaken, next, 'worker-c', LEASE_MS + 4)).toBe(true);
    expect(q.get(retaken)).toMatchObject({ state: 'done', transcodedBy: 'worker-c' });
  });

  it('takes up a task again when the worker of its run-out lease reports before anybody else takes it', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    q.expireLeases(LEASE_MS + 1);
    expect(q.renew(id, lease, 'worker-c', 70, LEASE_MS + 2, LEASE_MS)).toBe(false);
    expect(q.renew(id, lease, 'worker-b', 70, LEASE_MS + 2, LEASE_MS)).toBe(true);
    // Running again under the same lease: nobody else is handed it, and the attempt the expiry counted stays counted.
    expect(q.get(id)).toMatchObject({ state: 'transcoding', leaseId: lease, leasedTo: 'worker-b', leaseExpiresAt: 2 * LEASE_MS + 2, progressPercent: 70, attempts: 1 });
    expect(q.lease(id, 'worker-c', LEASE_MS + 3, LEASE_MS)).toBeUndefined();
    expect(q.runningByStation()).toEqual(new Map([['worker-b', 1]]));
    expect(q.complete(id, lease, 'worker-b', LEASE_MS + 4)).toBe(true);
  });

  it('releases a lease its station never took: queued again, no attempt counted, the lease void', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lost = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.release(id, 'not-the-lease', 1)).toBe(false);
    expect(q.release(id, lost, 1)).toBe(true);
    const released = q.get(id);
    expect(released).toMatchObject({ state: 'queued', attempts: 0 });
    for (const field of ['leaseId', 'leasedTo', 'leaseExpiresAt', 'progressPercent', 'lastFailedOn', 'lastError']) expect(released).not.toHaveProperty(field);
    // Nothing can be done under it any more, not even by the station it was for.
    expect(q.release(id, lost, 2)).toBe(false);
    expect(q.renew(id, lost, 'worker-b', 10, 2, LEASE_MS)).toBe(false);
    expect(q.complete(id, lost, 'worker-b', 2)).toBe(false);
    const next = q.lease(id, 'worker-c', 3, LEASE_MS) as string;
    expect(q.complete(id, next, 'worker-c', 4)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'done', attempts: 0, transcodedBy: 'worker-c' });
  });

  it('takes a result under a lease that ran out, before the sweep as after it, while nobody else has the task; leases get their time again after a hub restart', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    // Past its end, the sweep not yet run: the lease is still the task's newest, so its worker may go on.
    expect(q.renew(id, lease, 'worker-b', 30, LEASE_MS + 1, LEASE_MS)).toBe(true);
    const second = q.enqueue(title(2), 0).task.id;
    const late = q.lease(second, 'worker-b', 0, LEASE_MS) as string;
    expect(q.complete(second, late, 'worker-b', LEASE_MS + 1)).toBe(true);
    // A failure said after the end is the sweep's to count, not the worker's.
    expect(q.fail(id, lease, 'too late', 3 * LEASE_MS)).toBe(false);
    // The hub was down past the lease's end: on start the lease runs from then, and the result still counts.
    expect(q.extendLeases(10 * LEASE_MS, LEASE_MS)).toBe(1);
    expect(q.expireLeases(10 * LEASE_MS + 1)).toEqual([]);
    expect(q.complete(id, lease, 'worker-b', 10 * LEASE_MS + 2)).toBe(true);
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
    expect(() => q.retry(id, 12)).toThrow(new TaskRefusal(`Task ${id} is queued: only a failed or cancelled task (or one done whose result never arrived) can be retried`));
  });

  it('cancels a running task: its worker\'s reports and result are refused from then on', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.cancel(id, 5)).toMatchObject({ state: 'cancelled' });
    expect(q.get(id)).not.toHaveProperty('leaseId');
    expect(q.renew(id, lease, 'worker-b', 60, 6, LEASE_MS)).toBe(false);
    expect(q.complete(id, lease, 'worker-b', 7)).toBe(false);
    expect(() => q.cancel(id, 8)).toThrow(`Task ${id} is cancelled: only a queued or running task (or one done whose result never arrived) can be cancelled`);
    expect(() => q.prioritize(id, 9)).toThrow(`Task ${id} is cancelled: only a queued task can be moved up`);
    expect(() => q.cancel(999, 9)).toThrow('There is no transcode task 999');
  });

  it('a worker that says it failed gives its lease up; a lease that ran out stays the task\'s until the next', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const failedLease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.fail(id, failedLease, 'ffmpeg is missing', 1)).toBe(true);
    expect(q.complete(id, failedLease, 'worker-b', 2)).toBe(false);
    expect(q.renew(id, failedLease, 'worker-b', 10, 2, LEASE_MS)).toBe(false);
    const silent = q.lease(id, 'worker-b', 3, LEASE_MS) as string;
    expect(q.expireLeases(3 + LEASE_MS + 1).map((t) => t.state)).toEqual(['queued']);
    expect(q.renew(id, silent, 'worker-b', 50, 4 + LEASE_MS, LEASE_MS)).toBe(true);
    expect(q.get(id)).toMatchObject({ state: 'transcoding', leasedTo: 'worker-b', attempts: 2 });
  });

  it('lets a person cancel or retry a task done whose result never arrived (its worker gone for good)', () => {
    const { queue: q } = queue();
    const { id } = q.enqueue(title(1), 0).task;
    const lease = q.lease(id, 'worker-b', 0, LEASE_MS) as string;
    expect(q.complete(id, lease, 'worker-b', 1)).toBe(true);
    expect(q.retry(id, 2)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(q.get(id)).not.toHaveProperty('transcodedBy');
    expect(q.delivered(id, lease, 'worker-b', 3)).toBe(false);
    const again = q.lease(id, 'worker-c', 4, LEASE_MS) as string;
    expect(q.complete(id, again, 'worker-c', 5)).toBe(true);
    expect(q.delivered(id, again, 'worker-c', 6)).toBe(true);
    expect(() => q.cancel(id, 7)).toThrow(`Task ${id} is done: only a queued or running task (or one done whose result never arrived) can be cancelled`);
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
    expect(reopened.complete(running.id, lease, 'worker-b', 1)).toBe(true);
    expect(reopened.tasksOfJob('rip-a', 1).map((t) => [t.titleId, t.state])).toEqual([[1, 'done'], [2, 'queued']]);
  });

  it('never completes a task twice, nor under any lease but the newest, whatever the order of leases, expiries and results', () => {
    /** `from`: whose lease the worker names; mostly its own, sometimes one another worker was given. */
    type Step = { kind: 'lease' | 'complete' | 'fail' | 'renew'; worker: number; task: number; from: number | 'own' } | { kind: 'tick'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('lease', 'complete', 'fail', 'renew'), worker: fc.integer({ min: 0, max: 2 }), task: fc.integer({ min: 0, max: 2 }),
        from: fc.oneof({ weight: 3, arbitrary: fc.constant('own' as const) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }) }),
      }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: LEASE_MS * 2 }) }),
    );
    /** What the queue should hold of a task: the newest lease ever given outlives its end until the next one. */
    interface Model { state: 'queued' | 'transcoding' | 'done' | 'failed'; attempts: number; newest?: { lease: string; worker: string }; expiresAt: number }
    fc.assert(fc.property(fc.array(step, { maxLength: 60, size: 'max' }), (steps) => {
      const { queue: q } = queue();
      try {
        const ids = [1, 2, 3].map((n) => q.enqueue(title(n, 7), 0).task.id);
        const model = new Map<number, Model>(ids.map((id) => [id, { state: 'queued', attempts: 0, expiresAt: 0 }]));
        /** Each worker's newest lease per task, as it believes. */
        const held = new Map<string, string>();
        const completions = new Map<number, number>();
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'tick') {
            // Swept at once, as the hub's timer does: no step below meets a lease past its end but not yet swept.
            now += s.ms;
            const expired: number[] = [];
            for (const [id, m] of model) {
              if (m.state !== 'transcoding' || m.expiresAt >= now) continue;
              m.attempts += 1;
              m.state = m.attempts >= MAX_ATTEMPTS ? 'failed' : 'queued';
              expired.push(id);
            }
            expect(q.expireLeases(now).map((t) => t.id).sort()).toEqual(expired.sort());
            continue;
          }
          const id = ids[s.task] as number;
          const m = model.get(id) as Model;
          const worker = `worker-${s.worker}`;
          if (s.kind === 'lease') {
            const got = q.lease(id, worker, now, LEASE_MS);
            expect(got !== undefined).toBe(m.state === 'queued');
            if (!got) continue;
            held.set(`${s.worker}:${id}`, got);
            Object.assign(m, { state: 'transcoding', newest: { lease: got, worker }, expiresAt: now + LEASE_MS });
            continue;
          }
          // The queue's fail names no worker (the hub checks the task's leasedTo before it): a worker fails its own lease only.
          const lease = held.get(`${s.kind === 'fail' || s.from === 'own' ? s.worker : s.from}:${id}`);
          if (!lease) continue;
          const newest = m.newest?.lease === lease && m.newest.worker === worker;
          if (s.kind === 'renew') {
            const accepted = newest && (m.state === 'queued' || m.state === 'transcoding');
            expect(q.renew(id, lease, worker, 10, now, LEASE_MS)).toBe(accepted);
            if (accepted) Object.assign(m, { state: 'transcoding', expiresAt: now + LEASE_MS });
          }
          if (s.kind === 'fail') {
            const accepted = newest && m.state === 'transcoding';
            expect(q.fail(id, lease, 'no room left', now)).toBe(accepted);
            if (accepted) {
              m.attempts += 1;
              m.state = m.attempts >= MAX_ATTEMPTS ? 'failed' : 'queued';
              // A worker that says it failed gives its lease up (one that ran out keeps it).
              delete m.newest;
            }
          }
          if (s.kind === 'complete') {
            const accepted = q.complete(id, lease, worker, now);
            expect(accepted).toBe(newest && (m.state === 'queued' || m.state === 'transcoding'));
            if (accepted) {
              m.state = 'done';
              completions.set(id, (completions.get(id) ?? 0) + 1);
            }
          }
        }
        for (const count of completions.values()) expect(count).toBe(1);
        for (const id of ids) {
          const task = q.get(id);
          const m = model.get(id) as Model;
          expect(task?.state === 'done').toBe(completions.get(id) === 1);
          expect(task?.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
          expect(task).toMatchObject({ state: m.state, attempts: m.attempts });
          expect(task?.leaseId).toBe(m.newest?.lease);
        }
      } finally {
        // A fresh file for the next run, also after a failed one: shrinking must not meet this run's tasks.
        open.pop()?.close();
        rmSync(join(dir as string, 'hub.sqlite'), { force: true });
      }
    }), { numRuns: 200 });
  });
});
