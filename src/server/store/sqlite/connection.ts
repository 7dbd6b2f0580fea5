// A connection to a shard file: opened in WAL mode with the schema brought
// up to date, and the executor the storage rules run on (bun:sqlite answers
// synchronously; statements are prepared once per connection by db.query).

import { Database } from "bun:sqlite";
import type { Exec, Param } from "../exec.ts";
import { migrationScript } from "../migrations.ts";

/** Opens (creating) a shard file in WAL mode and applies pending migrations. */
export function openShardDb(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA busy_timeout = 5000");
  // Deleted content (a message deleted for everyone) is zeroed in the pages it leaves, at no extra I/O.
  db.run("PRAGMA secure_delete = FAST");
  const script = migrationScript((db.query("PRAGMA user_version").get() as { user_version: number }).user_version);
  if (script) {
    try {
      db.run(script);
    } catch (e) {
      if (db.inTransaction) db.run("ROLLBACK");
      throw e;
    }
  }
  return db;
}

export function bunExec(db: Database): Exec {
  return {
    get: <T>(sql: string, ...params: Param[]) => (db.query(sql).get(...params) as T | null) ?? null,
    all: <T>(sql: string, ...params: Param[]) => db.query(sql).all(...params) as T[],
    run: (sql: string, ...params: Param[]) => ({ changes: db.query(sql).run(...params).changes }),
  };
}
