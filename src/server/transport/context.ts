// Everything a transport handler needs, built once per server, plus the one
// function that runs an op for a caller: rate limit, dispatch, error mapping, metrics.

import { NatterError, type WireError } from "../../protocol/index.ts";
import type { ServerConfig } from "../config.ts";
import type { Accounts } from "../domain/accounts.ts";
import type { Chat } from "../domain/chat.ts";
import type { Devices } from "../domain/devices.ts";
import { dispatch } from "../domain/ops.ts";
import type { Caller } from "../domain/ports.ts";
import type { Presence } from "../domain/presence.ts";
import type { RateLimiter } from "../domain/rate-limit.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Store } from "../store/types.ts";
import type { Hub } from "./hub.ts";
import { toNatterError } from "./errors.ts";

export type OpOutcome = ({ ok: true } & Record<string, unknown>) | { ok: false; error: WireError };

export class ServerContext {
  draining = false;
  /** Ops started and not yet answered (drained on shutdown). */
  inFlight = 0;
  private lagMs = 0;
  private lagTimer: ReturnType<typeof setInterval> | null = null;
  readonly startedAt = Date.now();

  constructor(
    readonly config: ServerConfig,
    readonly store: Store,
    readonly hub: Hub,
    readonly accounts: Accounts,
    readonly chat: Chat,
    readonly presence: Presence,
    readonly limiter: RateLimiter,
    readonly metrics: Metrics,
    readonly log: Logger,
    readonly devices: Devices,
  ) {}

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
    return this.lagMs > this.config.overloadLagMs;
  }

  /** A retry-after with jitter, so refused clients do not return as one herd. */
  retryAfterMs(): number {
    return 1000 + Math.floor(Math.random() * 4000);
  }

  /** Runs one op for a caller and returns the reply body (without `re`). Never throws. */
  async run(caller: Caller, op: string, params: unknown): Promise<OpOutcome> {
    const t0 = performance.now();
    this.inFlight++;
    try {
      if (this.draining) throw new NatterError("unavailable", "server is shutting down", this.retryAfterMs());
      const wait = this.limiter.take(caller.device);
      if (wait > 0) throw new NatterError("rate_limited", `too many requests; retry in ${wait} ms`, wait);
      const result = await dispatch(this.chat, caller, op, params, this.devices);
      this.metrics.opDuration.observe({ op }, (performance.now() - t0) / 1000);
      return { ok: true, ...result };
    } catch (e) {
      const err = toNatterError(e, this.log, `op ${op}`);
      this.metrics.errors.inc({ code: err.code });
      return { ok: false, error: err.toWire() };
    } finally {
      this.inFlight--;
    }
  }
}
