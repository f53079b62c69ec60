// Identifying a video disc: the ripper reads its titles, the selection rule picks those to rip, and the hub hears
// of them all (titles_discovered).
import type { Ripper } from '../../rippers/ripper.js';
import { RipError } from '../../tools/rip-error.js';
import { discoveredTitle } from '../discovered-title.js';
import type { JobContext } from '../job-context.js';
import type { Phase } from '../phase.js';
import { initialSelection } from '../title-selection.js';

export class ScanTitles implements Phase {
  readonly name = 'scan titles';
  readonly state = 'identifying';

  constructor(private readonly ripper: Ripper) {}

  async run(job: JobContext): Promise<void> {
    const { spec, environment } = job;
    job.jobLog.write('info', `Reading the titles of "${spec.volumeLabel || 'unnamed disc'}" in ${spec.drive} with ${this.ripper.toolName}`);
    const scan = await job.watch('The disc scan', (signal, alive) => this.ripper.scan({
      device: spec.device, signal, onLog: (line) => { alive(); job.toolLog(this.ripper.toolName, line); },
    })).catch((error: unknown) => {
      if (job.stopReason || error instanceof RipError) throw error;
      throw new RipError('Could not read the disc', String(error));
    });
    const selected = initialSelection(scan.titles, environment.minTitleSeconds, spec.selection);
    job.titles.load(scan.titles, selected, `No title is at least ${environment.minTitleSeconds} s long (the disc has ${scan.titles.length})`);
    job.emit({
      type: 'titles_discovered', agent_id: spec.agentId, job_id: spec.jobId,
      titles: scan.titles.map((title) => discoveredTitle(title, job.titles.isSelected(title.titleId))),
    });
    // The ripper knows the disc better than a look at its file system (a Blu-ray's UDF, an unusual DVD).
    if (scan.discType && scan.discType !== 'unknown' && scan.discType !== job.discType) {
      job.discType = scan.discType;
      job.updateJob({ disc_type: scan.discType });
    }
    job.log.info({ titles: scan.titles.length, selected: selected.length, discType: job.discType }, 'Disc scanned');
    job.jobLog.write('info', `Found ${scan.titles.length} title(s); ${selected.length} selected (at least ${environment.minTitleSeconds} s long or chosen)`);
  }
}
