import { describe, expect, it } from 'vitest';
import { RateMeter, formatSpeed, jobProgress } from '../../../agent/measure/progress-math.js';
import { SpeedMultiple } from '../../../shared/protocol/fields.js';

const TITLES = [30, 12, 3]; // 45 s, as in our scan capture

describe('jobProgress', () => {
  it('starts at 0', () => {
    expect(jobProgress(TITLES, 0, 0)).toEqual({ percent: 0, done: 0, left: 45 });
  });

  it('weights titles by duration', () => {
    // Half of the 30 s title = 15 of 45 s.
    expect(jobProgress(TITLES, 0, 0.5)).toEqual({ percent: 33.33, done: 15, left: 30 });
    // First title done, second at start = 30 of 45 s.
    expect(jobProgress(TITLES, 1, 0)).toEqual({ percent: 66.67, done: 30, left: 15 });
    // 30 + 12 + 1.5 = 43.5 of 45 s.
    expect(jobProgress(TITLES, 2, 0.5)).toEqual({ percent: 96.67, done: 43.5, left: 1.5 });
  });

  it('reaches exactly 100 at the end of the last title', () => {
    expect(jobProgress(TITLES, 2, 1)).toEqual({ percent: 100, done: 45, left: 0 });
    expect(jobProgress([7], 0, 1).percent).toBe(100);
  });

  it('gives the same value at the end of one title and the start of the next', () => {
    expect(jobProgress(TITLES, 0, 1)).toEqual(jobProgress(TITLES, 1, 0));
    expect(jobProgress(TITLES, 1, 1)).toEqual(jobProgress(TITLES, 2, 0));
  });

  it('never goes down as index and fraction grow, and stays within 0..100', () => {
    const titles = [5400, 0, 95, 1, 1320];
    let previous = -1;
    let previousDone = -1;
    for (let index = 0; index < titles.length; index++) {
      for (let step = 0; step <= 100; step++) {
        const p = jobProgress(titles, index, step / 100);
        expect(p.percent).toBeGreaterThanOrEqual(previous);
        expect(p.done).toBeGreaterThanOrEqual(previousDone);
        expect(p.percent).toBeGreaterThanOrEqual(0);
        expect(p.percent).toBeLessThanOrEqual(100);
        expect(p.left).toBeGreaterThanOrEqual(0);
        previous = p.percent;
        previousDone = p.done;
      }
    }
    expect(previous).toBe(100);
  });

  it('clamps the fraction to 0..1', () => {
    expect(jobProgress(TITLES, 0, -0.5)).toEqual(jobProgress(TITLES, 0, 0));
    expect(jobProgress(TITLES, 0, 1.7)).toEqual(jobProgress(TITLES, 0, 1));
    expect(jobProgress(TITLES, 2, 5).percent).toBe(100);
  });

  it('counts a zero-length title as one second, so it still moves the bar', () => {
    const titles = [0, 0];
    expect(jobProgress(titles, 0, 0.5)).toEqual({ percent: 25, done: 0.5, left: 1.5 });
    expect(jobProgress(titles, 1, 1).percent).toBe(100);
  });

  it('gives 0 % for an empty title list', () => {
    expect(jobProgress([], 0, 0.5).percent).toBe(0);
  });

  it('rounds the percent to two decimals', () => {
    const p = jobProgress([3], 0, 1 / 3);
    expect(p.percent).toBe(33.33);
    expect(p.done).toBeCloseTo(1, 10);
  });
});

describe('formatSpeed', () => {
  it.each([
    [4.2, '4.2x'],
    [4.25, '4.3x'],
    [1, '1.0x'],
    [0.04, '0.0x'],
    [0.96, '1.0x'],
    [12.345, '12.3x'],
    [150, '150.0x'],
    [5.7186, '5.7x'],
  ])('formatSpeed(%d) = %s', (speed, text) => {
    expect(formatSpeed(speed)).toBe(text);
  });

  it('matches the shared SpeedMultiple field for realistic speeds', () => {
    for (let speed = 0.37; speed < 1000; speed += 0.37) {
      const text = formatSpeed(speed);
      expect(SpeedMultiple.safeParse(text).success, text).toBe(true);
      expect(text).toMatch(/^\d+\.\dx$/);
    }
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, undefined])('has no text for a meaningless speed (%s)', (speed) => {
    expect(formatSpeed(speed)).toBeUndefined();
  });

  it('matches SpeedMultiple for HandBrake fps over an NTSC frame rate', () => {
    const ntsc = 27_000_000 / 900_900;
    expect(formatSpeed(171.34 / ntsc)).toBe('5.7x');
    expect(SpeedMultiple.parse(formatSpeed(171.34 / ntsc))).toBe('5.7x');
  });
});

describe('RateMeter', () => {
  it('has no rate without samples or with one sample', () => {
    const meter = new RateMeter(10_000);
    expect(meter.rate()).toBeUndefined();
    meter.add(0, 0);
    expect(meter.rate()).toBeUndefined();
  });

  it('has no rate until the samples span minSpan', () => {
    const meter = new RateMeter(10_000, 1000);
    meter.add(0, 0);
    meter.add(500, 2);
    expect(meter.rate()).toBeUndefined();
    meter.add(999, 4);
    expect(meter.rate()).toBeUndefined();
    meter.add(1000, 4);
    expect(meter.rate()).toBe(4);
  });

  it('measures amount per second over the window', () => {
    const meter = new RateMeter(10_000);
    for (let t = 0; t <= 5000; t += 500) meter.add(t, t * 0.003); // 3 units per second
    expect(meter.rate()).toBeCloseTo(3, 10);
  });

  it('drops samples older than the window, so the rate follows a change of speed', () => {
    const meter = new RateMeter(2000, 500);
    let amount = 0;
    // 10 s at 1 unit/s, then 10 s at 5 units/s, sampled every 250 ms.
    for (let t = 0; t <= 10_000; t += 250) {
      meter.add(t, amount);
      amount += 0.25;
    }
    expect(meter.rate()).toBeCloseTo(1, 10);
    amount -= 0.25;
    for (let t = 10_250; t <= 20_000; t += 250) {
      amount += 1.25;
      meter.add(t, amount);
    }
    // Only the last 2 s count: all at 5 units/s.
    expect(meter.rate()).toBeCloseTo(5, 10);
  });

  it('keeps two samples even when they are further apart than the window', () => {
    const meter = new RateMeter(1000);
    meter.add(0, 0);
    meter.add(10_000, 20);
    expect(meter.rate()).toBe(2);
    meter.add(30_000, 30);
    // The 0 s sample is dropped; 10 s → 30 s gives 10 / 20 s.
    expect(meter.rate()).toBe(0.5);
  });

  it('uses 1000 ms as the default minSpan', () => {
    const meter = new RateMeter(10_000);
    meter.add(0, 0);
    meter.add(999, 10);
    expect(meter.rate()).toBeUndefined();
    meter.add(1000, 10);
    expect(meter.rate()).toBe(10);
  });

  it('gives 0 when nothing moves', () => {
    const meter = new RateMeter(10_000);
    meter.add(0, 5);
    meter.add(2000, 5);
    expect(meter.rate()).toBe(0);
  });
});
