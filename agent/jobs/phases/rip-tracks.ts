// Ripping an audio CD's selected tracks, one after another: cd-paranoia reads each to a WAV, flac encodes it with
// its tags and must hold exactly the ripped audio (metaflac's MD5 against the PCM's), and only then is the WAV gone
// and the track "NN - Title.flac" in "Artist - Album/" (else "Track NN.flac" in "Audio CD <freedb id>/").
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CdParanoia } from '../../cd-audio/cd-paranoia.js';
import type { FlacEncoder } from '../../cd-audio/flac.js';
import { SECTORS_PER_SECOND, type CdTrack } from '../../cd-audio/toc.js';
import { clock, humanBytes } from '../../measure/human-units.js';
import { round2 } from '../../measure/progress-math.js';
import type { DiscTitle } from '../../rippers/ripper.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../../shared/files/partial-file.js';
import type { JobContext } from '../job-context.js';
import { pathInside, safeName } from '../naming.js';
import { eachSelectedTitle } from '../each-selected-title.js';
import { titlesFailure, type Phase, type TitleFailure } from '../phase.js';
import { audioTracks, type AudioDisc } from './audio-disc.js';

/**
 * The share of a track's progress that is reading it; encoding is the rest. A drive reads at 8–40× real time and flac
 * encodes at some 300×, so the encode is a few percent of a track's time.
 */
const READ_SHARE = 0.95;

export class RipTracks implements Phase {
  readonly name = 'rip tracks';
  readonly state = 'ripping';

  constructor(private readonly paranoia: CdParanoia, private readonly flac: FlacEncoder, private readonly disc: AudioDisc) {}

  async run(job: JobContext): Promise<void> {
    const { disc } = this;
    const folder = await job.claimFolder(disc.album ? `${disc.artist ? `${disc.artist} - ` : ''}${disc.album}` : `Audio CD ${disc.freedbDiscId}`);
    job.updateJob({ total_titles: job.titles.selected().length, progress_percent: 0, output_dir: basename(folder) });
    // Sectors at 75 a second: the measured rate is seconds of audio per second, the speed people know from CD drives.
    const { failures } = await eachSelectedTitle(
      job, { size: (title) => this.track(title.titleId).lengthSectors, unitsAtOneX: SECTORS_PER_SECOND, bytes: false },
      (title, index) => this.ripOne(job, title, this.track(title.titleId), index, folder),
    );
    if (job.stopReason) return;
    if (failures.length > 0) throw titlesFailure(failures, job.titles.selected().length);
  }

  private async ripOne(job: JobContext, title: DiscTitle, track: CdTrack, index: number, folder: string): Promise<string | TitleFailure> {
    const names = this.disc.trackNames.get(track.number);
    const number = String(track.number).padStart(2, '0');
    const finalFile = pathInside(folder, names?.title ? `${number} - ${safeName(names.title, 'Track')}.flac` : `Track ${number}.flac`);
    const wav = `${finalFile}.wav${PARTIAL_SUFFIX}`;
    const flacPart = finalFile + PARTIAL_SUFFIX;
    job.updateTitle(title, { state: 'ripping', match_progress: 0, duration_seconds: title.durationSeconds, expected_size_bytes: title.expectedSizeBytes });
    job.jobLog.write('info', `Ripping track ${track.number}${names?.title ? ` "${names.title}"` : ''} (${clock(track.lengthSectors / SECTORS_PER_SECOND)})`);
    job.updateJob({ current_title: track.number, progress_percent: job.progress.percentAt(index, 0) });
    const report = (fraction: number, alive: () => void) => job.progress.report(index, { fraction }, alive, async (f) => {
      job.updateTitle(title, { state: 'ripping', match_progress: round2(f * 100) }, true);
    });
    try {
      await job.watch(`Ripping track ${track.number}`, (signal, alive) => this.paranoia.ripTrack({
        source: job.spec.device, track, output: wav, signal,
        onLog: (line) => job.toolLog(this.paranoia.toolName, line),
        onProgress: ({ fraction }) => report(fraction * READ_SHARE, alive),
      }));
      // Read whole: said at once, as reports during the read are spaced out and the last may not have gone.
      job.updateTitle(title, { state: 'ripping', match_progress: READ_SHARE * 100 }, true);
      job.jobLog.write('info', `Track ${track.number} read; encoding it to FLAC`);
      await job.watch(`Encoding track ${track.number}`, (signal, alive) => this.flac.encode({
        input: wav, output: flacPart, tags: this.tags(track), signal,
        onProgress: (fraction) => report(READ_SHARE + fraction * (1 - READ_SHARE), alive),
      }));
      await finishPartial(flacPart, finalFile);
      await rm(wav, { force: true });
      const size = (await stat(finalFile)).size;
      job.updateTitle(title, { state: 'completed', match_progress: 100, actual_size_bytes: size, expected_size_bytes: size, output_filename: basename(finalFile) });
      job.log.info({ track: track.number, file: finalFile, bytes: size }, 'Track ripped and checked');
      job.jobLog.write('info', `Track ${track.number} ripped: ${basename(finalFile)} (${humanBytes(size)}), its audio checked against the rip`);
      return finalFile;
    } catch (error) {
      await rm(wav, { force: true });
      await rm(flacPart, { force: true });
      return job.titleFailed(title, error);
    }
  }

  private track(number: number): CdTrack {
    const track = audioTracks(this.disc).find((candidate) => candidate.number === number);
    if (!track) throw new Error(`No audio track ${number} in the table of contents`);
    return track;
  }

  private tags(track: CdTrack): Record<string, string> {
    const { disc } = this;
    const names = disc.trackNames.get(track.number);
    const artist = names?.artist ?? disc.artist;
    return {
      TRACKNUMBER: String(track.number),
      TRACKTOTAL: String(audioTracks(disc).length),
      ...(names?.title ? { TITLE: names.title } : {}),
      ...(artist ? { ARTIST: artist } : {}),
      ...(disc.album ? { ALBUM: disc.album } : {}),
      ...(disc.artist ? { ALBUMARTIST: disc.artist } : {}),
      ...(disc.musicBrainzDiscId ? { MUSICBRAINZ_DISCID: disc.musicBrainzDiscId } : {}),
    };
  }
}
