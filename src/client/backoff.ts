// Exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff And Jitter"): delay = random(0, min(max, base * 2^attempt)).
// The cap is what a person waits at most once the server is back; the
// jitter spreads the clients of a restarted server over that window.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** The jitter's source of [0, 1) (default Math.random; tests pin it). */
  random?: () => number;
}

/** 500 ms doubling up to 5 s: after an outage of any length the next attempt is at most 5 s away. */
export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 5_000 } as const;

/** The upper bound of the delay before retry number `attempt` (0-based): min(max, base * 2^attempt); Infinity means the cap. */
export function backoffCeiling(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  if (attempt < 0 || Number.isNaN(attempt)) attempt = 0;
  // 2^attempt overflows to Infinity for huge attempts; min() still caps it.
  return Math.min(max, base * 2 ** attempt);
}

/** Full-jitter delay in ms for retry number `attempt`: uniform in [0, ceiling). */
export function fullJitterDelay(attempt: number, opts: BackoffOptions = {}): number {
  return Math.floor((opts.random ?? Math.random)() * backoffCeiling(attempt, opts));
}
