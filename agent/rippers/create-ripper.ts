// Builds the ripping backend and the optional transcode step the settings name.
// A new backend is one more case here plus its own folder.
import { BUILTIN_PROFILES } from '../transcoders/transcoder.js';
import { FfmpegTranscoder } from '../transcoders/ffmpeg/ffmpeg-transcoder.js';
import type { TranscodeStep } from '../jobs/job-runner.js';
import { HandBrakeRipper } from './handbrake/handbrake-ripper.js';
import { MakeMkvRipper } from './makemkv/makemkv-ripper.js';
import type { Ripper } from './ripper.js';

export interface BackendSettings {
  ripper: 'handbrake' | 'makemkv';
  handbrakeCli: string;
  handbrakePreset: string;
  makemkvcon: string;
  ffmpeg: string;
  ffprobe: string;
  transcode: 'none' | keyof typeof BUILTIN_PROFILES;
  keepRip: boolean;
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

export function createTranscodeStep(settings: BackendSettings): TranscodeStep | undefined {
  if (settings.transcode === 'none') return undefined;
  const profile = BUILTIN_PROFILES[settings.transcode];
  if (!profile) throw new Error(`Unknown transcode profile ${settings.transcode}`);
  return { transcoder: new FfmpegTranscoder({ ffmpeg: settings.ffmpeg, ffprobe: settings.ffprobe }), profile, keepRip: settings.keepRip };
}
