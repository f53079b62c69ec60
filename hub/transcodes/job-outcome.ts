// What a job handed to the transcode farm shows, from its tasks alone: one rule for the hub's live updates and for
// the reconciliation after a hub restart. Pure, so it is tested on its own.
import type { JobUpdate, TitleState, TranscodeTaskState } from '../../shared/index.js';
import type { TranscodeTask } from './transcode-queue.js';

type JobFields = Pick<JobUpdate, 'state' | 'progress_percent' | 'error_message'>;

/**
 * The title state a task's end gives its title; undefined while the task still waits or runs, and while a done
 * task's result is not yet in place (its worker renames it once the hub said yes, and says so).
 */
export function titleStateOf(task: Pick<TranscodeTask, 'state' | 'deliveredAt'>): TitleState | undefined {
  if (task.state === 'done' && task.deliveredAt === undefined) return undefined;
  const ends: Partial<Record<TranscodeTaskState, TitleState>> = { done: 'completed', failed: 'failed', cancelled: 'cancelled' };
  return ends[task.state];
}

/**
 * The job's end once none of its tasks waits or runs: completed when all are done; failed when any failed (with how
 * many, and the first reason); else cancelled. Undefined while any task is still queued or transcoding.
 */
export function jobOutcome(tasks: readonly TranscodeTask[]): JobFields | undefined {
  if (tasks.length === 0 || tasks.some((task) => titleStateOf(task) === undefined)) return undefined;
  const failed = tasks.filter((task) => task.state === 'failed');
  if (failed.length > 0) {
    const summary = failed.length === tasks.length ? 'No title could be transcoded' : `${failed.length} of ${tasks.length} transcodes failed`;
    return { state: 'failed', error_message: `${summary}: ${failed[0]?.lastError ?? 'unknown error'}`.slice(0, 500) };
  }
  if (tasks.some((task) => task.state === 'cancelled')) return { state: 'cancelled', error_message: 'The transcode was cancelled' };
  return { state: 'completed', progress_percent: 100 };
}

/**
 * The job's progress over its tasks, each weighed by its length: done ones whole, running ones by their progress.
 * Time left: the media still to transcode over the speeds of the tasks running now.
 */
export function jobProgress(tasks: readonly TranscodeTask[], speeds: ReadonlyMap<number, number>): Pick<JobUpdate, 'progress_percent' | 'eta_seconds' | 'current_speed'> {
  const weight = (task: TranscodeTask) => Math.max(1, task.durationSeconds);
  const total = tasks.reduce((sum, task) => sum + weight(task), 0);
  const fractionOf = (task: TranscodeTask) => (task.state === 'done' ? 1 : task.state === 'transcoding' ? (task.progressPercent ?? 0) / 100 : 0);
  const doneSeconds = tasks.reduce((sum, task) => sum + weight(task) * fractionOf(task), 0);
  const running = tasks.filter((task) => task.state === 'transcoding' && speeds.has(task.id));
  const speed = running.reduce((sum, task) => sum + (speeds.get(task.id) ?? 0), 0);
  const left = tasks.filter((task) => task.state === 'queued' || task.state === 'transcoding')
    .reduce((sum, task) => sum + weight(task) * (1 - fractionOf(task)), 0);
  return {
    progress_percent: Math.round((doneSeconds / total) * 10_000) / 100,
    ...(speed > 0 ? { current_speed: `${Math.round(speed * 10) / 10}x`, eta_seconds: Math.round(left / speed) } : {}),
  };
}
