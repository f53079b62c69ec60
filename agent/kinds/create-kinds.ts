// Builds the disc kinds and their backends from the settings: DISCBRIDGE_RIPPER picks the video ripper,
// DISCBRIDGE_TRANSCODE the profile ripped titles are handed to the transcode queue with (and the transcoder that runs
// the queue's tasks here), data discs get the imager (with ddrescue when it is installed), audio CDs
// the libcdio tools and flac, and a MusicBrainz lookup when DISCBRIDGE_MUSICBRAINZ_URL is set.
import { CdInfo } from '../cd-audio/cd-info.js';
import { CdParanoia } from '../cd-audio/cd-paranoia.js';
import { FlacEncoder } from '../cd-audio/flac.js';
import { Ddrescue } from '../imagers/ddrescue/ddrescue.js';
import { DiscImager } from '../imagers/disc-imager.js';
import type { HandOffStep } from '../jobs/phases/hand-off-titles.js';
import { HandBrakeRipper } from '../rippers/handbrake/handbrake-ripper.js';
import { MakeMkvRipper } from '../rippers/makemkv/makemkv-ripper.js';
import type { Ripper } from '../rippers/ripper.js';
import { BUILTIN_PROFILES, type Transcoder } from '../transcoders/transcoder.js';
import { FfmpegTranscoder } from '../transcoders/ffmpeg/ffmpeg-transcoder.js';
import { MusicBrainzProvider, musicBrainzUserAgent } from '../metadata/musicbrainz.js';
import { AudioDiscs } from './audio.js';
import { DataDiscs } from './data.js';
import { DiscKinds } from './disc-kind.js';
import { VideoDiscs } from './video.js';

export interface BackendSettings {
  ripper: 'handbrake' | 'makemkv';
  handbrakeCli: string;
  handbrakePreset: string;
  makemkvcon: string;
  ffmpeg: string;
  ffprobe: string;
  transcode: 'none' | keyof typeof BUILTIN_PROFILES;
  keepRip: boolean;
  libraryDir?: string | undefined;
  ddrescue: string;
  cdInfo: string;
  cdParanoia: string;
  flac: string;
  metaflac: string;
  musicbrainzUrl?: string | undefined;
}

/** Who is asking, as MusicBrainz wants every client to say. */
export interface StationName {
  version: string;
  agentId: string;
}

/** A DVD encoded with HandBrake's 1080p30 presets lands near 2.5 Mbit/s of video and audio: used until real sizes are known. */
const HANDBRAKE_BYTES_PER_SECOND = 2_500_000 / 8;

export function createRipper(settings: BackendSettings): Ripper {
  switch (settings.ripper) {
    case 'handbrake':
      return new HandBrakeRipper({ binary: settings.handbrakeCli, preset: settings.handbrakePreset, estimatedBytesPerSecond: HANDBRAKE_BYTES_PER_SECOND });
    case 'makemkv':
      return new MakeMkvRipper({ binary: settings.makemkvcon });
  }
}

export function createHandOffStep(settings: BackendSettings): HandOffStep | undefined {
  if (settings.transcode === 'none') return undefined;
  if (!BUILTIN_PROFILES[settings.transcode]) throw new Error(`Unknown transcode profile ${settings.transcode}`);
  return { profile: settings.transcode, keepRip: settings.keepRip, libraryDir: settings.libraryDir };
}

/** What runs the transcode tasks the hub leases this station. */
export function createTranscoder(settings: BackendSettings): Transcoder {
  return new FfmpegTranscoder({ ffmpeg: settings.ffmpeg, ffprobe: settings.ffprobe });
}

/** @param hasDdrescue whether ddrescue was found: without it a damaged data disc fails at its first read error */
export function createDiscKinds(settings: BackendSettings, hasDdrescue: boolean, station: StationName): DiscKinds {
  const imager = new DiscImager(hasDdrescue ? new Ddrescue({ binary: settings.ddrescue }) : undefined);
  const lookup = settings.musicbrainzUrl
    ? new MusicBrainzProvider({ baseUrl: settings.musicbrainzUrl, userAgent: musicBrainzUserAgent(station.version, `station ${station.agentId}`) })
    : undefined;
  return new DiscKinds([
    new VideoDiscs(createRipper(settings), createHandOffStep(settings)),
    new DataDiscs(imager),
    new AudioDiscs({
      cdInfo: new CdInfo({ binary: settings.cdInfo }), paranoia: new CdParanoia({ binary: settings.cdParanoia }),
      flac: new FlacEncoder({ flac: settings.flac, metaflac: settings.metaflac }), lookup,
    }),
  ]);
}
