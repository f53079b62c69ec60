// What the phases of one audio CD job share: its table of contents, ids and names, read once while identifying and
// used to name and tag every track. Made fresh for each job by the audio kind.
import type { CdToc, CdTrack } from '../../cd-audio/toc.js';

export interface AudioDisc {
  toc?: CdToc | undefined;
  musicBrainzDiscId?: string | undefined;
  freedbDiscId?: string | undefined;
  album?: string | undefined;
  artist?: string | undefined;
  /** Per track number: its title and artist, from CD-Text or the lookup. */
  trackNames: Map<number, { title?: string | undefined; artist?: string | undefined }>;
}

export function audioTracks(disc: AudioDisc): CdTrack[] {
  return (disc.toc?.tracks ?? []).filter((track) => track.audio);
}
