// Runs checkpoint-worker.ts for a set of shard files and keeps watch: if the
// worker dies, `onDeath` lets the owner turn SQLite's own checkpoints back on
// so the WAL cannot grow without bound.

import type { CheckpointReport, CheckpointRequest } from "./checkpoint-worker.ts";
import { workerUrl } from "./worker-url.ts";

export interface CheckpointerOptions {
  intervalMs?: number;
  /** A WAL smaller than this is left alone. */
  minWalBytes?: number;
  onReport?: (r: CheckpointReport) => void;
  onDeath: (reason: string) => void;
}

export class Checkpointer {
  private readonly worker: Worker;
  private stopping = false;

  constructor(paths: string[], private readonly opts: CheckpointerOptions) {
    this.worker = new Worker(workerUrl("checkpoint-worker"));
    this.worker.onmessage = (e: MessageEvent<CheckpointReport>) => opts.onReport?.(e.data);
    this.worker.onerror = (e) => this.died(`checkpoint worker failed: ${e.message}`);
    this.worker.addEventListener("close", () => this.died("checkpoint worker exited"));
    const start: CheckpointRequest = { type: "start", paths, intervalMs: opts.intervalMs ?? 200, minWalBytes: opts.minWalBytes ?? 4 * 1024 * 1024 };
    this.worker.postMessage(start);
    this.worker.unref();
  }

  private died(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.opts.onDeath(reason);
  }

  /** Stops the worker after its current checkpoint; closes its connections. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => {
      this.worker.onmessage = (e: MessageEvent<CheckpointReport>) => e.data.type === "stopped" && resolve();
    });
    this.worker.postMessage({ type: "stop" } satisfies CheckpointRequest);
    await Promise.race([stopped, Bun.sleep(2_000)]);
    this.worker.terminate();
  }
}
