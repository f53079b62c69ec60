// Token buckets: `rate` tokens a second up to `burst`. One per login address, one per connection for messages.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, now = performance.now()) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token if there is one. */
  take(now = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Buckets by key (an address), forgetting keys unused for a while so the map stays small. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();

  constructor(private readonly rate: number, private readonly burst: number, private readonly maxKeys = 10_000) {}

  take(key: string, now = performance.now()): boolean {
    let entry = this.buckets.get(key);
    if (!entry) {
      if (this.buckets.size >= this.maxKeys) this.forgetOldest();
      entry = { bucket: new TokenBucket(this.rate, this.burst, now), used: now };
      this.buckets.set(key, entry);
    }
    entry.used = now;
    return entry.bucket.take(now);
  }

  private forgetOldest(): void {
    const oldest = [...this.buckets.entries()].sort((a, b) => a[1].used - b[1].used).slice(0, Math.ceil(this.maxKeys / 10));
    for (const [key] of oldest) this.buckets.delete(key);
  }
}
