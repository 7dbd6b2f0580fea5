// Statements about a shard as a whole: row counts for stats, the empty commit
// that nudges replication, and one raw statement for maintenance and for
// tests that stage a crash's leftovers.

import type { Exec, Param, WriteCtx } from "./exec.ts";
import type { StoreStats } from "./types.ts";

export type RowCounts = Omit<StoreStats, "shards">;

export async function countRows(db: Exec): Promise<RowCounts> {
  return (await db.get<RowCounts>(
    "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM channels) AS channels, (SELECT COUNT(*) FROM messages) AS messages, (SELECT COUNT(*) FROM devices) AS devices",
  ))!;
}

export const maintenanceWrites = {
  /** Rewrites user_version unchanged: a real commit that touches nothing (the replication nudge). */
  async touch(c: WriteCtx): Promise<void> {
    const v = (await c.db.get<{ user_version: number }>("PRAGMA user_version"))!.user_version;
    await c.db.run(`PRAGMA user_version = ${v}`);
  },

  /** One statement; the number of rows it changed. */
  async exec(c: WriteCtx, a: { sql: string; params?: Param[] }): Promise<number> {
    return (await c.db.run(a.sql, ...(a.params ?? []))).changes;
  },
};
