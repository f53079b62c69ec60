// The ffmpeg backend: transcodes one ripped title to Matroska with a profile, reports progress from
// `-progress pipe:1`, then checks the result with ffprobe before calling it done. It never touches the input;
// whatever goes wrong after ffmpeg has started, it removes its own (partial) output.
import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { RipError } from '../../tools/rip-error.js';
import { MediaProbeError, probeMedia, type MediaInfo, type StreamType } from '../../tools/ffprobe.js';
import { runTool, ToolMissingError } from '../../tools/run-tool.js';
import type { TranscodeProfile, TranscodeRequest, Transcoder } from '../transcoder.js';
import { FfmpegProgressParser, type FfmpegProgressBlock } from './progress.js';

export interface FfmpegTranscoderOptions {
  /** Path or name of ffmpeg. */
  ffmpeg: string;
  /** Path or name of ffprobe, used to check input and result. */
  ffprobe: string;
}

const installHint = (setting: string) => `install it with "sudo apt-get install ffmpeg" on Debian or Ubuntu, or set ${setting} to its path`;
const INSTALL_HINT = installHint('DISCBRIDGE_FFMPEG');
/** A transcode may end a frame or an audio packet short or long of its source; more than this means lost media. */
const DURATION_TOLERANCE_SECONDS = 1;
/** The codec ffprobe reports for what each encoder writes, to check the profile really was applied. */
const CODEC_OF_ENCODER: Record<string, string> = { libx264: 'h264', libx265: 'hevc' };

export class FfmpegTranscoder implements Transcoder {
  readonly toolName = 'ffmpeg';

  constructor(private readonly options: FfmpegTranscoderOptions) {}

  async checkInstalled(): Promise<string | undefined> {
    const tools = [[this.options.ffmpeg, 'DISCBRIDGE_FFMPEG'], [this.options.ffprobe, 'DISCBRIDGE_FFPROBE']] as const;
    for (const [binary, setting] of tools) {
      try {
        await runTool(binary, ['-version'], { installHint: installHint(setting) });
      } catch (error) {
        if (error instanceof ToolMissingError) return `${binary} was not found: ${installHint(setting)}`;
        throw error;
      }
    }
    return undefined;
  }

  async transcode(request: TranscodeRequest): Promise<void> {
    const { signal, profile } = request;
    signal.throwIfAborted();
    const name = basename(request.input);
    // ffmpeg would happily overwrite its own input (-y), and our cleanup would then delete the rip.
    if (resolve(request.input) === resolve(request.output)) {
      throw new RipError(`Cannot transcode "${name}" onto itself: the output must be another file`);
    }

    // Probing first gives a plain message for a damaged rip, and the stream counts the result must match.
    let source: MediaInfo;
    try {
      source = await probeMedia(request.input, this.options.ffprobe, signal);
    } catch (error) {
      if (error instanceof MediaProbeError) throw new RipError(`ffmpeg could not transcode "${name}": ${error.reason}`, error.detail);
      throw error;
    }
    const duration = request.durationSeconds > 0 ? request.durationSeconds : source.durationSeconds;

    try {
      const report = progressReporter(duration, request.onProgress);
      const parser = new FfmpegProgressParser();
      const run = await runTool(this.options.ffmpeg, ffmpegArgs(request.input, request.output, profile), {
        signal,
        installHint: INSTALL_HINT,
        onStdoutLine: (line) => {
          const block = parser.push(line);
          if (block) report(block);
        },
        onStderrLine: (line) => request.onLog?.(line),
      });
      if (run.cancelled) throw signal.reason;
      if (run.exitCode !== 0) {
        const why = run.exitCode === undefined ? `it was stopped (${run.signal ?? 'killed'})` : failureReason(run.stderrTail, run.exitCode);
        throw new RipError(`ffmpeg could not transcode "${name}": ${why}`, run.stderrTail.join('\n'));
      }

      let result: MediaInfo;
      try {
        result = await probeMedia(request.output, this.options.ffprobe, signal);
      } catch (error) {
        if (error instanceof MediaProbeError) throw new RipError(`The transcoded file failed its check: ${error.reason}`, error.detail);
        throw error;
      }
      const problem = verifyTranscode(source, result, profile);
      if (problem) throw new RipError(`The transcoded file failed its check: ${problem}`, JSON.stringify({ source, result }));
      request.onProgress({ fraction: 1, etaSeconds: 0 });
    } catch (error) {
      // A failed cleanup must not hide why the transcode failed: that is what people need to read.
      await rm(request.output, { force: true }).catch(() => undefined);
      throw error;
    }
  }
}

