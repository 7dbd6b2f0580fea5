// Group commit on one shard file (opened by connection.ts: WAL mode,
// migrations). Writes queued in the same event-loop turn share one
// transaction (each in its own savepoint unless it needs none, so one failing
// write does not undo the others) and their promises settle only after the
// commit is durable.
//
// Durability ("full"): SQLite commits with synchronous=NORMAL (no fsync on the
// event loop), then the WAL file is fsynced on Bun's thread pool; writes are
// acknowledged only after that fsync returns. While an fsync is in flight the
// next writes wait in the queue and commit together when it returns, so the
// batch grows with the load and the disk's latency sets the commit rate. The
// guarantee for acknowledged writes is that of synchronous=FULL; the event
// loop never waits on the disk.

import { fsync, fsyncSync, openSync, closeSync } from "node:fs";
import type { Database, Statement } from "bun:sqlite";
import type { Awaitable } from "../exec.ts";
import { openShardDb } from "./connection.ts";

export type Synchronous = "full" | "normal";

interface Job {
  fn: (db: Database) => unknown;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
  /** False for a write of at most one statement: it needs no savepoint of its own. */
  savepoint: boolean;
}

/** Transaction-control statements, prepared once per connection. */
interface Tx {
  begin: Statement;
  commit: Statement;
  rollback: Statement;
  savepoint: Statement;
  release: Statement;
  rollbackTo: Statement;
}

export interface ShardOptions {
  synchronous: Synchronous;
  /** Called after each commit with the number of writes it carried. */
  onCommit?: (batch: number, ms: number) => void;
  /** Called when a whole group commit failed and was rolled back. */
  onRollback?: () => void;
  /** Runs after the batch's writes, inside the transaction, right before COMMIT; throwing fails the batch. */
  beforeCommit?: () => Awaitable<void>;
  /** Runs right after a successful COMMIT. */
  afterCommit?: () => void;
  /** PRAGMA wal_autocheckpoint (pages); 0 turns SQLite's own checkpoints off, as when Litestream checkpoints. */
  walAutoCheckpoint?: number;
}

export class Shard {
  readonly db: Database;
  private queue: Job[] = [];
  private scheduled = false;
  /** The batch between BEGIN and COMMIT (its writes await), if any. */
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly tx: Tx;
  /** fd of the -wal file when acks wait for an off-loop fsync ("full"); null for "normal". */
  private walFd: number | null = null;
  private syncing = false;
  /** Settles of committed batches waiting for the next WAL fsync, in commit order. */
  private unsynced: Array<(err: Error | null) => void> = [];
  private failed: Error | null = null;

  constructor(readonly path: string, private readonly opts: ShardOptions) {
    this.db = openShardDb(path);
    this.db.run("PRAGMA synchronous = NORMAL");
    this.db.run("PRAGMA foreign_keys = OFF");
    if (opts.walAutoCheckpoint !== undefined) this.setAutoCheckpoint(opts.walAutoCheckpoint);
    // The WAL exists once the connection has written (migrations do, or reading user_version set it up);
    // opening it with "a" creates an empty one otherwise, which SQLite accepts as an empty WAL.
    if (opts.synchronous === "full") this.walFd = openSync(path + "-wal", "a");
    const q = (sql: string) => this.db.prepare(sql);
    this.tx = {
      begin: q("BEGIN IMMEDIATE"),
      commit: q("COMMIT"),
      rollback: q("ROLLBACK"),
      savepoint: q("SAVEPOINT w"),
      release: q("RELEASE w"),
      rollbackTo: q("ROLLBACK TO w"),
    };
  }

  /** PRAGMA wal_autocheckpoint (pages); 0 leaves checkpoints to the checkpointer or Litestream. */
  setAutoCheckpoint(pages: number): void {
    this.db.run(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(pages))}`);
  }

  /**
   * Runs `fn` inside the next group commit; resolves with its result once the
   * commit is durable. `savepoint: false` for a write of at most one statement.
   */
  write<T>(fn: (db: Database) => Awaitable<T>, opts: { savepoint?: boolean } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error("shard is closed"));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve, reject, savepoint: opts.savepoint ?? true });
      this.schedule();
    });
  }

  private schedule(): void {
    // While the WAL is being fsynced, the queue waits for it (syncWal flushes when it returns).
    if (this.scheduled || this.flushing || this.syncing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits everything queued now (also used on shutdown). */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return this.flushing;
    const jobs = this.queue;
    if (jobs.length === 0) return Promise.resolve();
    this.queue = [];
    this.flushing = this.commit(jobs).finally(() => {
      this.flushing = null;
      this.schedule();
    });
    return this.flushing;
  }

  private async commit(jobs: Job[]): Promise<void> {
    const t0 = performance.now();
    const results: Array<{ ok: boolean; v: unknown }> = new Array(jobs.length);
    const db = this.db;
    const tx = this.tx;
    try {
      tx.begin.run();
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    let failure: unknown = null;
    for (let i = 0; i < jobs.length && failure === null; i++) {
      const job = jobs[i]!;
      if (job.savepoint) tx.savepoint.run();
      try {
        results[i] = { ok: true, v: await job.fn(db) };
        if (job.savepoint) tx.release.run();
      } catch (e) {
        results[i] = { ok: false, v: e };
        // Some errors (disk full, I/O) end the whole transaction: then the batch fails as one.
        if (!db.inTransaction) failure = e;
        else if (job.savepoint) {
          tx.rollbackTo.run();
          tx.release.run();
        }
      }
    }
    try {
      if (failure !== null) throw failure;
      await this.opts.beforeCommit?.();
      tx.commit.run();
    } catch (e) {
      try {
        if (db.inTransaction) tx.rollback.run();
      } catch {}
      this.opts.onRollback?.();
      for (const j of jobs) j.reject(e);
      return;
    }
    this.opts.afterCommit?.();
    this.opts.onCommit?.(jobs.length, performance.now() - t0);
    const settle = (err: Error | null) => {
      for (let i = 0; i < jobs.length; i++) {
        const r = results[i]!;
        if (err) jobs[i]!.reject(err);
        else if (r.ok) jobs[i]!.resolve(r.v);
        else jobs[i]!.reject(r.v);
      }
    };
    if (this.walFd === null) return settle(null);
    this.unsynced.push(settle);
    this.syncWal();
  }

  /** Starts one fsync of the WAL covering every batch committed so far; chains the next. */
  private syncWal(): void {
    if (this.syncing || this.unsynced.length === 0 || this.walFd === null) return;
    const batch = this.unsynced;
    this.unsynced = [];
    this.syncing = true;
    fsync(this.walFd, (err) => {
      this.syncing = false;
      if (err) {
        // The disk refused: nothing committed since is known durable. Fail loudly, accept no more writes.
        this.failed = new Error(`fsync of ${this.path}-wal failed: ${err.message}`);
        for (const s of [...batch, ...this.unsynced.splice(0)]) s(this.failed);
        return;
      }
      for (const s of batch) s(null);
      this.syncWal();
      this.schedule();
    });
  }

  /** Commits what is queued, makes it durable, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushing;
    await this.flush();
    this.closed = true;
    if (this.walFd !== null) {
      // Make the last commits durable now and settle them (an fsync in flight settles its own).
      fsyncSync(this.walFd);
      for (const s of this.unsynced.splice(0)) s(null);
      if (!this.syncing) closeSync(this.walFd); // else the fsync in flight still uses it; exit frees it
    }
    for (const st of Object.values(this.tx)) st.finalize();
    this.db.close();
  }
}
