// Video discs (DVD, Blu-ray, and discs the file system cannot tell, which the ripper may know): scan the titles,
// wait for "rip now" if asked to, rip the selected titles, and hand them to the hub's transcode queue when a profile
// is set (the station that transcodes them needs ffmpeg, not this one).
import type { DiscType } from '../../shared/index.js';
import type { Phase, Tool } from '../jobs/phase.js';
import { AwaitRipNow } from '../jobs/phases/await-rip-now.js';
import { RipTitles } from '../jobs/phases/rip-titles.js';
import { ScanTitles } from '../jobs/phases/scan-titles.js';
import { HandOffTitles, type HandOffStep } from '../jobs/phases/hand-off-titles.js';
import type { Ripper } from '../rippers/ripper.js';
import type { DiscKind } from './disc-kind.js';

export class VideoDiscs implements DiscKind {
  readonly name = 'video';
  readonly discTypes: readonly DiscType[] = ['dvd', 'bluray', 'unknown'];
  readonly tools: readonly Tool[];

  constructor(private readonly ripper: Ripper, private readonly transcode: HandOffStep | undefined) {
    this.tools = [ripper];
  }

  phases(): Phase[] {
    return [
      new ScanTitles(this.ripper), new AwaitRipNow(), new RipTitles(this.ripper),
      ...(this.transcode ? [new HandOffTitles(this.transcode)] : []),
    ];
  }
}
