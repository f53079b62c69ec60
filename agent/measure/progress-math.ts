// Job-wide progress, speed and ETA from the progress of its parts. Parts are weighted by how much work they are
// (a title's seconds of media, an image's bytes), since a tool's time grows with that, so a 2-hour feature counts
// for more than a 2-minute extra.
export interface JobProgress {
  percent: number;
  /** Work done and left, in the parts' own unit. */
  done: number;
  left: number;
}

/**
 * @param parts the size of each part of the work, in the order it is done
 * @param index the part being worked on
 * @param fraction 0..1 of that part
 */
export function jobProgress(parts: readonly number[], index: number, fraction: number): JobProgress {
  const weight = (size: number | undefined) => Math.max(1, size ?? 0);
  const total = parts.reduce((sum, size) => sum + weight(size), 0);
  const done = parts.slice(0, index).reduce((sum, size) => sum + weight(size), 0);
  const current = index < parts.length ? weight(parts[index]) * clamp01(fraction) : 0;
  return {
    percent: total > 0 ? round2(((done + current) / total) * 100) : 0,
    done: done + current,
    left: total - done - current,
  };
}

/** "4.2x": one decimal, as people read speed multiples; undefined for a speed that means nothing (≤ 0, not finite). */
export function formatSpeed(speed: number | undefined): string | undefined {
  return speed !== undefined && Number.isFinite(speed) && speed > 0 ? `${speed.toFixed(1)}x` : undefined;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** Two decimals, as percentages are told. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * A rate over a sliding window of (time, amount) samples: seconds of media per second, bytes per second…
 * Tools report speed late or not at all (HandBrake prints its fps only after several seconds), so we measure it.
 */
export class RateMeter {
  private readonly samples: { at: number; amount: number }[] = [];

  constructor(private readonly windowMs: number, private readonly minSpanMs = 1000) {}

  add(at: number, amount: number): void {
    // Tools report hundreds of times a second; a window's rate needs only a few dozen points, so a sample that comes
    // soon after the previous one replaces it instead of growing the list.
    const last = this.samples.at(-1);
    if (last && this.samples.length > 1 && at - (this.samples.at(-2) as { at: number }).at < this.windowMs / 32) {
      last.at = at;
      last.amount = amount;
    } else {
      this.samples.push({ at, amount });
    }
    while (this.samples.length > 2 && at - (this.samples[0] as { at: number }).at > this.windowMs) this.samples.shift();
  }

  /** Amount per second over the window, or undefined until the window spans at least minSpanMs. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < this.minSpanMs || last.amount < first.amount) return undefined;
    return ((last.amount - first.amount) * 1000) / (last.at - first.at);
  }
}
