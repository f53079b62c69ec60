// What every view gets from main.ts: the model, the clock, the actions a person can take, and the page's own
// transient state (title selections being edited, actions in flight, the last result per drive).
import type { DashboardState, DriveView, JobView } from '../state.js';

export interface Actions {
  /** Rip the disc now: the job waiting in `ready` with its (edited) selection, or a new job. */
  ripNow(drive: DriveView, job: JobView | undefined): void;
  cancel(job: JobView): void;
  eject(drive: DriveView, job: JobView | undefined): void;
  rescan(drive: DriveView): void;
  toggleTitle(job: JobView, titleId: number, selected: boolean): void;
  openJob(jobId: number): void;
}

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

export interface ViewContext {
  state: DashboardState;
  now(): number;
  actions: Actions;
  /** The selection a person is editing for a job that waits for "rip now", if any. */
  draftSelection(jobId: number): ReadonlySet<number> | undefined;
  /** Keys of actions in flight ("eject:<drive key>", "cancel:<job id>"…): their buttons say so and are disabled. */
  pending: ReadonlySet<string>;
  /** The last action result to show on a drive's card. */
  notice(driveKey: string): Notice | undefined;
}
