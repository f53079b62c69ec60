// The last step of a completed job when DISCBRIDGE_EJECT_WHEN_DONE is on: a headless station's tray is how it says
// "done, insert the next one". Never after a failed job, so a person can look at the disc.
import type { JobContext } from '../job-context.js';
import type { Step } from '../phase.js';
import { RipError } from '../../tools/rip-error.js';

export class EjectDisc implements Step {
  readonly name = 'eject disc';

  async run(job: JobContext): Promise<void> {
    try {
      await job.environment.eject();
    } catch (error) {
      throw new RipError(`Could not eject the disc: ${(error as Error).message}`);
    }
    job.log.info('Ejected the disc: the job is done');
    job.jobLog.write('info', 'Ejected the disc');
    job.jobLog.flush();
  }
}
