// Identifying an audio CD: its table of contents and CD-Text (cd-info), its MusicBrainz and freedb ids computed from
// it, and the names a lookup finds when one is configured. Every audio track is a title, and every one is selected:
// DISCBRIDGE_MIN_TITLE_SECONDS is for video.
import { freedbDiscId, musicBrainzDiscId, musicBrainzToc } from '../../cd-audio/disc-ids.js';
import type { CdInfo } from '../../cd-audio/cd-info.js';
import { SECTOR_BYTES, SECTORS_PER_SECOND, type CdToc } from '../../cd-audio/toc.js';
import type { DiscMetadata, MetadataProvider } from '../../metadata/metadata-provider.js';
import type { DiscTitle } from '../../rippers/ripper.js';
import { discoveredTitle } from '../discovered-title.js';
import type { JobContext } from '../job-context.js';
import type { Phase } from '../phase.js';
import { audioTracks, type AudioDisc } from './audio-disc.js';

/** FLAC keeps roughly this much of CD audio: the first guess of a track's size. */
const FLAC_RATIO = 0.6;

export class ReadToc implements Phase {
  readonly name = 'read toc';
  readonly state = 'identifying';

  constructor(private readonly cdInfo: CdInfo, private readonly lookup: MetadataProvider | undefined, private readonly disc: AudioDisc) {}

  async run(job: JobContext): Promise<void> {
    const { spec } = job;
    const { disc } = this;
    job.jobLog.write('info', `Reading the table of contents in ${spec.drive} with cd-info`);
    const toc = await job.watch('Reading the table of contents', (signal) => this.cdInfo.readToc({ source: spec.device, signal }));
    disc.toc = toc;
    disc.musicBrainzDiscId = musicBrainzDiscId(toc);
    disc.freedbDiscId = freedbDiscId(toc);
    disc.album = toc.album;
    disc.artist = toc.performer;
    for (const track of audioTracks(disc)) disc.trackNames.set(track.number, { ...(track.title ? { title: track.title } : {}), ...(track.performer ? { artist: track.performer } : {}) });
    const found = await this.lookUp(job, toc);
    if (found) fillIn(disc, found);

    const titles = audioTracks(disc).map((track): DiscTitle => {
      const name = disc.trackNames.get(track.number)?.title;
      return {
        titleId: track.number,
        ...(name ? { name } : {}),
        durationSeconds: Math.round(track.lengthSectors / SECTORS_PER_SECOND),
        chapters: 0, // a track has index points, not chapters
        expectedSizeBytes: Math.round(track.lengthSectors * SECTOR_BYTES * FLAC_RATIO),
      };
    });
    const chosen = spec.selection ?? titles.map((title) => title.titleId);
    job.titles.load(titles, chosen.filter((id) => titles.some((title) => title.titleId === id)), 'No track was left selected to rip');
    const named = disc.album ? `${disc.artist ? `${disc.artist} - ` : ''}${disc.album}` : undefined;
    job.emit({
      type: 'titles_discovered', agent_id: spec.agentId, job_id: spec.jobId,
      titles: titles.map((title) => discoveredTitle(title, job.titles.isSelected(title.titleId))),
      musicbrainz_disc_id: disc.musicBrainzDiscId, freedb_disc_id: disc.freedbDiscId,
      ...(named ? { detected_title: named.slice(0, 256) } : {}),
    });
    // A CD has no volume label: its album says what it is.
    if (named && named !== spec.volumeLabel) job.updateJob({ volume_label: named.slice(0, 256) });
    job.log.info({ tracks: titles.length, musicBrainzDiscId: disc.musicBrainzDiscId, freedbDiscId: disc.freedbDiscId, album: disc.album }, 'Audio CD read');
    job.jobLog.write('info', `${titles.length} audio track(s)${named ? ` of "${named}"` : ''}; MusicBrainz disc id ${disc.musicBrainzDiscId}, freedb ${disc.freedbDiscId}`);
  }

  /** Names from the configured lookup, if any; a lookup that fails leaves the CD-Text, never the job, behind. */
  private async lookUp(job: JobContext, toc: CdToc): Promise<DiscMetadata | undefined> {
    if (!this.lookup) return undefined;
    const { disc } = this;
    try {
      const found = await this.lookup.lookup({
        musicBrainzDiscId: disc.musicBrainzDiscId as string, freedbDiscId: disc.freedbDiscId as string, ...musicBrainzToc(toc),
      }, job.signal);
      job.jobLog.write('info', found ? `Found on ${this.lookup.name}: ${found.artist ?? '?'} - ${found.album ?? '?'}` : `Not found on ${this.lookup.name}`);
      return found;
    } catch (error) {
      if (job.stopReason) throw error;
      job.log.warn({ err: error }, `Looking the disc up failed: ${(error as Error).message}`);
      job.jobLog.write('warn', `Looking the disc up failed, CD-Text is used: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/** CD-Text wins where it says something; the lookup fills in what it does not. */
function fillIn(disc: AudioDisc, found: DiscMetadata): void {
  disc.album ??= found.album;
  disc.artist ??= found.artist;
  for (const track of found.tracks) {
    const known = disc.trackNames.get(track.number);
    if (!known) continue;
    known.title ??= track.title;
    known.artist ??= track.artist;
  }
}
