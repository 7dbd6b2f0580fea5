// Taking a shard over: the replica's copy (what its last owner replicated)
// becomes the shard, and what this node's own copy holds beyond it (rows it
// committed and acknowledged, but that never reached the replica before it
// died or was cut off) is not thrown away:
// - rows of every table but messages and channels are merged in where their
//   key is missing (INSERT OR IGNORE); a channel missing from the replica is
//   merged with last_seq 0;
// - messages past the replica's prefix are returned, to be appended again in
//   their channels (deduplicated by sender + client id) once the shard is
//   served, so members receive them; change rows (edits, deletes, reactions)
//   among them are applied again to their targets (Chat.recoverLost).

import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LostRow } from "../store/types.ts";

/** A message or change row to append again (Chat.recoverLost), with the seq it had. */
export type LostMessage = LostRow;

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
 * Merges into `restored` (the replica's latest copy of the shard, a file nobody has open) what this
 * node committed beyond what the replica got from it: `prev` (this node's own copy) minus `base` (the
 * replica's copy of this node's own last generation there). Rows prev added are inserted where their
 * key is free, rows it deleted are deleted, messages it added are returned (oldest first per channel)
 * to be appended again. With no `base` (that generation is gone from the replica) only messages are
 * merged: those whose sender and client id the replica does not have.
 */
export function mergeShard(restored: string, prev: string, base: string | null): { lost: LostMessage[]; rows: number; skipped?: string } {
  const db = new Database(restored);
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run(`ATTACH DATABASE ? AS prev`, [prev]);
    if (base) db.run(`ATTACH DATABASE ? AS base`, [base]);
    const v = [version(db), version(db, "prev"), base ? version(db, "base") : version(db, "prev")];
    if (v[0] !== v[1] || v[1] !== v[2]) return { lost: [], rows: 0, skipped: `schema versions differ (${v.join(", ")})` };
    let rows = 0;
    db.run("BEGIN IMMEDIATE");
    const tables = (db.query(`SELECT name FROM prev.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_litestream%' ESCAPE '\\'`).all() as { name: string }[]).map((t) => t.name);
    // Without the base, what prev deleted cannot be told: rows are left as the replica has them.
    for (const t of base ? tables : []) {
      if (t === "messages") continue;
      const info = db.query(`PRAGMA prev.table_info("${t}")`).all() as { name: string; pk: number }[];
      const cols = info.map((c) => `"${c.name}"`).join(", ");
      const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => `"${c.name}"`).join(", ");
      // A channel new to the replica starts empty: its messages come back through the appends.
      const sel = t === "channels" ? info.map((c) => (c.name === "last_seq" ? "0" : `"${c.name}"`)).join(", ") : cols;
      const added = base ? `SELECT * FROM prev."${t}" EXCEPT SELECT * FROM base."${t}"` : `SELECT * FROM prev."${t}"`;
      rows += db.run(`INSERT OR IGNORE INTO main."${t}" (${cols}) SELECT ${sel} FROM (${added})`).changes;
      if (base && pk && t !== "channels")
        rows += db.run(`DELETE FROM main."${t}" WHERE (${pk}) IN (SELECT ${pk} FROM base."${t}" EXCEPT SELECT ${pk} FROM prev."${t}")`).changes;
    }
    db.run("COMMIT");
    // The replica holds a prefix of this node's history: what prev has past base's last_seq in a channel is its tail.
    const baseSeq = base ? `coalesce((SELECT b.last_seq FROM base.channels b WHERE b.id = p.id), 0)` : "0";
    const lost = (
      db
        .query(
          `SELECT m.* FROM prev.channels p
           JOIN prev.messages m ON m.channel_id = p.id AND m.seq > ${baseSeq}
           WHERE p.last_seq > ${baseSeq}
             AND NOT EXISTS (SELECT 1 FROM main.messages r WHERE r.channel_id = m.channel_id AND r.sender = m.sender AND r.client_id = m.client_id)
           ORDER BY m.channel_id, m.seq`,
        )
        .all() as Record<string, any>[]
    ).map(
      (m): LostMessage => ({
        seq: m.seq,
        channel: m.channel_id,
        sender: m.sender,
        client_id: m.client_id,
        type: m.type,
        content: m.content,
        media: m.media ?? null,
        reply_to: m.reply_to ?? null,
        sent_at: m.sent_at,
      }),
    );
    return { lost, rows };
  } finally {
    for (const a of base ? ["prev", "base"] : ["prev"])
      try {
        db.run(`DETACH DATABASE ${a}`);
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
