// Per-device token bucket: `burst` requests at once, refilled at `perSec`.

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly burst: number, private readonly perSec: number) {}

  /** Takes one token; returns 0 if allowed, else the ms until one is available. */
  take(key: string, now = performance.now()): number {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: this.burst, at: now }));
    else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.perSec) / 1000);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / this.perSec);
  }

  /** Drops buckets that are full again (memory stays bounded by active devices). */
  sweep(now = performance.now()): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) * this.perSec) / 1000 >= this.burst) this.buckets.delete(k);
  }
}
