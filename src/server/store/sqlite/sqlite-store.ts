// The Store on N bun:sqlite shard files (sharded-store.ts holds the rules;
// this file how they run). The main thread reads through its own query-only
// connection per shard; every write is a named operation (write-ops.ts) run
// by the writer thread, the one writer of all shard files, which answers
// after the commit is durable. Channel state is served from a cache kept
// exact by those answers.

import type { Database } from "bun:sqlite";
import type { Exec, Param } from "../exec.ts";
import { openLayout, shardPaths } from "../layout.ts";
import { ShardedStore } from "../sharded-store.ts";
import type { ChannelState, CommitStat } from "../types.ts";
import type { WriteArgs, WriteOp, WriteResult } from "../write-ops.ts";
import { ChannelCache } from "./channel-cache.ts";
import { Checkpointer } from "./checkpointer.ts";
import { bunExec, openShardDb } from "./connection.ts";
import type { Synchronous } from "./shard.ts";
import { WriterClient, type AnswerBatch } from "./writer-client.ts";

export interface SqliteStoreOptions {
  /** Directory holding `layout.json` and `shards/NN.db`. */
  dir: string;
  /** Shard count for a new directory; an existing one keeps its own (layout.json). */
  shards: number;
  synchronous: Synchronous;
  /** Called after each group commit (metrics; replication tracks lag per shard). */
  onCommit?: (c: CommitStat) => void;
  /** Passed to every Shard (0 when Litestream owns checkpoints). */
  walAutoCheckpoint?: number;
  /**
   * Checkpoint in a worker thread instead of inside COMMIT on the event loop
   * (ignored when walAutoCheckpoint is given). If the worker dies, SQLite's own
   * checkpoints come back on and `onCheckpointerDeath` is told.
   */
  checkpointWorker?: boolean;
  onCheckpointerDeath?: (reason: string) => void;
  /** The writer thread died: every write fails from then on (the server exits). */
  onWriterDeath?: (reason: string) => void;
}

/** A shard file as the main thread sees it: its path and a read-only connection. */
export interface ShardReader {
  readonly path: string;
  readonly db: Database;
}

export class SqliteStore extends ShardedStore {
  readonly shards: ShardReader[];
  private readonly readers: Exec[];
  private readonly channels = new ChannelCache();
  private readonly writer: WriterClient;
  private checkpointer: Checkpointer | null = null;

  constructor(private readonly opts: SqliteStoreOptions) {
    super();
    this.shards = shardPaths(opts.dir, openLayout(opts.dir, opts.shards)).map((path) => ({ path, db: openReader(path) }));
    this.readers = this.shards.map((s) => bunExec(s.db));
    const autoCheckpoint = opts.walAutoCheckpoint ?? (opts.checkpointWorker ? 0 : undefined);
    this.writer = new WriterClient({
      paths: this.shards.map((s) => s.path),
      synchronous: opts.synchronous,
      walAutoCheckpoint: autoCheckpoint,
      onAnswers: (batch) => this.answered(batch),
      onDeath: opts.onWriterDeath,
    });
    if (opts.checkpointWorker && opts.walAutoCheckpoint === undefined) {
      this.checkpointer = new Checkpointer(
        this.shards.map((s) => s.path),
        {
          onDeath: (reason) => {
            this.setAutoCheckpoint(1000);
            opts.onCheckpointerDeath?.(reason);
          },
        },
      );
    }
  }

  protected get shardCount(): number {
    return this.shards.length;
  }
  protected reader(i: number): Exec {
    return this.readers[i]!;
  }
  protected write<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    return this.writer.call(i, op, args);
  }

  /** Every answer of the writer thread passes here first: commit stats out, the channel cache kept exact. */
  private answered(batch: AnswerBatch): void {
    if (batch.rolledBack) this.channels.clear();
    for (const c of batch.commits) this.opts.onCommit?.(c);
    for (const w of batch.settled) this.channels.apply(w);
  }

  override async getChannel(id: string): Promise<ChannelState | null> {
    const hit = this.channels.get(id);
    if (hit) return hit;
    // The read answers synchronously: no writer answer can land between it and remember().
    const state = await super.getChannel(id);
    if (state) this.channels.remember(state);
    return state;
  }

  /** PRAGMA wal_autocheckpoint on the writer's connections (0 = only the checkpointer or Litestream checkpoints). */
  setAutoCheckpoint(pages: number): void {
    this.writer.setAutoCheckpoint(pages);
  }

  /**
   * Swaps shard i's file for `from` (a copy restored from the replica), on the writer and the
   * reader; the caller has stopped every write of the shard. Cached channel state is dropped.
   */
  async replaceShard(i: number, from: string): Promise<void> {
    this.shards[i]!.db.close();
    try {
      await this.writer.replaceShard(i, from);
    } finally {
      const path = this.shards[i]!.path;
      this.shards[i] = { path, db: openReader(path) };
      this.readers[i] = bunExec(this.shards[i]!.db);
      this.channels.clear();
    }
  }

  /** Drops cached channel state (a cluster node stopped serving a shard: others write it now). */
  forgetChannels(): void {
    this.channels.clear();
  }

  /** A real commit on shard i that changes nothing (the replication nudge). */
  touch(i: number): Promise<void> {
    return this.write(i, "touch", undefined);
  }

  /** One statement in the shard of `key`, through the writer (maintenance; tests staging a crash's leftovers). */
  exec(key: string, sql: string, params: Param[] = []): Promise<number> {
    return this.write(this.shardOf(key), "exec", { sql, params });
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.writer.close();
    for (const s of this.shards) s.db.close();
  }
}

/** The main thread's connection to a shard: creates and migrates the file, then only reads. */
function openReader(path: string): Database {
  const db = openShardDb(path);
  db.run("PRAGMA query_only = 1");
  return db;
}
