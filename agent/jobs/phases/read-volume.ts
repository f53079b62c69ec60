// Identifying a data disc: the size of its volume from the volume descriptor (ISO 9660, else UDF), never the
// device's, which can hold more than the file system (run-out sectors, padding). The whole volume is one "title":
// the image to be made.
import { openReadAt } from '../../disc-fs/read-at.js';
import { volumeInfo } from '../../disc-fs/disc-files.js';
import { humanBytes } from '../../measure/human-units.js';
import type { DiscTitle } from '../../rippers/ripper.js';
import { discoveredTitle } from '../discovered-title.js';
import type { JobContext } from '../job-context.js';
import { safeName } from '../naming.js';
import { JobFailure, type Phase } from '../phase.js';

/** The title number of a data disc's one image. */
export const IMAGE_TITLE_ID = 1;

export function imageFileName(volumeLabel: string): string {
  return `${safeName(volumeLabel)}.iso`;
}

export class ReadVolume implements Phase {
  readonly name = 'read volume';
  readonly state = 'identifying';

  async run(job: JobContext): Promise<void> {
    const { spec } = job;
    const volumeBytes = await readVolumeBytes(spec.device);
    if (!volumeBytes) {
      throw new JobFailure('The size of the data on this disc cannot be told: it has no readable ISO 9660 or UDF volume descriptor');
    }
    const image: DiscTitle = { titleId: IMAGE_TITLE_ID, name: imageFileName(spec.volumeLabel), durationSeconds: 0, chapters: 0, expectedSizeBytes: volumeBytes };
    const chosen = spec.selection ?? [IMAGE_TITLE_ID];
    job.titles.load([image], chosen.filter((id) => id === IMAGE_TITLE_ID), 'The image was not selected: nothing to do');
    job.emit({ type: 'titles_discovered', agent_id: spec.agentId, job_id: spec.jobId, titles: [discoveredTitle(image, job.titles.isSelected(IMAGE_TITLE_ID))] });
    job.log.info({ volumeBytes }, 'Data disc: its volume will be backed up as an image');
    job.jobLog.write('info', `Data disc "${spec.volumeLabel || 'unnamed'}": ${humanBytes(volumeBytes)} to back up as ${image.name}`);
  }
}

async function readVolumeBytes(device: string): Promise<number | undefined> {
  const disc = await openReadAt(device).catch(() => undefined);
  if (!disc) return undefined;
  try {
    return (await volumeInfo(disc.read)).volumeBytes;
  } finally {
    await disc.close();
  }
}
