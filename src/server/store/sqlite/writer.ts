// The main thread's end of the writer thread (writer-worker.ts): calls go
// over a round at a time (one message, JSON text), the next round when every
// call of the one before is answered, so rounds grow with the load; answers
// come back a batch at a time, in commit order. A call's `committed` hook
// runs when its answer arrives, before any caller resumes, so in-memory
// caches stay exact.

import { NatterError, type ErrorCode } from "../../../protocol/index.ts";
import type { Synchronous } from "./shard.ts";
import type { WireFailure, WriterCall, WriterReport, WriterRequest } from "./writer-worker.ts";
import type { WriteArgs, WriteOp, WriteResult } from "./writes.ts";

export interface WriterOptions {
  paths: string[];
  synchronous: Synchronous;
  walAutoCheckpoint?: number;
  onCommit?: (shard: number, batch: number, ms: number) => void;
  /** A group commit was rolled back: caches built from earlier answers may be wrong. */
  onRollback?: () => void;
  /** The thread died; every write fails from now on. */
  onDeath?: (reason: string) => void;
}

interface Waiter {
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
  committed?: (v: any) => void;
}

/**
 * From source, the worker sits beside this file. In the compiled binary
 * (scripts/build.ts adds it as an entrypoint) every module lives under
 * /$bunfs/root/ by its path below src/, with a .js extension.
 */
function workerUrl(): string {
  if (import.meta.path.startsWith("/$bunfs/")) return "/$bunfs/root/server/store/sqlite/writer-worker.js";
  return new URL("./writer-worker.ts", import.meta.url).href;
}

export class Writer {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  private outbox: WriterCall[] = [];
  private scheduled = false;
  /** Calls of the round on the writer thread not yet answered; the next round goes when it is 0. */
  private inFlight = 0;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;

  constructor(private readonly opts: WriterOptions) {
    this.worker = new Worker(workerUrl());
    this.worker.onmessage = (e: MessageEvent<string>) => this.receive(JSON.parse(e.data) as WriterReport);
    this.worker.onerror = (e) => this.die(`writer thread failed: ${e.message}`);
    this.worker.addEventListener("close", () => this.die("writer thread exited"));
    const open: WriterRequest = { t: "open", paths: opts.paths, synchronous: opts.synchronous, walAutoCheckpoint: opts.walAutoCheckpoint };
    this.post(open);
  }

  /** Queues `op` on shard `shard`; resolves with its result once its commit is durable. */
  call<K extends WriteOp>(shard: number, op: K, args: WriteArgs<K>, committed?: (v: WriteResult<K>) => void): Promise<WriteResult<K>> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing) return Promise.reject(new Error("store is closed"));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject, committed });
      this.outbox.push([id, shard, op, args]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  setAutoCheckpoint(pages: number): void {
    if (!this.dead) this.post({ t: "autocheckpoint", pages });
  }

  /** Messages cross as JSON text: much cheaper than structured clone for these small plain objects. */
  private post(req: WriterRequest): void {
    this.worker.postMessage(JSON.stringify(req));
  }

  private send(): void {
    this.scheduled = false;
    if (this.outbox.length === 0 || this.dead || this.inFlight > 0) return;
    const calls = this.outbox;
    this.outbox = [];
    this.inFlight = calls.length;
    this.post({ t: "calls", calls });
  }

  private receive(r: WriterReport): void {
    switch (r.t) {
      case "done":
        if (r.rollback) this.opts.onRollback?.();
        for (const [shard, n, ms] of r.commits) this.opts.onCommit?.(shard, n, ms);
        this.inFlight -= r.answers.length;
        for (const a of r.answers) {
          const w = this.waiting.get(a[0]);
          if (!w) continue;
          this.waiting.delete(a[0]);
          if (a[1] === 1) {
            w.committed?.(a[2]);
            w.resolve(a[2]);
          } else w.reject(toError(a[2]));
        }
        if (this.inFlight === 0) this.send();
        return;
      case "closed":
        this.onClosed?.();
        return;
      case "fatal":
        this.die(`writer thread: ${r.message}`);
        return;
      case "ready":
        return;
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.fail(new Error(reason));
    this.opts.onDeath?.(reason);
  }

  private fail(e: Error): void {
    this.dead = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Sends what is queued, waits until every write is durable and the files are closed, ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Rounds go one at a time: let the queued ones through before the close.
      const deadline = Date.now() + 10_000;
      while (!this.dead && (this.inFlight > 0 || this.outbox.length > 0) && Date.now() < deadline) {
        this.send();
        await Bun.sleep(1);
      }
      if (!this.dead) {
        const closed = new Promise<void>((resolve) => (this.onClosed = resolve));
        this.post({ t: "close" });
        await Promise.race([closed, Bun.sleep(10_000)]);
      }
      this.onClosed = null;
      if (!this.dead) this.fail(new Error("store is closed"));
      this.worker.terminate();
    })();
    return this.closing;
  }
}

function toError(f: WireFailure): Error {
  return f.code ? new NatterError(f.code as ErrorCode, f.message, f.retryAfterMs) : new Error(f.message);
}
