// With DISCBRIDGE_AUTO_RIP=false (or after a rescan) a job waits in `ready`, its titles known, until a person
// chooses and presses "rip now". Either way, the work only goes on with something selected.
import type { JobContext } from '../job-context.js';
import { JobFailure, type Phase } from '../phase.js';

export class AwaitRipNow implements Phase {
  readonly name = 'await rip now';
  readonly state = 'ready';

  async run(job: JobContext): Promise<void> {
    if (!job.spec.autoRip) {
      job.updateJob({ total_titles: job.titles.selected().length });
      job.jobLog.write('info', 'Waiting for "rip now"');
      await job.waitForRipNow();
      if (job.stopReason) return;
    }
    if (job.titles.selected().length === 0) throw new JobFailure(job.titles.noneSelectedMessage);
  }
}
