// Checking a data disc's image before the job may complete: the file as it now is on disk is read back and its
// SHA-256 must be the one of what was read from the disc.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { hashFile } from '../../../shared/files/hash-file.js';
import type { JobContext } from '../job-context.js';
import { JobFailure, type Phase } from '../phase.js';
import { IMAGE_TITLE_ID } from './read-volume.js';

export class VerifyImage implements Phase {
  readonly name = 'verify image';
  readonly state = 'ripping';

  async run(job: JobContext): Promise<void> {
    const file = job.files.get(IMAGE_TITLE_ID);
    const image = job.titles.all.find((title) => title.titleId === IMAGE_TITLE_ID);
    const expected = job.results.sha256;
    if (!file || !image || !expected) throw new JobFailure('There is no image to verify');
    job.jobLog.write('info', 'Verifying the image against what was read');
    const actual = await job.watch('Verifying the image', (signal, alive) => hashFile({ file, signal, onProgress: alive }));
    if (actual !== expected) {
      delete job.results.sha256;
      const message = 'The image on the output disk does not match what was read from the disc (SHA-256 differs): the output disk may be failing';
      job.updateTitle(image, { state: 'failed', error: message });
      throw new JobFailure(message, {}, `read ${expected}, file ${actual}`);
    }
    const size = (await stat(file)).size;
    job.updateTitle(image, { state: 'completed', match_progress: 100, actual_size_bytes: size, expected_size_bytes: size, output_filename: basename(file) });
    job.jobLog.write('info', `Verified: ${basename(file)} matches the disc`);
  }
}
