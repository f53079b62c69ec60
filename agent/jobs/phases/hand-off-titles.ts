// Handing every ripped title to the hub's transcode queue, to be transcoded with the station's profile by whichever
// station has a free slot ("<label>_tNN.<profile>.mkv" beside the rip). The paths go relative to the shared library
// when the rip is in it (any station that mounts it can do the work), else to this station's output folder (only
// this station can). The hand-off is one sequenced event: the hub makes each title one task, however often it is
// replayed. The drive is then free; the job stays `transcoding` at the hub until its tasks end.
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { TaskRoot } from '../../../shared/index.js';
import type { JobContext } from '../job-context.js';
import { pathInside, safeName, titleFileName } from '../naming.js';
import type { Phase } from '../phase.js';

export interface HandOffStep {
  /** The DISCBRIDGE_TRANSCODE profile. */
  profile: string;
  /** Keep the lossless rip beside the transcoded file. */
  keepRip: boolean;
  /** This station's mount point of the shared library (DISCBRIDGE_LIBRARY_DIR). */
  libraryDir?: string | undefined;
}

export class HandOffTitles implements Phase {
  readonly name = 'hand off titles';
  readonly state = 'transcoding';

  constructor(private readonly step: HandOffStep) {}

  async run(job: JobContext): Promise<void> {
    const titles = job.titles.selected().filter((title) => job.files.has(title.titleId));
    if (titles.length === 0) return;
    const { root, base } = this.rootOf(job.folder ?? job.environment.outputDir, job.environment.outputDir);
    const relativeTo = (file: string) => relative(base, file).split(sep).join('/');
    const handed = titles.map((title) => {
      const source = job.files.get(title.titleId) as string;
      const output = pathInside(dirname(source), titleFileName(job.spec.volumeLabel, title.titleId, `${safeName(this.step.profile)}.mkv`));
      return { title_id: title.titleId, source: relativeTo(source), output: relativeTo(output), duration_seconds: title.durationSeconds };
    });
    for (const title of titles) job.updateTitle(title, { state: 'transcoding', match_progress: 0 });
    job.updateJob({ progress_percent: 0, current_title: titles[0]?.titleId ?? 0 });
    job.emit({ type: 'transcode_request', agent_id: job.spec.agentId, job_id: job.spec.jobId, profile: this.step.profile, keep_rip: this.step.keepRip, root, titles: handed });
    job.handedOff = true;
    job.jobLog.write('info', `Handed ${titles.length} title(s) to the hub's transcode queue (${this.step.profile} profile, paths in the ${root === 'library' ? 'shared library' : 'station\'s output folder'})`);
    job.log.info({ titles: handed.map((title) => title.title_id), root, profile: this.step.profile }, 'Ripped titles handed to the transcode queue; the drive is free');
  }

  /** The library when the job's folder is inside it, else the output folder. */
  private rootOf(folder: string, outputDir: string): { root: TaskRoot; base: string } {
    const { libraryDir } = this.step;
    const rel = libraryDir === undefined ? undefined : relative(resolve(libraryDir), resolve(folder));
    const inside = rel !== undefined && (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)));
    return inside ? { root: 'library', base: resolve(libraryDir as string) } : { root: 'output', base: resolve(outputDir) };
  }
}
