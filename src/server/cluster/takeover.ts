// Taking a shard over: the replica's copy (what its last owner replicated)
// becomes the shard, and what this node's own copy holds beyond it (rows it
// committed and acknowledged, but that never reached the replica before it
// died or was cut off) is not thrown away:
// - rows of every table but messages and channels are merged in where their
//   key is missing (INSERT OR IGNORE); a channel missing from the replica is
//   merged with last_seq 0;
// - messages past the replica's prefix are returned, to be appended again in
//   their channels (deduplicated by sender + client id) once the shard is
//   served, so members receive them.

import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { NewMessage } from "../store/types.ts";

export type LostMessage = NewMessage;

/** Copies a shard file (and its WAL) that nobody writes now to `dest`; false if there is none. */
export function snapshotShard(path: string, dest: string): boolean {
  for (const ext of ["", "-wal", "-shm"]) rmSync(dest + ext, { force: true });
  if (!existsSync(path) || statSync(path).size === 0) return false;
  copyFileSync(path, dest);
  if (existsSync(path + "-wal")) copyFileSync(path + "-wal", dest + "-wal");
  return true;
}

const version = (db: Database, schema = "main") => (db.query(`PRAGMA ${schema}.user_version`).get() as { user_version: number }).user_version;

/**
 * Merges `prev` (this node's old copy of the shard) into `restored` (the replica's copy, a file
 * nobody has open) and returns prev's messages the replica lacks, oldest first per channel.
 */
export function mergeShard(restored: string, prev: string): { lost: LostMessage[]; rows: number; skipped?: string } {
  const db = new Database(restored);
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run(`ATTACH DATABASE ? AS prev`, [prev]);
    if (version(db) !== version(db, "prev")) return { lost: [], rows: 0, skipped: `schema versions differ (${version(db)} vs ${version(db, "prev")})` };
    let rows = 0;
    db.run("BEGIN IMMEDIATE");
    const tables = (db.query(`SELECT name FROM prev.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_litestream%' ESCAPE '\\'`).all() as { name: string }[]).map((t) => t.name);
    for (const t of tables) {
      if (t === "messages") continue;
      if (t === "channels") {
        const cols = (db.query(`PRAGMA prev.table_info(channels)`).all() as { name: string }[]).map((c) => c.name);
        const sel = cols.map((c) => (c === "last_seq" ? "0" : `"${c}"`)).join(", ");
        rows += db.run(`INSERT OR IGNORE INTO main.channels (${cols.map((c) => `"${c}"`).join(", ")}) SELECT ${sel} FROM prev.channels`).changes;
        continue;
      }
      rows += db.run(`INSERT OR IGNORE INTO main."${t}" SELECT * FROM prev."${t}"`).changes;
    }
    db.run("COMMIT");
    // Channels whose newest message in prev is not the replica's message at that seq.
    const suspects = db
      .query(
        `SELECT c.id AS id, c.last_seq AS last_seq FROM prev.channels c
         WHERE c.last_seq > 0 AND NOT EXISTS (
           SELECT 1 FROM prev.messages m JOIN main.messages r ON r.channel_id = m.channel_id AND r.seq = m.seq
           WHERE m.channel_id = c.id AND m.seq = c.last_seq AND r.sender = m.sender AND r.client_id = m.client_id)`,
      )
      .all() as { id: string; last_seq: number }[];
    const lost: LostMessage[] = [];
    const prevMsgs = db.query(`SELECT * FROM prev.messages WHERE channel_id = ? AND seq <= ? ORDER BY seq DESC`);
    const sameAt = db.query(`SELECT 1 AS x FROM main.messages WHERE channel_id = ? AND seq = ? AND sender = ? AND client_id = ?`);
    const known = db.query(`SELECT 1 AS x FROM main.messages WHERE channel_id = ? AND sender = ? AND client_id = ?`);
    for (const c of suspects) {
      const tail: LostMessage[] = [];
      for (const m of prevMsgs.iterate(c.id, c.last_seq) as Iterable<Record<string, any>>) {
        // The replica is a prefix of this node's history: the first message found at its own seq ends the tail.
        if (sameAt.get(c.id, m.seq, m.sender, m.client_id)) break;
        if (known.get(c.id, m.sender, m.client_id)) continue; // resent by its client to the interim owner
        tail.push({
          channel: m.channel_id,
          sender: m.sender,
          client_id: m.client_id,
          type: m.type,
          content: m.content,
          media: m.media ?? null,
          reply_to: m.reply_to ?? null,
          sent_at: m.sent_at,
        });
      }
      lost.push(...tail.reverse());
    }
    return { lost, rows };
  } finally {
    try {
      db.run("DETACH DATABASE prev");
    } catch {}
    db.close();
  }
}

/** A scratch directory for takeovers inside the data dir. */
export function takeoverDir(dataDir: string): string {
  const d = join(dataDir, "cluster");
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}
