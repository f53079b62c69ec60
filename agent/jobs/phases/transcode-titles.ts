// Transcoding every ripped title in turn with the station's profile ("<label>_tNN.<profile>.mkv"). The rip is
// removed only once its transcode has succeeded and checked out, and only when the station does not keep rips.
import { rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { humanBytes } from '../../measure/human-units.js';
import { round2 } from '../../measure/progress-math.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../tools/partial-file.js';
import type { TranscodeProfile, Transcoder } from '../../transcoders/transcoder.js';
import type { JobContext } from '../job-context.js';
import { pathInside, safeName, titleFileName } from '../naming.js';
import { titlesFailure, type Phase, type TitleFailure } from '../phase.js';

export interface TranscodeStep {
  transcoder: Transcoder;
  profile: TranscodeProfile;
  /** Keep the lossless rip beside the transcoded file. */
  keepRip: boolean;
}

export class TranscodeTitles implements Phase {
  readonly name = 'transcode titles';
  readonly state = 'transcoding';

  constructor(private readonly step: TranscodeStep) {}

  async run(job: JobContext): Promise<void> {
    const { step } = this;
    const titles = job.titles.selected().filter((title) => job.files.has(title.titleId));
    const failures: TitleFailure[] = [];
    job.progress.begin({ parts: titles.map((title) => title.durationSeconds), unitsAtOneX: 1, bytes: false });
    job.updateJob({ progress_percent: 0, current_title: titles[0]?.titleId ?? 0 });
    for (const [index, title] of titles.entries()) {
      if (job.stopReason) return;
      const source = job.files.get(title.titleId) as string;
      const finalFile = pathInside(dirname(source), titleFileName(job.spec.volumeLabel, title.titleId, `${safeName(step.profile.name)}.mkv`));
      const partialFile = finalFile + PARTIAL_SUFFIX;
      job.updateTitle(title, { state: 'transcoding', match_progress: 0 });
      job.jobLog.write('info', `Transcoding title ${title.titleId} with the ${step.profile.name} profile`);
      job.updateJob({ current_title: title.titleId, progress_percent: job.progress.percentAt(index, 0) });
      try {
        await job.watch(`Transcoding title ${title.titleId}`, (signal, alive) => step.transcoder.transcode({
          input: source, output: partialFile, durationSeconds: title.durationSeconds, profile: step.profile, signal,
          onLog: (line) => job.toolLog(step.transcoder.toolName, line),
          onProgress: (progress) => job.progress.report(index, progress, alive, async (fraction) => {
            job.updateTitle(title, { state: 'transcoding', match_progress: round2(fraction * 100) }, true);
          }),
        }));
        await finishPartial(partialFile, finalFile);
        if (!step.keepRip) await rm(source, { force: true });
        job.files.set(title.titleId, finalFile);
        const size = (await stat(finalFile)).size;
        job.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, output_filename: basename(finalFile) });
        job.log.info({ title: title.titleId, file: finalFile, bytes: size, keptRip: step.keepRip }, 'Title transcoded');
        job.jobLog.write('info', `Title ${title.titleId} transcoded: ${basename(finalFile)} (${humanBytes(size)})${step.keepRip ? '' : '; the rip was removed'}`);
      } catch (error) {
        await rm(partialFile, { force: true });
        const outcome = await job.titleFailed(title, error);
        failures.push(outcome);
        if (outcome.fatal) break;
      }
    }
    if (job.stopReason) return;
    const total = job.titles.selected().length;
    if (failures.length > 0) throw titlesFailure(failures, total);
  }
}
