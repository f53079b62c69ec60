// Token buckets with explicit clocks (ms): `rate` tokens a second up to `burst`; KeyedLimiter keeps one per key.
import { describe, expect, it } from 'vitest';
import { KeyedLimiter, TokenBucket } from '../../../hub/auth/rate-limit.js';

const takes = (take: () => boolean, n: number) => Array.from({ length: n }, () => take()).filter(Boolean).length;

describe('TokenBucket', () => {
  it('starts full: a burst of `burst`, then nothing without time passing', () => {
    const bucket = new TokenBucket(5, 20, 0);
    expect(takes(() => bucket.take(0), 100)).toBe(20);
    expect(bucket.take(0)).toBe(false);
  });

  it('refills at `rate` a second, never beyond `burst`', () => {
    const bucket = new TokenBucket(5, 20, 0);
    takes(() => bucket.take(0), 20);
    expect(bucket.take(100)).toBe(false); // 0.5 token
    expect(bucket.take(200)).toBe(true); // 1 token after 200 ms
    expect(bucket.take(200)).toBe(false);
    expect(takes(() => bucket.take(1200), 100)).toBe(5); // one more second: 5 tokens
    expect(takes(() => bucket.take(1_000_000), 100)).toBe(20); // a long pause fills it, to the burst only
  });

  it('holds a sustained rate exactly: 5 a second over a minute of someone asking 50 a second', () => {
    const bucket = new TokenBucket(5, 20, 0);
    let granted = 0;
    for (let t = 0; t <= 60_000; t += 20) if (bucket.take(t)) granted++;
    expect(granted).toBeGreaterThanOrEqual(20 + 5 * 60 - 1);
    expect(granted).toBeLessThanOrEqual(20 + 5 * 60 + 1);
  });

  it('the sign-in limit (5 a minute, burst 5): five attempts, then one every 12 s', () => {
    const bucket = new TokenBucket(5 / 60, 5, 0);
    expect(takes(() => bucket.take(0), 10)).toBe(5);
    expect(bucket.take(11_900)).toBe(false);
    expect(bucket.take(12_000)).toBe(true);
    expect(bucket.take(12_000)).toBe(false);
  });

  it('a clock that goes backwards takes tokens away rather than giving any', () => {
    const bucket = new TokenBucket(5, 20, 10_000);
    takes(() => bucket.take(10_000), 20);
    expect(takes(() => bucket.take(0), 100)).toBe(0);
  });
});

describe('KeyedLimiter', () => {
  it('limits each key on its own', () => {
    const limiter = new KeyedLimiter(5 / 60, 5);
    expect(takes(() => limiter.take('10.0.0.1', 0), 10)).toBe(5);
    expect(takes(() => limiter.take('10.0.0.2', 0), 10)).toBe(5);
    expect(limiter.take('10.0.0.1', 6000)).toBe(false);
    expect(limiter.take('10.0.0.1', 12_000)).toBe(true);
  });

  it('stays within maxKeys by forgetting the keys unused longest, and keeps the busy ones limited', () => {
    const limiter = new KeyedLimiter(1, 1, 100);
    expect(limiter.take('busy', 0)).toBe(true);
    for (let i = 0; i < 99; i++) limiter.take(`idle-${i}`, 1 + i);
    expect(limiter.take('busy', 200)).toBe(false); // its bucket is still there: used at 200 < 1000 ms refill
    // 100 keys: the next new key forgets the oldest tenth (idle-0…idle-9), not "busy" (used last).
    expect(limiter.take('new-key', 300)).toBe(true);
    expect(limiter.take('busy', 300)).toBe(false);
    const size = (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size;
    expect(size).toBeLessThanOrEqual(100);
    // A forgotten key starts again with a full bucket.
    expect(limiter.take('idle-0', 301)).toBe(true);
  });

  it('never holds more than maxKeys buckets whatever the number of addresses', () => {
    const limiter = new KeyedLimiter(1, 1, 1000);
    for (let i = 0; i < 20_000; i++) limiter.take(`addr-${i}`, i);
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(1000);
  });
});
