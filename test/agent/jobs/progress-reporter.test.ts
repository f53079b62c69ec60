// Job progress, speed and ETA from tools' progress, on a fake clock: parts weighted by size, the measured rate as a
// multiple of 1× (real time for media, the disc's read rate for bytes), the tool's own speed and ETA when given,
// at most one report per interval, and life for the watchdog only when the work moved.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressReporter, type ProgressFields } from '../../../agent/jobs/progress-reporter.js';

// Only performance.now is faked: setImmediate is real, and lets the reporter's async part updates settle.
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ProgressReporter', () => {
  let sent: ProgressFields[];
  let reporter: ProgressReporter;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
    sent = [];
    reporter = new ProgressReporter(1000, (fields) => sent.push(fields));
  });
  afterEach(() => vi.useRealTimers());

  it('measures bytes: MB/s, and the speed as a multiple of the disc 1× rate', async () => {
    reporter.begin({ parts: [100_000_000], unitsAtOneX: 1_385_000, bytes: true });
    const alive = vi.fn();
    for (let second = 0; second <= 4; second++) {
      reporter.report(0, { fraction: (second * 11_080_000) / 100_000_000 }, alive, async () => undefined);
      vi.advanceTimersByTime(1000);
      await flush();
    }
    const last = sent.at(-1) as ProgressFields;
    expect(last.bytes_per_second).toBe(11_080_000);
    expect(last.current_speed).toBe('8.0x'); // 11.08 MB/s ÷ 1.385 MB/s
    expect(last.progress_percent).toBe(44.32);
    expect(last.eta_seconds).toBe(5); // 55.68 MB left at 11.08 MB/s
    expect(alive).toHaveBeenCalledTimes(4); // the first reading at 0 bytes is no movement
  });

  it('measures media seconds with no byte rate, and prefers the tool\'s own speed and ETA', async () => {
    reporter.begin({ parts: [60, 30], unitsAtOneX: 1, bytes: false });
    reporter.report(0, { fraction: 0.5, speed: 3.04, etaSeconds: 10 }, () => undefined, async () => undefined);
    await flush();
    expect(sent.at(-1)).toEqual({ progress_percent: 33.33, current_speed: '3.0x' });
    vi.advanceTimersByTime(2000);
    reporter.report(0, { fraction: 0.75, speed: 3, etaSeconds: 5 }, () => undefined, async () => undefined);
    await flush();
    // The tool's 5 s for this title, and the 30 s title after it at the measured 7.5 media s/s.
    expect(sent.at(-1)).toEqual({ progress_percent: 50, current_speed: '3.0x', eta_seconds: 9 });
  });

  it('reports at most once per interval, except the first reading of a new part', async () => {
    reporter.begin({ parts: [10, 10], unitsAtOneX: 1, bytes: false });
    const parts: number[] = [];
    for (const [index, fraction] of [[0, 0.1], [0, 0.2], [0, 0.3], [1, 0], [1, 0.1]] as const) {
      reporter.report(index, { fraction }, () => undefined, async (f) => { parts.push(f); });
      vi.advanceTimersByTime(100);
    }
    await flush();
    expect(parts).toEqual([0.1, 0]);
    // The first report's job update was overtaken by the newer one before its part update settled: only the newer goes.
    expect(sent.map((s) => s.progress_percent)).toEqual([50]);
  });

  it('keeps the measured rate when the parts change (a new selection), so the next title has a speed at once', async () => {
    reporter.begin({ parts: [10, 10], unitsAtOneX: 1, bytes: false });
    for (let second = 0; second <= 3; second++) {
      reporter.report(0, { fraction: (second * 2.5) / 10 }, () => undefined, async () => undefined);
      vi.advanceTimersByTime(1000);
      await flush();
    }
    reporter.setParts([10, 10, 10]);
    reporter.report(1, { fraction: 0.1 }, () => undefined, async () => undefined);
    await flush();
    expect(sent.at(-1)).toMatchObject({ progress_percent: 36.67, current_speed: expect.stringMatching(/x$/) });
  });
});
