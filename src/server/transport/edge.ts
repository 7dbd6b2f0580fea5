// The edge every request crosses, whatever carries it (the websocket, the
// HTTP op mirror, the media routes): one admission gate (draining, rate limit,
// connection limit and overload, work in flight) and one mapping of errors to
// protocol errors, counted once.

import { NatterError, type WireError } from "../../protocol/index.ts";
import type { Dispatch } from "../domain/ops.ts";
import type { Caller } from "../domain/ports.ts";
import type { RateLimiter } from "../domain/rate-limit.ts";
import { DiskFull, diskFullReporter } from "../disk-full.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { bearer, errorResponse, toNatterError } from "./errors.ts";
import type { AuthThrottle } from "./throttle.ts";

/** A reply body without `re`: `ok` and the op's result (OpResults), or the error. */
export type OpOutcome = ({ ok: true } & Record<string, unknown>) | { ok: false; error: WireError };

export interface EdgeDeps {
  /** Resolves a bearer token to its caller; throws unauthorized. */
  authenticate(token: string | null): Promise<Caller>;
  dispatch: Dispatch;
  limiter: RateLimiter;
  metrics: Metrics;
  log: Logger;
  /** Event-loop lag above which new connections are refused (ms). */
  overloadLagMs: number;
  /** Counts bad tokens per address and refuses an address out of allowance (rate_limited). */
  throttle?: AuthThrottle;
}

export class Edge {
  /** Set at shutdown: new work is refused with unavailable. */
  draining = false;
  /** Work started and not yet answered (shutdown waits for it). */
  inFlight = 0;
  readonly startedAt = Date.now();
  private lagMs = 0;
  private lagTimer: ReturnType<typeof setInterval> | null = null;
  /** Counts a refusal for a full disk; logs "disk full" once per few seconds. */
  private readonly diskFull: (path: string) => void;

  constructor(private readonly deps: EdgeDeps) {
    this.diskFull = diskFullReporter(deps.log, () => deps.metrics.diskFull.inc());
  }

  /** Measures event-loop lag; overloaded() is true while it exceeds overloadLagMs. */
  startLagMonitor(): void {
    let expected = performance.now() + 100;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      this.lagMs = Math.max(0, now - expected);
      expected = now + 100;
    }, 100);
    this.lagTimer.unref?.();
  }

  stopLagMonitor(): void {
    if (this.lagTimer) clearInterval(this.lagTimer);
  }

  overloaded(): boolean {
    return this.lagMs > this.deps.overloadLagMs;
  }

  /** A retry-after with jitter, so refused clients do not return as one herd. */
  retryAfterMs(): number {
    return 1000 + Math.floor(Math.random() * 4000);
  }

  /** Admits a caller's request: unavailable while draining, rate_limited past the device's rate. */
  admit(caller: Caller): void {
    if (this.draining) throw new NatterError("unavailable", "server is shutting down", this.retryAfterMs());
    const wait = this.deps.limiter.take(caller.device);
    if (wait > 0) throw new NatterError("rate_limited", `too many requests; retry in ${wait} ms`, wait);
  }

  /**
   * Admits a new connection when `open` are open: unavailable while draining,
   * at `max`, or while the event loop lags (the last two counted as refused).
   */
  admitConnection(open: number, max: number): void {
    if (this.draining) throw new NatterError("unavailable", "server is shutting down", this.retryAfterMs());
    if (open >= max) {
      this.deps.metrics.refused.inc({ reason: "max_connections" });
      throw new NatterError("unavailable", "server is at its connection limit", this.retryAfterMs());
    }
    if (this.overloaded()) {
      this.deps.metrics.refused.inc({ reason: "overload" });
      throw new NatterError("unavailable", "server is overloaded", this.retryAfterMs());
    }
  }

  /** The caller of an HTTP request, from its bearer token; unauthorized without a valid one. */
  authenticate(req: Request): Promise<Caller> {
    const t = this.deps.throttle;
    return t ? t.guard(req, undefined, () => this.deps.authenticate(bearer(req))) : this.deps.authenticate(bearer(req));
  }

  /** authenticate(), then admit(). */
  async caller(req: Request): Promise<Caller> {
    const caller = await this.authenticate(req);
    this.admit(caller);
    return caller;
  }

  /** Runs `fn` counted as in flight. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
    }
  }

  /** The one error mapping: a NatterError as is, a full disk `unavailable` (reported), anything else logged and `internal`; each counted by code. */
  error(e: unknown, where: string): NatterError {
    const err = toNatterError(e, this.deps.log, where);
    if (err instanceof DiskFull) this.diskFull(err.path);
    this.deps.metrics.errors.inc({ code: err.code });
    return err;
  }

  /** error() as an HTTP response. */
  response(e: unknown, where: string): Response {
    return errorResponse(this.error(e, where));
  }

  /** Runs one op for a caller (admitted, dispatched, timed) and returns the reply body without `re`. Never throws. */
  async op(caller: Caller, op: string, params: unknown): Promise<OpOutcome> {
    const t0 = performance.now();
    this.inFlight++; // as track() does, without its extra closure on the hot path
    try {
      this.admit(caller);
      const result = await this.deps.dispatch(op, caller, params);
      this.deps.metrics.opDuration.observe({ op }, (performance.now() - t0) / 1000);
      return { ok: true, ...result };
    } catch (e) {
      return { ok: false, error: this.error(e, `op ${op}`).toWire() };
    } finally {
      this.inFlight--;
    }
  }
}
