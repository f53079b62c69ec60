// Reads ffmpeg's `-progress pipe:1` stream: blocks of key=value lines, each ended by `progress=continue`
// (or `progress=end` for the last). Values are printf-padded ("speed=   0x", "bitrate= 188.5kbits/s") or "N/A",
// so every value is trimmed and anything unreadable is left out rather than guessed.

export interface FfmpegProgressBlock {
  /** Position in the output, in seconds; absent while ffmpeg still says N/A. */
  outTimeSeconds?: number;
  /** Realtime factor ("2.5x" → 2.5). 0 is kept: it is what ffmpeg said, callers decide it means nothing. */
  speed?: number;
  totalSizeBytes?: number;
  frame?: number;
  /** true for the final block (`progress=end`). */
  end: boolean;
}

const MICROSECONDS = 1_000_000;

export class FfmpegProgressParser {
  private values = new Map<string, string>();

  /** Feed one line; returns the finished block on a `progress=` line, undefined otherwise. */
  push(line: string): FfmpegProgressBlock | undefined {
    const equals = line.indexOf('=');
    if (equals <= 0) return undefined; // not key=value: a stray line, ignored
    const key = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (key !== 'progress') {
      this.values.set(key, value);
      return undefined;
    }
    const block = this.toBlock(value === 'end');
    this.values = new Map();
    return block;
  }

  private toBlock(end: boolean): FfmpegProgressBlock {
    const block: FfmpegProgressBlock = { end };
    const outTime = this.outTimeSeconds();
    if (outTime !== undefined) block.outTimeSeconds = outTime;
    const speed = parseNumber(this.values.get('speed')?.replace(/x$/, ''));
    if (speed !== undefined && speed >= 0) block.speed = speed;
    const size = parseInteger(this.values.get('total_size'));
    if (size !== undefined && size >= 0) block.totalSizeBytes = size;
    const frame = parseInteger(this.values.get('frame'));
    if (frame !== undefined && frame >= 0) block.frame = frame;
    return block;
  }

  /**
   * out_time_us is exact; older builds print only out_time_ms, which despite its name also holds microseconds;
   * out_time (HH:MM:SS.micro) is the last resort. A negative time (muxer delay at the start) counts as 0.
   */
  private outTimeSeconds(): number | undefined {
    const micros = parseInteger(this.values.get('out_time_us')) ?? parseInteger(this.values.get('out_time_ms'));
    const seconds = micros !== undefined ? micros / MICROSECONDS : parseClock(this.values.get('out_time'));
    return seconds === undefined ? undefined : Math.max(0, seconds);
  }
}

function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text === 'N/A') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function parseInteger(text: string | undefined): number | undefined {
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
}

/** "[-]HH:MM:SS.uuuuuu" → seconds. */
function parseClock(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(-?)(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(text);
  if (!match) return undefined;
  const [, sign, h, m, s] = match;
  const seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return sign === '-' ? -seconds : seconds;
}
