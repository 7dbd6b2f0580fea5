// The main thread's end of the writer thread (writer-worker.ts). Calls go
// over a round at a time, the next round when every call of the one before is
// answered, so rounds grow with the load. Answers come back a batch at a
// time, in commit order; `onAnswers` sees each batch (the committed writes,
// the commit stats, a rollback) before any caller resumes, which is what
// keeps the store's channel cache exact.

import type { CommitStat } from "../types.ts";
import type { PendingWrite, Settled, WriteArgs, WriteOp, WriteResult } from "../write-ops.ts";
import type { Synchronous } from "./shard.ts";
import { toError, type FromWriter, type ToWriter, type WriteAnswer, type WriteCall } from "./writer-protocol.ts";
import { workerUrl } from "./worker-url.ts";

/** One batch of answers, as the store sees it. */
export interface AnswerBatch {
  /** The writes that committed, in commit order. */
  settled: Settled[];
  commits: CommitStat[];
  /** A group commit was rolled back: state built from earlier answers may be wrong. */
  rolledBack: boolean;
}

export interface WriterClientOptions {
  paths: string[];
  synchronous: Synchronous;
  walAutoCheckpoint?: number;
  onAnswers: (batch: AnswerBatch) => void;
  /** The thread died; every write fails from now on. */
  onDeath?: (reason: string) => void;
}

export class WriterClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, PendingWrite>();
  private outbox: WriteCall[] = [];
  private scheduled = false;
  /** Calls of the round on the writer thread not yet answered; the next round goes when it is 0. */
  private inFlight = 0;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;
  private readonly replacing = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly opts: WriterClientOptions) {
    this.worker = new Worker(workerUrl("writer-worker"));
    this.worker.onmessage = (e: MessageEvent<string>) => this.receive(JSON.parse(e.data) as FromWriter);
    this.worker.onerror = (e) => this.die(`writer thread failed: ${e.message}`);
    this.worker.addEventListener("close", () => this.die("writer thread exited"));
    this.post({ kind: "open", paths: opts.paths, synchronous: opts.synchronous, walAutoCheckpoint: opts.walAutoCheckpoint });
  }

  /** Queues `op` on shard `shard`; resolves with its result once its commit is durable. */
  call<K extends WriteOp>(shard: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing) return Promise.reject(new Error("store is closed"));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { op, args, resolve, reject });
      this.outbox.push({ id, shard, op, args });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  /** Swaps shard `shard`'s file for `from`; no write of that shard may be in flight. */
  replaceShard(shard: number, from: string): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.replacing.set(shard, { resolve, reject });
      this.post({ kind: "replace", shard, from });
    });
  }

  setAutoCheckpoint(pages: number): void {
    if (!this.dead) this.post({ kind: "autocheckpoint", pages });
  }

  private post(req: ToWriter): void {
    this.worker.postMessage(JSON.stringify(req));
  }

  private send(): void {
    this.scheduled = false;
    if (this.outbox.length === 0 || this.dead || this.inFlight > 0) return;
    const calls = this.outbox;
    this.outbox = [];
    this.inFlight = calls.length;
    this.post({ kind: "calls", calls });
  }

  private receive(r: FromWriter): void {
    switch (r.kind) {
      case "answers": {
        this.inFlight -= r.answers.length;
        const settled: Settled[] = [];
        const answered: Array<[PendingWrite, WriteAnswer]> = [];
        for (const a of r.answers) {
          const w = this.waiting.get(a.id);
          if (!w) continue;
          this.waiting.delete(a.id);
          answered.push([w, a]);
          if (a.ok) settled.push({ op: w.op, args: w.args, value: a.value } as Settled);
        }
        // The store sees every commit before any caller resumes; then the callers, in commit order.
        this.opts.onAnswers({ settled, commits: r.commits, rolledBack: r.rolledBack });
        for (const [w, a] of answered) a.ok ? w.resolve(a.value) : w.reject(toError(a.error));
        if (this.inFlight === 0) this.send();
        return;
      }
      case "closed":
        this.onClosed?.();
        return;
      case "replaced": {
        const w = this.replacing.get(r.shard);
        this.replacing.delete(r.shard);
        if (r.ok) w?.resolve();
        else w?.reject(new Error(`replacing shard ${r.shard}: ${r.message}`));
        return;
      }
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
    for (const w of this.replacing.values()) w.reject(e);
    this.replacing.clear();
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
        this.post({ kind: "close" });
        await Promise.race([closed, Bun.sleep(10_000)]);
      }
      this.onClosed = null;
      if (!this.dead) this.fail(new Error("store is closed"));
      this.worker.terminate();
    })();
    return this.closing;
  }
}
