// Turns a tool's progress on one part of the work (a title, an image) into the job's progress, speed and ETA, at
// most once per interval. Parts are weighted by their size; the rate is measured, since tools report speed late or
// not at all, and the tool's own speed and ETA win when it gives them.
import { RateMeter, formatSpeed, jobProgress } from '../measure/progress-math.js';

export interface ToolProgress {
  /** 0..1 of the current part. */
  fraction: number;
  /** A multiple of real time or of the disc's 1× rate, when the tool knows it. */
  speed?: number;
  /** Seconds to the end of the current part, as the tool estimates them. */
  etaSeconds?: number;
}

export interface ProgressFields {
  progress_percent: number;
  current_speed?: string;
  eta_seconds?: number;
  bytes_per_second?: number;
}

export interface Measure {
  /** The size of each part in the order they are worked on: seconds of media, or bytes. */
  parts: readonly number[];
  /** Units per second at 1× speed: 1 for media seconds, the disc's 1× read rate for bytes. */
  unitsAtOneX: number;
  /** The parts are bytes: the rate is also told as bytes per second. */
  bytes: boolean;
}

export class ProgressReporter {
  private measure: Measure = { parts: [], unitsAtOneX: 1, bytes: false };
  private rate = new RateMeter(10_000);
  private lastDone = 0;
  private lastAt = -Infinity;
  private lastIndex = -1;

  constructor(
    private readonly intervalMs: number,
    /** Sends the job's progress, unless the job has stopped meanwhile. */
    private readonly send: (fields: ProgressFields) => void,
  ) {}

  /** Starts measuring a new stretch of work (ripping, transcoding, imaging): rates and sizes start again. */
  begin(measure: Measure): void {
    this.measure = measure;
    this.rate = new RateMeter(10_000);
    this.lastDone = 0;
    this.lastAt = -Infinity;
    this.lastIndex = -1;
  }

  /** The parts changed (a person changed the selection): the rate measured so far goes on. */
  setParts(parts: readonly number[]): void {
    this.measure = { ...this.measure, parts };
  }

  /** Job progress for part `index` at `fraction`, without reporting anything. */
  percentAt(index: number, fraction: number): number {
    return jobProgress(this.measure.parts, index, fraction).percent;
  }

  /**
   * Takes one progress reading of part `index`. Calls `alive` when the work moved, and at most once per interval
   * `updatePart` (which may look at files) then the job's progress.
   */
  report(index: number, progress: ToolProgress, alive: () => void, updatePart: (fraction: number) => Promise<void>): void {
    const now = performance.now();
    const job = jobProgress(this.measure.parts, index, progress.fraction);
    if (job.done > this.lastDone) {
      this.lastDone = job.done;
      alive();
    }
    this.rate.add(now, job.done);
    // The first reading of each part goes out at once: people see the new title start.
    if (index === this.lastIndex && now - this.lastAt < this.intervalMs) return;
    this.lastIndex = index;
    this.lastAt = now;
    void updatePart(progress.fraction).then(() => {
      if (this.lastAt !== now) return; // a newer reading has been reported meanwhile
      const rate = this.rate.rate();
      const speed = formatSpeed(progress.speed ?? (rate !== undefined ? rate / this.measure.unitsAtOneX : undefined));
      const later = this.measure.parts.slice(index + 1).reduce((sum, size) => sum + size, 0);
      // The tool's own ETA covers its part; later parts take their size at the measured rate.
      const eta = progress.etaSeconds !== undefined && (later === 0 || rate)
        ? progress.etaSeconds + (rate ? later / rate : 0)
        : rate ? job.left / rate : undefined;
      this.send({
        progress_percent: job.percent,
        ...(speed ? { current_speed: speed } : {}),
        ...(eta !== undefined && Number.isFinite(eta) ? { eta_seconds: Math.max(0, Math.round(eta)) } : {}),
        ...(this.measure.bytes && rate !== undefined ? { bytes_per_second: Math.round(rate) } : {}),
      });
    });
  }
}
