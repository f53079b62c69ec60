// Backing a data disc up to "<label>/<label>.iso", with progress in bytes, speed as MB/s and as a multiple of the
// disc's 1× rate, and the SHA-256 of what was read. A damaged disc whose earlier try left an image and ddrescue map
// continues in that folder instead of starting again.
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { mediumForSize, ONE_X_BYTES_PER_SECOND } from '../../measure/disc-speeds.js';
import { humanBytes } from '../../measure/human-units.js';
import { round2 } from '../../measure/progress-math.js';
import type { DiscImager } from '../../imagers/disc-imager.js';
import type { JobContext } from '../job-context.js';
import { pathInside, safeName } from '../naming.js';
import { JobFailure, type Phase } from '../phase.js';
import { IMAGE_TITLE_ID, imageFileName } from './read-volume.js';

/** Folders "Label (2)"… looked at for an earlier try of the same disc. */
const EARLIER_TRIES = 50;
/** Sector 16 holds the primary volume descriptor, with the volume's creation time: the same disc has the same one. */
const DESCRIPTOR_OFFSET = 16 * 2048;

export class ImageDisc implements Phase {
  readonly name = 'image disc';
  readonly state = 'ripping';

  constructor(private readonly imager: DiscImager) {}

  async run(job: JobContext): Promise<void> {
    const image = job.titles.all.find((title) => title.titleId === IMAGE_TITLE_ID);
    if (!image || !job.titles.isSelected(IMAGE_TITLE_ID)) throw new JobFailure(job.titles.noneSelectedMessage);
    const sizeBytes = image.expectedSizeBytes;
    const fileName = imageFileName(job.spec.volumeLabel);
    const folder = (await this.earlierTry(job, fileName)) ?? (await job.claimFolder());
    job.folder = folder;
    const file = pathInside(folder, fileName);
    job.titles.markStarted(IMAGE_TITLE_ID);
    job.updateJob({ total_titles: 1, current_title: IMAGE_TITLE_ID, progress_percent: 0, output_dir: basename(folder) });
    job.updateTitle(image, { state: 'ripping', match_progress: 0, expected_size_bytes: sizeBytes });
    job.jobLog.write('info', `Copying ${humanBytes(sizeBytes)} to ${fileName}`);
    job.progress.begin({ parts: [sizeBytes], unitsAtOneX: ONE_X_BYTES_PER_SECOND[mediumForSize(sizeBytes)], bytes: true });
    const result = await job.watch('Copying the disc', (signal, alive) => this.imager.image({
      device: job.spec.device, sizeBytes, image: file, signal,
      onLog: (line) => job.toolLog('ddrescue', line),
      onProgress: (bytes) => job.progress.report(0, { fraction: bytes / sizeBytes }, alive, async (fraction) => {
        job.updateTitle(image, { state: 'ripping', match_progress: round2(fraction * 100), actual_size_bytes: bytes }, true);
      }),
    })).catch(async (error: unknown) => {
      const failure = await job.titleFailed(image, error);
      throw new JobFailure(failure.error, {}, undefined, failure.code);
    });
    if (!result.complete) {
      const message = `${result.unreadableBytes} bytes could not be read; the image and ddrescue's map file are kept, and "rip now" tries the unread parts again`;
      job.updateTitle(image, { state: 'failed', error: message.slice(0, 500), error_code: 'unreadable' });
      throw new JobFailure(message, { unreadable_bytes: result.unreadableBytes }, undefined, 'unreadable');
    }
    job.files.set(IMAGE_TITLE_ID, file);
    job.results.sha256 = result.sha256;
    job.log.info({ file, bytes: sizeBytes, sha256: result.sha256 }, 'Disc copied');
    job.jobLog.write('info', `Copied: SHA-256 ${result.sha256}`);
  }

  /** The folder of an earlier, unfinished try of this very disc, if there is one to continue. */
  private async earlierTry(job: JobContext, fileName: string): Promise<string | undefined> {
    const base = safeName(job.spec.volumeLabel);
    for (let attempt = 1; attempt <= EARLIER_TRIES; attempt++) {
      const folder = pathInside(job.environment.outputDir, attempt === 1 ? base : `${base} (${attempt})`);
      const file = pathInside(folder, fileName);
      if (await this.imager.hasUnfinishedRescue(file) && (await sameDescriptor(file, job.spec.device))) {
        job.jobLog.write('info', `Continuing the earlier try in ${basename(folder)}`);
        return folder;
      }
      if (!(await stat(folder).then(() => true, () => false))) return undefined;
    }
    return undefined;
  }
}

async function sameDescriptor(image: string, device: string): Promise<boolean> {
  const [a, b] = await Promise.all([readSector(image), readSector(device)]);
  return a !== undefined && b !== undefined && a.equals(b) && a.some((byte) => byte !== 0);
}

async function readSector(path: string): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(2048);
    const { bytesRead } = await handle.read(buffer, 0, 2048, DESCRIPTOR_OFFSET);
    return bytesRead === 2048 ? buffer : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
