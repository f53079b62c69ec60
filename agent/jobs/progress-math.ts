// Job-wide progress, speed and ETA from per-title progress. Titles are weighted by duration, since a tool's
// time to rip a title grows with its length, so a 2-hour feature counts for more than a 2-minute extra.
export interface TitleSpan {
  durationSeconds: number;
}

export interface JobProgress {
  percent: number;
  mediaDoneSeconds: number;
  mediaLeftSeconds: number;
}

/**
 * @param titles the selected titles, in rip order
 * @param index the title being ripped
 * @param fraction 0..1 of that title
 */
export function jobProgress(titles: readonly TitleSpan[], index: number, fraction: number): JobProgress {
  const total = titles.reduce((sum, title) => sum + Math.max(1, title.durationSeconds), 0);
  const done = titles.slice(0, index).reduce((sum, title) => sum + Math.max(1, title.durationSeconds), 0);
  const current = index < titles.length ? Math.max(1, titles[index]?.durationSeconds ?? 0) * clamp01(fraction) : 0;
  return {
    percent: total > 0 ? round2(((done + current) / total) * 100) : 0,
    mediaDoneSeconds: done + current,
    mediaLeftSeconds: total - done - current,
  };
}

/** "4.2x": one decimal, as people read speed multiples; undefined for a speed that means nothing (≤ 0, not finite). */
export function formatSpeed(speed: number | undefined): string | undefined {
  return speed !== undefined && Number.isFinite(speed) && speed > 0 ? `${speed.toFixed(1)}x` : undefined;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function round2(value: number): number {
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
