// The interface every transcoding backend implements (ffmpeg now): turn one ripped title into a smaller or more
// compatible file while reporting progress, stop when told. Also the built-in profiles settings can name.

/** What to encode to. Profiles are plain data so settings can define more without code. */
export interface TranscodeProfile {
  name: string;
  videoCodec: 'libx264' | 'libx265' | 'copy';
  /** Constant rate factor: lower is better quality and bigger. Ignored when the video is copied. */
  crf: number;
  /** Encoder speed/size trade-off ("ultrafast" … "veryslow"). Ignored when the video is copied. */
  preset: string;
  audio: 'copy' | 'aac';
  /** e.g. "192k"; only used when audio is re-encoded. */
  audioBitrate?: string;
  subtitles: 'copy' | 'drop';
}

export interface TranscodeProgress {
  /** 0..1 over the file, never going back. */
  fraction: number;
  /** Seconds of media encoded per second of wall time (1 = real time). */
  speed?: number;
  etaSeconds?: number;
}

export interface TranscodeRequest {
  input: string;
  /** Path of the file to write. The transcoder removes it again if it fails; it never touches `input`. */
  output: string;
  /** Length of the input, to turn the tool's position into a fraction. */
  durationSeconds: number;
  profile: TranscodeProfile;
  signal: AbortSignal;
  onProgress: (progress: TranscodeProgress) => void;
  /** Tool output that is not progress, for the job's log. */
  onLog?: (line: string) => void;
}

export interface Transcoder {
  /** The program it runs, for messages ("ffmpeg"). */
  readonly toolName: string;
  /** Resolves to a message saying what is missing and how to install it, or undefined when ready. */
  checkInstalled(): Promise<string | undefined>;
  /** Rejects with RipError on failure (output removed); with the signal's reason when cancelled. */
  transcode(request: TranscodeRequest): Promise<void>;
}

export const BUILTIN_PROFILES: Record<string, TranscodeProfile> = {
  h264: { name: 'h264', videoCodec: 'libx264', crf: 20, preset: 'medium', audio: 'copy', subtitles: 'copy' },
  h265: { name: 'h265', videoCodec: 'libx265', crf: 24, preset: 'medium', audio: 'copy', subtitles: 'copy' },
  // For players that cannot decode the disc's AC-3/DTS: AAC plays nearly everywhere.
  'h264-aac': { name: 'h264-aac', videoCodec: 'libx264', crf: 20, preset: 'medium', audio: 'aac', audioBitrate: '192k', subtitles: 'copy' },
};
