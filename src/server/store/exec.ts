// How the storage rules reach a database: one SQL statement at a time, with
// positional parameters. bun:sqlite answers at once (sqlite/bun-exec.ts),
// @libsql/client with a promise (libsql/libsql-exec.ts); the rules await
// either, so each is written once for both backends.

import type { SeqCache } from "./messages.ts";

export type Param = string | number | null;
export type Awaitable<T> = T | Promise<T>;

export interface Exec {
  /** The first row, or null. */
  get<T>(sql: string, ...params: Param[]): Awaitable<T | null>;
  all<T>(sql: string, ...params: Param[]): Awaitable<T[]>;
  /** Runs a write; `changes` is the number of rows it touched. */
  run(sql: string, ...params: Param[]): Awaitable<{ changes: number }>;
}

/** What a write operation runs against: its shard, inside that shard's open transaction. */
export interface WriteCtx {
  /** The shard the write belongs to. */
  db: Exec;
  /** The writer's view of the shard of another key (cross-shard checks). */
  dbOf(key: string): Exec;
  /** The shard's channel seqs as of the writes run so far (see SeqCache). */
  seqs: SeqCache;
}
