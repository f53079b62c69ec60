// Working through a job's selected titles one after another, as the rip phases do: the selection may change while
// this runs, so each round takes the next selected title not yet begun and measures progress over the selection as
// it is then. A failure that no later title can survive (a full disk) ends the round.
import type { DiscTitle } from '../rippers/ripper.js';
import type { JobContext } from './job-context.js';
import type { TitleFailure } from './phase.js';
import type { Measure } from './progress-reporter.js';

export interface TitlesWorked {
  failures: TitleFailure[];
  /** Titles that produced their file. */
  done: number;
}

/**
 * @param measure what a title weighs (`size`) and what 1× is, for the job's progress
 * @param work one title at `index` of the selection: its file, or why it failed
 */
export async function eachSelectedTitle(
  job: JobContext,
  measure: Omit<Measure, 'parts'> & { size: (title: DiscTitle) => number },
  work: (title: DiscTitle, index: number) => Promise<string | TitleFailure>,
): Promise<TitlesWorked> {
  const failures: TitleFailure[] = [];
  let done = 0;
  job.progress.begin({ parts: [], unitsAtOneX: measure.unitsAtOneX, bytes: measure.bytes });
  for (let title = job.titles.next(); title && !job.stopReason; title = job.titles.next()) {
    job.titles.markStarted(title.titleId);
    const order = job.titles.selected();
    job.progress.setParts(order.map(measure.size));
    const outcome = await work(title, order.indexOf(title));
    if (typeof outcome === 'string') {
      job.files.set(title.titleId, outcome);
      done++;
      continue;
    }
    failures.push(outcome);
    if (outcome.fatal) break;
  }
  return { failures, done };
}
