// Builds the ripping backend the settings name. A new backend is one more case here plus its own folder.
import { HandBrakeRipper } from './handbrake/handbrake-ripper.js';
import type { Ripper } from './ripper.js';

export interface RipperSettings {
  ripper: 'handbrake';
  handbrakeCli: string;
  handbrakePreset: string;
}

/** A DVD encoded with HandBrake's 1080p30 presets lands near 2.5 Mbit/s of video and audio: used until real sizes are known. */
const HANDBRAKE_BYTES_PER_SECOND = 2_500_000 / 8;

export function createRipper(settings: RipperSettings): Ripper {
  switch (settings.ripper) {
    case 'handbrake':
      return new HandBrakeRipper({ binary: settings.handbrakeCli, preset: settings.handbrakePreset, estimatedBytesPerSecond: HANDBRAKE_BYTES_PER_SECOND });
  }
}