/** The ffmpeg command line for a profile. Paths are made absolute so a name like "-x.mkv" or "a:b.mkv" stays a file. */
export function ffmpegArgs(input: string, output: string, profile: TranscodeProfile): string[] {
  const copySubtitles = profile.subtitles === 'copy';
  return [
    '-hide_banner', '-nostdin', '-nostats', '-y',
    '-i', resolve(input),
    // Not "-map 0": DVD rips can hold data streams (dvd_nav_packet) that Matroska cannot take. "?" = if any.
    '-map', '0:v?', '-map', '0:a?', ...(copySubtitles ? ['-map', '0:s?'] : []),
    ...(profile.videoCodec === 'copy'
      ? ['-c:v', 'copy']
      : ['-c:v', profile.videoCodec, '-crf', String(profile.crf), '-preset', profile.preset]),
    ...(profile.audio === 'copy'
      ? ['-c:a', 'copy']
      : ['-c:a', 'aac', ...(profile.audioBitrate ? ['-b:a', profile.audioBitrate] : [])]),
    ...(copySubtitles ? ['-c:s', 'copy'] : ['-sn']),
    '-progress', 'pipe:1',
    '-f', 'matroska', resolve(output),
  ];
}

/** Turns progress blocks into monotonic fractions with speed and ETA. */
function progressReporter(durationSeconds: number, onProgress: TranscodeRequest['onProgress']): (block: FfmpegProgressBlock) => void {
  let fraction = 0;
  return (block) => {
    // Early blocks say out_time=N/A: nothing learnt about the position yet.
    if (block.outTimeSeconds === undefined || durationSeconds <= 0) return;
    // The position can step back a little (B-frame reordering, the final flush): never show progress going back.
    fraction = Math.max(fraction, Math.min(1, Math.max(0, block.outTimeSeconds / durationSeconds)));
    const speed = block.speed;
    // speed=0x comes at the start, before ffmpeg has timed anything: it means "unknown", not "stalled".
    if (speed === undefined || !(speed > 0) || !Number.isFinite(speed)) return onProgress({ fraction });
    onProgress({ fraction, speed, etaSeconds: (durationSeconds * (1 - fraction)) / speed });
  };
}

/** The reason a transcode's result is not usable, or undefined when it matches its source. Pure, for tests. */
export function verifyTranscode(input: MediaInfo, output: MediaInfo, profile: TranscodeProfile): string | undefined {
  const problems: string[] = [];
  const outputVideo = output.streams.filter((s) => s.type === 'video');
  if (outputVideo.length === 0) {
    problems.push('it has no video stream');
  } else {
    const expected = profile.videoCodec === 'copy'
      ? input.streams.find((s) => s.type === 'video')?.codec
      : CODEC_OF_ENCODER[profile.videoCodec];
    if (expected !== undefined && outputVideo[0]?.codec !== expected) {
      problems.push(`its video is ${outputVideo[0]?.codec ?? 'unknown'}, not ${expected}`);
    }
  }
  const drift = Math.abs(output.durationSeconds - input.durationSeconds);
  if (!(drift <= DURATION_TOLERANCE_SECONDS)) {
    problems.push(`it lasts ${output.durationSeconds.toFixed(1)} s instead of ${input.durationSeconds.toFixed(1)} s`);
  }
  const audioMismatch = countMismatch(input, output, 'audio');
  if (audioMismatch) problems.push(audioMismatch);
  if (profile.audio === 'aac' && output.streams.some((s) => s.type === 'audio' && s.codec !== 'aac')) {
    problems.push('not all of its audio is AAC');
  }
  if (profile.subtitles === 'copy') {
    const subtitleMismatch = countMismatch(input, output, 'subtitle');
    if (subtitleMismatch) problems.push(subtitleMismatch);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function countMismatch(input: MediaInfo, output: MediaInfo, type: StreamType): string | undefined {
  const want = input.streams.filter((s) => s.type === type).length;
  const got = output.streams.filter((s) => s.type === type).length;
  return got === want ? undefined : `it has ${got} ${type} stream${got === 1 ? '' : 's'} instead of ${want}`;
}

/** ffmpeg's stderr in a few plain words; the full tail goes to the log as the error's detail. */
function failureReason(stderr: string[], exitCode: number): string {
  const text = stderr.join('\n');
  const encoder = /Unknown encoder '([^']+)'/.exec(text);
  if (encoder) return `this ffmpeg has no ${encoder[1]} encoder`;
  // e.g. "invalid preset 'warp9'" from a hand-written profile: ffmpeg opened the output, then the encoder refused.
  if (/Error while opening encoder|Error setting preset/i.test(text)) return "the encoder refused the profile's settings (codec, crf or preset)";
  if (/No space left on device/i.test(text)) return 'the disk is full';
  if (/Permission denied/i.test(text)) return 'permission denied';
  if (/Invalid data found|Error while decoding|corrupt/i.test(text)) return 'the ripped file is damaged';
  return `ffmpeg stopped with exit code ${exitCode}`;
}
