// Ripping a video disc's selected titles, one after another, each into "<label>_tNN.mkv" in the job's folder.
// The selection may change while this runs: each round takes the next selected title not yet begun. A title counts
// only once the ripper says it succeeded and its file is in place.
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { clock, humanBytes } from '../../measure/human-units.js';
import { round2 } from '../../measure/progress-math.js';
import type { DiscTitle, Ripper } from '../../rippers/ripper.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../../shared/files/partial-file.js';
import { RipError } from '../../tools/rip-error.js';
import type { JobContext } from '../job-context.js';
import { pathInside, titleFileName } from '../naming.js';
import { eachSelectedTitle } from '../each-selected-title.js';
import { JobFailure, titlesFailure, type Phase, type TitleFailure } from '../phase.js';

export class RipTitles implements Phase {
  readonly name = 'rip titles';
  readonly state = 'ripping';

  constructor(private readonly ripper: Ripper) {}

  async run(job: JobContext): Promise<void> {
    const folder = await job.claimFolder();
    job.updateJob({
      total_titles: job.titles.selected().length, progress_percent: 0,
      output_dir: basename(folder),
    });
    const { failures, done } = await eachSelectedTitle(
      job, { size: (title) => title.durationSeconds, unitsAtOneX: 1, bytes: false },
      (title, index) => this.ripOne(job, title, index, folder),
    );
    if (job.stopReason) return;
    if (failures.length > 0) throw titlesFailure(failures, job.titles.selected().length);
    if (done === 0) throw new JobFailure(job.titles.noneSelectedMessage);
  }

  /** Rips one title; returns its file, or the error people should see (fatal when no later title can succeed). */
  private async ripOne(job: JobContext, title: DiscTitle, index: number, folder: string): Promise<string | TitleFailure> {
    const { ripper } = this;
    const finalFile = pathInside(folder, titleFileName(job.spec.volumeLabel, title.titleId));
    const partialFile = finalFile + PARTIAL_SUFFIX;
    let expected = title.expectedSizeBytes;
    job.updateTitle(title, { state: 'ripping', match_progress: 0, duration_seconds: title.durationSeconds, expected_size_bytes: expected });
    job.jobLog.write('info', `Ripping title ${title.titleId}${title.name ? ` "${title.name}"` : ''} (${clock(title.durationSeconds)}, ${title.chapters} chapters)`);
    job.updateJob({ current_title: title.titleId, progress_percent: job.progress.percentAt(index, 0) });
    try {
      await job.watch(`Ripping title ${title.titleId}`, (signal, alive) => ripper.ripTitle({
        device: job.spec.device, discType: job.discType, title, outputFile: partialFile, signal,
        onLog: (line) => job.toolLog(ripper.toolName, line),
        onProgress: (progress) => job.progress.report(index, progress, alive, async (fraction) => {
          const written = await stat(partialFile).then((s) => s.size, () => undefined);
          // Once a few percent are done, the size so far says more about the final size than any guess.
          if (!ripper.knowsOutputSize && written && fraction >= 0.05) expected = Math.round(written / fraction);
          job.updateTitle(title, {
            state: 'ripping', match_progress: round2(fraction * 100), expected_size_bytes: expected,
            ...(written !== undefined ? { actual_size_bytes: written } : {}),
          }, true);
        }),
      }));
      // Whatever the backend says, a title without a file is not ripped: some tools exit 0 having written nothing.
      const written = await stat(partialFile).then((s) => s.size, () => 0);
      if (written === 0) throw new RipError(`${ripper.toolName} finished title ${title.titleId} but wrote nothing`);
      await finishPartial(partialFile, finalFile);
      const size = (await stat(finalFile)).size;
      job.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, expected_size_bytes: size, output_filename: basename(finalFile) });
      job.log.info({ title: title.titleId, file: finalFile, bytes: size }, 'Title ripped');
      job.jobLog.write('info', `Title ${title.titleId} ripped: ${basename(finalFile)} (${humanBytes(size)})`);
      return finalFile;
    } catch (error) {
      await rm(partialFile, { force: true });
      return job.titleFailed(title, error);
    }
  }
}
