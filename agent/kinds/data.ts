// Data discs (ISO 9660 or UDF without VIDEO_TS or BDMV: photos, backups): a verified image of the whole volume.
import type { DiscType } from '../../shared/index.js';
import type { DiscImager } from '../imagers/disc-imager.js';
import type { Phase, Tool } from '../jobs/phase.js';
import { AwaitRipNow } from '../jobs/phases/await-rip-now.js';
import { ImageDisc } from '../jobs/phases/image-disc.js';
import { ReadVolume } from '../jobs/phases/read-volume.js';
import { VerifyImage } from '../jobs/phases/verify-image.js';
import type { DiscKind } from './disc-kind.js';

export class DataDiscs implements DiscKind {
  readonly name = 'data';
  readonly discTypes: readonly DiscType[] = ['data'];
  // The block copy needs nothing installed; ddrescue only helps with damaged discs.
  readonly tools: readonly Tool[] = [];

  constructor(private readonly imager: DiscImager) {}

  phases(): Phase[] {
    return [new ReadVolume(), new AwaitRipNow(), new ImageDisc(this.imager), new VerifyImage()];
  }
}
