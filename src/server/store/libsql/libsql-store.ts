// The Store on libSQL through @libsql/client: a libSQL server or Turso
// (`libsql://`, `https://`, with an auth token) when storage must live off the
// node, or a local file (`file:PATH`). One database holds every row: the
// sharded store (sharded-store.ts) with one shard, the same schema and
// migrations as the SQLite shards. This file is how its writes commit.
//
// Writes are group-committed: writes queued while a commit is running share
// the next transaction, each in its own savepoint unless it needs none, and
// settle only after COMMIT. One commit runs at a time per store, which also
// serializes seq assignment in this process; seqs are re-read from the
// channel rows in every transaction (another process may share the database).

import { createClient, type Client, type Transaction } from "@libsql/client";
import type { Exec, WriteCtx } from "../exec.ts";
import { SeqCache } from "../messages.ts";
import { migrationStep } from "../migrations.ts";
import { ShardedStore } from "../sharded-store.ts";
import type { CommitStat } from "../types.ts";
import { needsSavepoint, runWrite, type PendingWrite, type WriteArgs, type WriteOp, type WriteResult } from "../write-ops.ts";
import { libsqlExec } from "./libsql-exec.ts";

export interface LibsqlStoreOptions {
  /** libsql://HOST, https://HOST, http://HOST (dev server), ws(s)://, or file:PATH. */
  url: string;
  /** For libsql:// and https:// (env NATTER_STORE_AUTH_TOKEN). */
  authToken?: string;
  onCommit?: (c: CommitStat) => void;
}

export class LibsqlStore extends ShardedStore {
  protected readonly shardCount = 1;
  private readonly client: Client;
  private readonly r: Exec;
  private readonly seqs = new SeqCache(false);
  private queue: PendingWrite[] = [];
  private committing: Promise<void> | null = null;
  private closed = false;

  private constructor(private readonly opts: LibsqlStoreOptions) {
    super();
    this.client = createClient({ url: opts.url, authToken: opts.authToken, intMode: "number" });
    this.r = libsqlExec(this.client);
  }

  /** Connects, sets WAL for local files, and applies migrations. */
  static async open(opts: LibsqlStoreOptions): Promise<LibsqlStore> {
    const s = new LibsqlStore(opts);
    if (opts.url.startsWith("file:")) {
      await s.client.execute("PRAGMA busy_timeout = 5000"); // first: another process may hold the lock
      await s.client.execute("PRAGMA journal_mode = WAL");
    }
    await s.migrate();
    return s;
  }

  /**
   * Applies pending migrations one at a time, each in a write transaction that reads the
   * schema version inside it: several nodes of a cluster opening one libSQL database at once
   * apply each migration once (the others wait for the lock, then see it done).
   */
  private async migrate(): Promise<void> {
    for (;;) {
      const tx = await this.client.transaction("write");
      try {
        const version = Number((await tx.execute("PRAGMA user_version")).rows[0]?.[0] ?? 0);
        const next = migrationStep(version);
        if (next === null) {
          await tx.rollback();
          return;
        }
        await tx.executeMultiple(next);
        await tx.commit();
      } catch (e) {
        tx.close();
        throw e;
      }
    }
  }

  protected reader(): Exec {
    return this.r;
  }

  /** Runs `op` inside the next group commit; resolves with its result after COMMIT. */
  protected write<K extends WriteOp>(_shard: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, args, resolve, reject });
      this.committing ??= this.commitLoop();
    });
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await Promise.resolve(); // let writes issued in this turn join the batch
        const jobs = this.queue;
        this.queue = [];
        await this.commit(jobs);
      }
    } finally {
      this.committing = null;
    }
  }

  private async commit(jobs: PendingWrite[]): Promise<void> {
    const t0 = performance.now();
    let tx: Transaction;
    try {
      tx = await this.client.transaction("write");
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    const db = libsqlExec(tx);
    const ctx: WriteCtx = { db, dbOf: () => db, seqs: this.seqs };
    const results: Array<{ ok: boolean; v: unknown }> = [];
    try {
      for (const job of jobs) {
        const savepoint = needsSavepoint(job.op);
        if (savepoint) await tx.execute("SAVEPOINT w");
        try {
          results.push({ ok: true, v: await runWrite(ctx, job.op, job.args as never) });
          if (savepoint) await tx.execute("RELEASE w");
        } catch (e) {
          if (savepoint) {
            await tx.execute("ROLLBACK TO w");
            await tx.execute("RELEASE w");
          }
          results.push({ ok: false, v: e });
        }
      }
      await this.seqs.persist(db);
      await tx.commit();
    } catch (e) {
      this.seqs.reset();
      try {
        await tx.rollback();
      } catch {}
      for (const j of jobs) j.reject(e);
      return;
    } finally {
      tx.close();
    }
    this.seqs.committed();
    this.opts.onCommit?.({ shard: 0, writes: jobs.length, ms: performance.now() - t0 });
    jobs.forEach((j, i) => (results[i]!.ok ? j.resolve(results[i]!.v) : j.reject(results[i]!.v)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.committing) await this.committing;
    this.closed = true;
    this.client.close();
  }
}
