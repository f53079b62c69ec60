// The page's copy of the hub's transcode queue: loaded with the snapshot (REST), then kept by the task_update
// messages, which carry each task whole (so the only rule is "the newest record of a task wins"). Running tasks
// first, then the queue in the order the hub hands it out, then the ended ones, newest first.
import type { TaskUpdate, TranscodeTaskRecord } from '../../../shared/index.js';

/** Tasks the page keeps: the newest ended ones go once there are more. */
const MAX_TASKS = 100;

const ORDER: Record<TranscodeTaskRecord['state'], number> = { transcoding: 0, queued: 1, failed: 2, cancelled: 2, done: 2 };

export class QueueModel {
  private readonly tasks = new Map<number, TranscodeTaskRecord>();
  /** Changed since the last render. */
  dirty = false;

  /** The queue as REST gave it: replaces what was known. */
  load(tasks: readonly TranscodeTaskRecord[]): void {
    this.tasks.clear();
    for (const task of tasks) this.tasks.set(task.task_id, task);
    this.dirty = true;
  }

  apply(update: TaskUpdate): void {
    const { type: _type, rev: _rev, ...task } = update;
    const known = this.tasks.get(task.task_id);
    // The update names the task's state then: an older one than what is shown never wins.
    if (known && Date.parse(known.updated_at) > Date.parse(task.updated_at)) return;
    this.tasks.set(task.task_id, task);
    this.dirty = true;
    if (this.tasks.size > MAX_TASKS) {
      const oldestEnded = this.list().filter((t) => ORDER[t.state] === 2).at(-1);
      if (oldestEnded) this.tasks.delete(oldestEnded.task_id);
    }
  }

  list(): TranscodeTaskRecord[] {
    return [...this.tasks.values()].sort((a, b) => ORDER[a.state] - ORDER[b.state]
      || (a.state === 'queued' ? b.priority - a.priority || a.task_id - b.task_id : b.task_id - a.task_id));
  }

  get size(): number {
    return this.tasks.size;
  }
}
