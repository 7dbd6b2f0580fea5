// One shard file: a bun:sqlite database in WAL mode with versioned migrations
// and group commit. Writes queued in the same event-loop turn share one
// transaction (each in its own savepoint, so one failing write does not undo
// the others) and their promises settle only after COMMIT returns.

import { Database } from "bun:sqlite";
import { MIGRATIONS } from "./migrations.ts";

export type Synchronous = "full" | "normal";

interface Job {
  fn: (db: Database) => unknown;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}

export interface ShardOptions {
  synchronous: Synchronous;
  /** Called after each commit with the number of writes it carried. */
  onCommit?: (batch: number, ms: number) => void;
  /** PRAGMA wal_autocheckpoint (pages); 0 turns SQLite's own checkpoints off, as when Litestream checkpoints. */
  walAutoCheckpoint?: number;
}

export class Shard {
  readonly db: Database;
  private queue: Job[] = [];
  private scheduled = false;
  private closed = false;

  constructor(readonly path: string, private readonly opts: ShardOptions) {
    this.db = new Database(path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA busy_timeout = 5000");
    this.db.run(`PRAGMA synchronous = ${opts.synchronous === "full" ? "FULL" : "NORMAL"}`);
    this.db.run("PRAGMA foreign_keys = OFF");
    if (opts.walAutoCheckpoint !== undefined) this.db.run(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(opts.walAutoCheckpoint))}`);
    migrate(this.db);
  }

  /** Runs `fn` inside the next group commit; resolves with its result after COMMIT. */
  write<T>(fn: (db: Database) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error("shard is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also used on shutdown). */
  flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    if (jobs.length === 0) return;
    this.queue = [];
    const t0 = performance.now();
    const results: Array<{ ok: boolean; v: unknown }> = new Array(jobs.length);
    const db = this.db;
    try {
      db.run("BEGIN IMMEDIATE");
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    for (let i = 0; i < jobs.length; i++) {
      db.run("SAVEPOINT w");
      try {
        results[i] = { ok: true, v: jobs[i]!.fn(db) };
        db.run("RELEASE w");
      } catch (e) {
        db.run("ROLLBACK TO w");
        db.run("RELEASE w");
        results[i] = { ok: false, v: e };
      }
    }
    try {
      db.run("COMMIT");
    } catch (e) {
      try {
        db.run("ROLLBACK");
      } catch {}
      for (const j of jobs) j.reject(e);
      return;
    }
    this.opts.onCommit?.(jobs.length, performance.now() - t0);
    for (let i = 0; i < jobs.length; i++) {
      const r = results[i]!;
      if (r.ok) jobs[i]!.resolve(r.v);
      else jobs[i]!.reject(r.v);
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  const current = row.user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(`shard schema version ${current} is newer than this natter (${MIGRATIONS.length}); upgrade natter`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.run(MIGRATIONS[v]!);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}

/** FNV-1a 32-bit: the stable key -> shard hash. Never change it: it decides where rows live. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
