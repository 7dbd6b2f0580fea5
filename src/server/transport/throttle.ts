// Failed authentications, throttled per client address and per login-code
// prefix: each key may fail `burst` times, refilled at `perMin` a minute; a
// key whose allowance runs out is refused (`rate_limited`, retry_after_ms) for
// `lockoutMs` before any work is done (no hash, no read, no write).

import { NatterError } from "../../protocol/index.ts";

export interface ThrottleOptions {
  /** Failures a key may have at once. */
  burst: number;
  /** Failures a minute a key earns back. */
  perMin: number;
  /** How long a key that ran out is refused (ms). */
  lockoutMs: number;
  /** Keys remembered at most; past it the oldest are forgotten (memory stays bounded). */
  maxKeys?: number;
}

/** Where a request came from: Bun's view of its socket. */
export interface AddressSource {
  requestIP(req: Request): { address: string } | null;
}

interface Bucket {
  tokens: number;
  at: number;
  lockedUntil: number;
}

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  /** Set once the server listens; until then every request is "unknown". */
  server: AddressSource | null = null;

  constructor(private readonly o: ThrottleOptions) {
    this.maxKeys = o.maxKeys ?? 100_000;
  }

  /** The client address of `req`: the peer of its socket (behind a proxy, the proxy's). */
  addressOf(req: Request): string {
    try {
      return this.server?.requestIP(req)?.address ?? "unknown";
    } catch {
      return "unknown";
    }
  }

  /** The throttle keys of a request: its address, and the prefix of the login code it tries (if any). */
  keys(req: Request, code?: string): string[] {
    const keys = ["a:" + this.addressOf(req)];
    if (code) keys.push("c:" + code.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 4));
    return keys;
  }

  /** Throws rate_limited while any of `keys` is locked out. */
  check(keys: readonly string[], now = Date.now()): void {
    let until = 0;
    for (const k of keys) until = Math.max(until, this.buckets.get(k)?.lockedUntil ?? 0);
    if (until > now) {
      const wait = until - now;
      throw new NatterError("rate_limited", `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`, wait);
    }
  }

  /** Counts one failure against each of `keys`; a key out of allowance is locked out. */
  fail(keys: readonly string[], now = Date.now()): void {
    for (const k of keys) {
      let b = this.buckets.get(k);
      if (!b) {
        if (this.buckets.size >= this.maxKeys) this.evict(now);
        this.buckets.set(k, (b = { tokens: this.o.burst, at: now, lockedUntil: 0 }));
      } else {
        b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) * this.o.perMin) / 60_000);
        b.at = now;
      }
      b.tokens -= 1;
      if (b.tokens < 1) b.lockedUntil = now + this.o.lockoutMs;
    }
  }

  /**
   * Runs one authentication attempt of `req` (trying login code `code`, if
   * any): refused while locked out; an `unauthorized` failure is counted.
   */
  async guard<T>(req: Request, code: string | undefined, attempt: () => Promise<T>): Promise<T> {
    const keys = this.keys(req, code);
    this.check(keys);
    try {
      return await attempt();
    } catch (e) {
      if (e instanceof NatterError && e.code === "unauthorized") this.fail(keys);
      throw e;
    }
  }

  /** Forgets keys that are unlocked and full again. */
  sweep(now = Date.now()): void {
    for (const [k, b] of this.buckets) if (b.lockedUntil <= now && b.tokens + ((now - b.at) * this.o.perMin) / 60_000 >= this.o.burst) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** At the key cap: sweeps, then forgets the oldest tenth if still full. */
  private evict(now: number): void {
    this.sweep(now);
    if (this.buckets.size < this.maxKeys) return;
    let n = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
