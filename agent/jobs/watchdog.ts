// The stall watchdog: runs one piece of work with its own abort signal, aborted when the job stops or when the work
// has shown no sign of life for the stall time. Only movement counts as life: a tool can keep printing while stuck.
import type { Logger } from 'pino';
import { RipError } from '../tools/rip-error.js';

/** Why a piece of work was stopped by the watchdog. */
class Stalled extends RipError {
  override name = 'Stalled';
  constructor(message: string) {
    super(message, undefined, 'stalled');
  }
}

export interface Watch {
  /** "Ripping title 2", for the message people read. */
  what: string;
  stallMs: number;
  /** The job's own signal: stopping the job stops the work too. */
  jobSignal: AbortSignal;
  logger: Logger;
}

/** Runs `work`; rejects with Stalled when it stopped moving, else as `work` does. */
export async function watched<T>(watch: Watch, work: (signal: AbortSignal, alive: () => void) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const forwardStop = () => controller.abort(watch.jobSignal.reason);
  watch.jobSignal.addEventListener('abort', forwardStop, { once: true });
  const seconds = Math.round(watch.stallMs / 1000);
  let timer: NodeJS.Timeout | undefined;
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      watch.logger.warn({ phase: watch.what, seconds }, 'No progress: stopping the tool');
      controller.abort(new Stalled(`${watch.what} made no progress for ${seconds} s and was stopped`));
    }, watch.stallMs);
  };
  alive();
  try {
    return await work(controller.signal, alive);
  } catch (error) {
    if (controller.signal.reason instanceof Stalled) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    watch.jobSignal.removeEventListener('abort', forwardStop);
  }
}
