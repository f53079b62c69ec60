// Gathers the TINFO and SINFO lines of an `info` run into titles and their streams. Attributes are kept as
// MakeMKV sent them until the end, because a title's lines may be spread out (the ARM wiki fragment has SINFO
// for a title with no TINFO at all).
import { Attr, ValueCode } from './codes.js';
import { durationOf, integerOf, optional, textOf, type Attributes, type AttributeValue } from './attribute-values.js';
import type { SinfoLine, TinfoLine } from './robot-line.js';

export type MakeMkvStreamKind = 'video' | 'audio' | 'subtitle' | 'unknown';

export interface MakeMkvStream {
  /** 0-based SINFO stream index within its title. */
  index: number;
  kind: MakeMkvStreamKind;
  languageCode?: string;
  languageName?: string;
  /** Matroska codec id: "V_MPEG2", "A_AC3", "S_HDMV/PGS"… */
  codecId?: string;
  codecShort?: string;
  codecLong?: string;
  channels?: number;
  /** "1920x1080". */
  videoSize?: string;
  /** "23.976 (24000/1001)". */
  frameRate?: string;
  /** AP_AVStreamFlag_* bitmask (4096 = forced subtitles). */
  flags?: number;
}

export interface MakeMkvTitle {
  /** 0-based TINFO index: the number `makemkvcon mkv disc:N <title>` takes. */
  index: number;
  name?: string;
  /** 0 when MakeMKV did not report a duration; likewise `chapters` and `sizeBytes`. */
  durationSeconds: number;
  chapters: number;
  sizeBytes: number;
  /** MakeMKV's rounded size text, "29.6 GB". */
  sizeText?: string;
  /** Blu-ray playlist or clip ("00000.mpls"). */
  sourceFile?: string;
  /** "0,1,2,3", "1-25". */
  segmentsMap?: string;
  segmentsCount?: number;
  /** The file `mkv` will write ("title_t00.mkv"; "title00.mkv" before v1.9). */
  outputFileName?: string;
  /** The DVD's own title number ("01" → 1). */
  originalTitleId?: number;
  /** Which angle of a multi-angle DVD title this is. */
  angle?: number;
  streams: MakeMkvStream[];
}

const STREAM_KINDS: ReadonlyMap<number, MakeMkvStreamKind> = new Map([
  [ValueCode.VideoStream, 'video'],
  [ValueCode.AudioStream, 'audio'],
  [ValueCode.SubtitleStream, 'subtitle'],
]);

interface TitleAttributes {
  attributes: Map<number, AttributeValue>;
  streams: Map<number, Map<number, AttributeValue>>;
}

export class TitleCollector {
  readonly #titles = new Map<number, TitleAttributes>();

  add(line: TinfoLine | SinfoLine): void {
    const title = this.#title(line.title);
    const value = { code: line.code, value: line.value };
    if (line.kind === 'tinfo') {
      title.attributes.set(line.id, value);
      return;
    }
    let stream = title.streams.get(line.stream);
    if (!stream) {
      stream = new Map();
      title.streams.set(line.stream, stream);
    }
    stream.set(line.id, value);
  }

  /** The titles in index order. */
  titles(): MakeMkvTitle[] {
    return [...this.#titles.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, title]) => toTitle(index, title));
  }

  #title(index: number): TitleAttributes {
    let title = this.#titles.get(index);
    if (!title) {
      title = { attributes: new Map(), streams: new Map() };
      this.#titles.set(index, title);
    }
    return title;
  }
}

function toTitle(index: number, { attributes, streams }: TitleAttributes): MakeMkvTitle {
  return {
    index,
    ...optional('name', textOf(attributes, Attr.Name)),
    durationSeconds: durationOf(attributes, Attr.Duration) ?? 0,
    chapters: integerOf(attributes, Attr.ChapterCount) ?? 0,
    sizeBytes: integerOf(attributes, Attr.DiskSizeBytes) ?? 0,
    ...optional('sizeText', textOf(attributes, Attr.DiskSize)),
    ...optional('sourceFile', textOf(attributes, Attr.SourceFileName)),
    ...optional('segmentsMap', textOf(attributes, Attr.SegmentsMap)),
    ...optional('segmentsCount', integerOf(attributes, Attr.SegmentsCount)),
    ...optional('outputFileName', textOf(attributes, Attr.OutputFileName)),
    ...optional('originalTitleId', integerOf(attributes, Attr.OriginalTitleId)),
    ...optional('angle', integerOf(attributes, Attr.AngleInfo)),
    streams: [...streams.entries()]
      .sort(([a], [b]) => a - b)
      .map(([streamIndex, stream]) => toStream(streamIndex, stream)),
  };
}

function toStream(index: number, attributes: Attributes): MakeMkvStream {
  return {
    index,
    // From the language-neutral code of the Type attribute, not its localised text; code 0 means "no constant".
    kind: STREAM_KINDS.get(attributes.get(Attr.Type)?.code ?? 0) ?? 'unknown',
    ...optional('languageCode', textOf(attributes, Attr.LangCode)),
    ...optional('languageName', textOf(attributes, Attr.LangName)),
    ...optional('codecId', textOf(attributes, Attr.CodecId)),
    ...optional('codecShort', textOf(attributes, Attr.CodecShort)),
    ...optional('codecLong', textOf(attributes, Attr.CodecLong)),
    ...optional('channels', integerOf(attributes, Attr.AudioChannelsCount)),
    ...optional('videoSize', textOf(attributes, Attr.VideoSize)),
    ...optional('frameRate', textOf(attributes, Attr.VideoFrameRate)),
    ...optional('flags', integerOf(attributes, Attr.StreamFlags)),
  };
}
