import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../agent/link/backoff.js';

describe('Backoff', () => {
  it('doubles the ceiling each attempt until the cap (random = 1 shows the ceiling)', () => {
    const backoff = new Backoff(100, 5000, () => 1);
    const delays = Array.from({ length: 10 }, () => backoff.next());
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
  });

  it('uses full jitter: random × ceiling, between 0 and the ceiling', () => {
    const backoff = new Backoff(100, 5000, () => 0.5);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([50, 100, 200, 400]);

    const zero = new Backoff(100, 5000, () => 0);
    expect([zero.next(), zero.next(), zero.next()]).toEqual([0, 0, 0]);
  });

  it('rounds to whole milliseconds', () => {
    const backoff = new Backoff(100, 5000, () => 0.3333);
    const delay = backoff.next();
    expect(delay).toBe(33);
    expect(Number.isInteger(delay)).toBe(true);
  });

  it('stays within [0, cap] for any random value, over many attempts', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const backoff = new Backoff(250, 30_000, random);
    for (let attempt = 0; attempt < 200; attempt++) {
      const ceiling = Math.min(30_000, 250 * 2 ** attempt);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
      expect(Number.isFinite(delay)).toBe(true);
    }
  });

  it('keeps the cap after very many attempts (no overflow to Infinity/NaN)', () => {
    const backoff = new Backoff(1000, 60_000, () => 1);
    let last = 0;
    for (let i = 0; i < 10_000; i++) last = backoff.next();
    expect(last).toBe(60_000);
  });

  it('restarts from the base after reset()', () => {
    const backoff = new Backoff(100, 5000, () => 1);
    backoff.next();
    backoff.next();
    backoff.next();
    backoff.reset();
    expect([backoff.next(), backoff.next()]).toEqual([100, 200]);
  });

  it('caps even the first delay when the base exceeds the cap', () => {
    const backoff = new Backoff(10_000, 3000, () => 1);
    expect(backoff.next()).toBe(3000);
  });

  it('uses Math.random by default', () => {
    const backoff = new Backoff(1000, 1000);
    for (let i = 0; i < 50; i++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });
});
