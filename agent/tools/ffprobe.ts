// Asks ffprobe what a media file holds: its duration and its streams. Used to check a transcode's input and result,
// so a failure here is worded for people ("damaged or not a media file") with ffprobe's own words kept for the log.
import { basename } from 'node:path';
import { RipError } from './rip-error.js';
import { runTool } from './run-tool.js';

export type StreamType = 'video' | 'audio' | 'subtitle' | 'other';

export interface MediaStream {
  index: number;
  type: StreamType;
  /** ffprobe's codec name ("h264", "ac3", "dvd_subtitle"), or "unknown" when it has none. */
  codec: string;
  /** ISO 639-2 tag ("eng"), when the file names one. */
  language?: string;
}

export interface MediaInfo {
  durationSeconds: number;
  streams: MediaStream[];
}

/** probeMedia's failure. `reason` is the plain part, so a caller can word its own message around it. */
export class MediaProbeError extends RipError {
  override name = 'MediaProbeError';
  constructor(readonly fileName: string, readonly reason: string, detail?: string) {
    super(`ffprobe could not read "${fileName}": ${reason}`, detail);
  }
}

const INSTALL_HINT = 'install it with "sudo apt-get install ffmpeg" on Debian or Ubuntu, or set DISCBRIDGE_FFPROBE to its path';

interface ProbeJson {
  format?: { duration?: string };
  streams?: { index?: number; codec_type?: string; codec_name?: string; tags?: { language?: string } }[];
}

export async function probeMedia(file: string, ffprobeBinary = 'ffprobe', signal?: AbortSignal): Promise<MediaInfo> {
  const args = [
    '-v', 'error',
    '-show_entries', 'format=duration:stream=index,codec_type,codec_name:stream_tags=language',
    '-of', 'json',
    file,
  ];
  const run = await runTool(ffprobeBinary, args, { collectStdout: true, installHint: INSTALL_HINT, ...(signal ? { signal } : {}) });
  if (run.cancelled && signal) throw signal.reason;
  const name = basename(file);
  const detail = run.stderrTail.join('\n') || `ffprobe exit code ${run.exitCode ?? run.signal}`;
  if (run.exitCode !== 0) throw new MediaProbeError(name, reasonFrom(run.stderrTail), detail);

  let json: ProbeJson;
  try {
    json = JSON.parse(run.stdout) as ProbeJson;
  } catch {
    throw new MediaProbeError(name, 'its answer was not JSON', run.stdout.slice(0, 500));
  }
  const streams = (json.streams ?? []).map(toStream);
  const duration = Number(json.format?.duration);
  // A still image or a bare data file probes fine but has no streams or no duration: not something to transcode.
  if (streams.length === 0 || !Number.isFinite(duration) || duration <= 0) {
    throw new MediaProbeError(name, 'it is not a video or audio file (no duration or no streams)', run.stdout.slice(0, 500));
  }
  return { durationSeconds: duration, streams };
}

function toStream(raw: NonNullable<ProbeJson['streams']>[number], position: number): MediaStream {
  const type = raw.codec_type;
  const stream: MediaStream = {
    index: raw.index ?? position,
    type: type === 'video' || type === 'audio' || type === 'subtitle' ? type : 'other',
    codec: raw.codec_name ?? 'unknown',
  };
  // "und" is Matroska's "undetermined": the same as no tag for anyone choosing a track.
  const language = raw.tags?.language;
  if (language && language !== 'und') stream.language = language;
  return stream;
}

/** ffprobe's error in a few plain words; its own lines start with the file's path, which people need not see. */
function reasonFrom(stderr: string[]): string {
  const text = stderr.join('\n');
  if (/No such file or directory/i.test(text)) return 'the file does not exist';
  if (/Permission denied/i.test(text)) return 'permission denied';
  if (/Is a directory/i.test(text)) return 'it is a folder, not a file';
  // "Invalid data found when processing input", "EBML header parsing failed", "moov atom not found"…
  return 'it is damaged or not a media file';
}
