// What a job waiting on the transcode farm shows from its tasks: when it ends and how, and its progress and time left.
import { describe, expect, it } from 'vitest';
import { jobOutcome, jobProgress, titleStateOf } from '../../../hub/transcodes/job-outcome.js';
import type { TranscodeTask } from '../../../hub/transcodes/transcode-queue.js';

let nextId = 1;
/** A task in `state`; a done one delivered unless `undelivered`. */
function task(state: TranscodeTask['state'], extra: Partial<TranscodeTask> = {}, undelivered = false): TranscodeTask {
  return {
    id: nextId++, agentId: 'rip-a', jobId: 1, titleId: nextId, profile: 'h264', source: 's.mkv', output: 'o.mkv', root: 'library',
    durationSeconds: 100, keepRip: true, state, priority: 0, attempts: 0, createdAt: 0, updatedAt: 0, streamed: false,
    ...(state === 'done' && !undelivered ? { deliveredAt: 1 } : {}), ...extra,
  };
}

describe('a job on the transcode farm', () => {
  it('ends only when no task waits, runs, or has its result still on the way', () => {
    expect(jobOutcome([task('done'), task('queued')])).toBeUndefined();
    expect(jobOutcome([task('done'), task('transcoding')])).toBeUndefined();
    expect(jobOutcome([task('done'), task('done', {}, true)])).toBeUndefined();
    expect(titleStateOf(task('done', {}, true))).toBeUndefined();
    expect(jobOutcome([])).toBeUndefined();
  });

  it('completes when every task is done, fails with the count and the first reason, else is cancelled', () => {
    expect(jobOutcome([task('done'), task('done')])).toEqual({ state: 'completed', progress_percent: 100 });
    expect(jobOutcome([task('done'), task('failed', { lastError: 'b: the disk is full' }), task('cancelled')]))
      .toEqual({ state: 'failed', error_message: '1 of 3 transcodes failed: b: the disk is full' });
    expect(jobOutcome([task('failed', { lastError: 'x' }), task('failed', { lastError: 'y' })]))
      .toEqual({ state: 'failed', error_message: 'No title could be transcoded: x' });
    expect(jobOutcome([task('done'), task('cancelled')])).toEqual({ state: 'cancelled', error_message: 'The transcode was cancelled' });
  });

  it('weighs progress by each title\'s length, and gives the time left over the speeds of the running tasks', () => {
    const long = task('transcoding', { durationSeconds: 300, progressPercent: 50 });
    const short = task('queued', { durationSeconds: 100 });
    const done = task('done', { durationSeconds: 100 });
    // 100 done + 150 of 300 running, of 500: 50 %. Left: 150 + 100 media seconds at 2.5x: 100 s.
    expect(jobProgress([done, long, short], new Map([[long.id, 2.5]]))).toEqual({ progress_percent: 50, current_speed: '2.5x', eta_seconds: 100 });
    expect(jobProgress([done, long, short], new Map())).toEqual({ progress_percent: 50 });
  });
});
