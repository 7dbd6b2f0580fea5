// Exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff And Jitter"): delay = random(0, min(max, base * 2^attempt)).

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
}

export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000 } as const;

/** The upper bound of the delay before retry number `attempt` (0-based): min(max, base * 2^attempt). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  if (attempt < 0 || !Number.isFinite(attempt)) attempt = 0;
  // 2^attempt overflows to Infinity for huge attempts; min() still caps it.
  return Math.min(max, base * 2 ** attempt);
}

/** Full-jitter delay in ms for retry number `attempt`: uniform in [0, ceiling). `rand` returns [0, 1). */
export function fullJitterDelay(attempt: number, opts: BackoffOptions = {}, rand: () => number = Math.random): number {
  return Math.floor(rand() * backoffCeiling(attempt, opts));
}
