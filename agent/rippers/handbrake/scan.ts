// Reads the title list from `HandBrakeCLI --scan --json`. HandBrake prints "JSON Title Set: {…}" pretty-printed
// over many lines, with libdvdread warnings and other blocks around it on the same stream.
import type { DiscScan, DiscTitle, TitleStream } from '../ripper.js';

interface HbDuration { Hours?: number; Minutes?: number; Seconds?: number; Ticks?: number }
interface HbTitle {
  Index: number;
  Name?: string;
  Duration?: HbDuration;
  ChapterList?: unknown[];
  FrameRate?: { Num?: number; Den?: number };
  VideoCodec?: string;
  AudioList?: { LanguageCode?: string; CodecName?: string }[];
  SubtitleList?: { LanguageCode?: string; SourceName?: string }[];
}

const TITLE_SET_HEADER = 'JSON Title Set:';
/** HandBrake's clock: durations in Ticks are 1/90000 s. */
const TICKS_PER_SECOND = 90_000;

/**
 * Parses the scan output. `estimateBytes` turns a duration into the expected size of the ripped file,
 * since a scan cannot know the size an encode will reach.
 */
export function parseHandBrakeScan(stdout: string, estimateBytes: (durationSeconds: number) => number): DiscScan {
  const set = extractJsonObject(stdout, TITLE_SET_HEADER) as { TitleList?: HbTitle[] } | undefined;
  if (!set) throw new Error('HandBrakeCLI printed no title set');
  const titles: DiscTitle[] = (set.TitleList ?? []).map((title) => {
    const durationSeconds = Math.round(durationOf(title.Duration));
    const frameRate = title.FrameRate?.Num && title.FrameRate.Den ? title.FrameRate.Num / title.FrameRate.Den : undefined;
    const streams: TitleStream[] = [
      ...(title.VideoCodec ? [{ kind: 'video' as const, codec: title.VideoCodec }] : []),
      ...(title.AudioList ?? []).map((audio) => stream('audio', audio.LanguageCode, audio.CodecName)),
      ...(title.SubtitleList ?? []).map((subtitle) => stream('subtitle', subtitle.LanguageCode, subtitle.SourceName)),
    ];
    return {
      titleId: title.Index,
      durationSeconds,
      chapters: title.ChapterList?.length ?? 0,
      expectedSizeBytes: estimateBytes(durationSeconds),
      ...(frameRate ? { frameRate } : {}),
      ...(streams.length > 0 ? { streams } : {}),
    };
  });
  const discName = set.TitleList?.[0]?.Name;
  return { ...(discName ? { discName } : {}), titles };
}

function stream(kind: TitleStream['kind'], language: string | undefined, codec: string | undefined): TitleStream {
  // HandBrake says "und" for an unknown language: leave it out rather than pass a non-answer on.
  return { kind, ...(language && language !== 'und' ? { language } : {}), ...(codec ? { codec } : {}) };
}

function durationOf(duration: HbDuration | undefined): number {
  if (!duration) return 0;
  if (typeof duration.Ticks === 'number') return duration.Ticks / TICKS_PER_SECOND;
  return (duration.Hours ?? 0) * 3600 + (duration.Minutes ?? 0) * 60 + (duration.Seconds ?? 0);
}

/** Finds `header` and parses the balanced {…} object that follows it, ignoring braces inside strings. */
export function extractJsonObject(text: string, header: string): unknown {
  const at = text.indexOf(header);
  if (at < 0) return undefined;
  const start = text.indexOf('{', at + header.length);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{') {
      depth++;
    } else if (char === '}' && --depth === 0) {
      return JSON.parse(text.slice(start, i + 1));
    }
  }
  return undefined;
}
