// Audio CDs (and enhanced CDs, whose audio is ripped): read the table of contents and CD-Text, wait for "rip now" if
// asked to, rip every track to FLAC whose audio is checked against the rip.
import type { DiscType } from '../../shared/index.js';
import type { CdInfo } from '../cd-audio/cd-info.js';
import type { CdParanoia } from '../cd-audio/cd-paranoia.js';
import type { FlacEncoder } from '../cd-audio/flac.js';
import type { Phase, Tool } from '../jobs/phase.js';
import type { AudioDisc } from '../jobs/phases/audio-disc.js';
import { AwaitRipNow } from '../jobs/phases/await-rip-now.js';
import { ReadToc } from '../jobs/phases/read-toc.js';
import { RipTracks } from '../jobs/phases/rip-tracks.js';
import type { MetadataProvider } from '../metadata/metadata-provider.js';
import type { DiscKind } from './disc-kind.js';

export interface AudioBackends {
  cdInfo: CdInfo;
  paranoia: CdParanoia;
  flac: FlacEncoder;
  /** Looks disc ids up, when configured. */
  lookup?: MetadataProvider | undefined;
}

export class AudioDiscs implements DiscKind {
  readonly name = 'audio';
  readonly discTypes: readonly DiscType[] = ['cd'];
  readonly tools: readonly Tool[];

  constructor(private readonly backends: AudioBackends) {
    this.tools = [backends.cdInfo, backends.paranoia, backends.flac];
  }

  phases(): Phase[] {
    const disc: AudioDisc = { trackNames: new Map() };
    return [new ReadToc(this.backends.cdInfo, this.backends.lookup, disc), new AwaitRipNow(), new RipTracks(this.backends.paranoia, this.backends.flac, disc)];
  }
}
