// Every write of the SQLite store, as a named operation on a shard's
// connection. They run on the writer thread (writer-worker.ts), the one
// writer of every shard file, each inside that shard's group commit; the
// main thread only reads. Arguments and results cross threads by structured
// clone, so they are plain data.

import type { Database } from "bun:sqlite";
import { NatterError } from "../../../protocol/index.ts";
import type { ChannelRow, ChannelState, CursorUpdate, DeviceRow, MediaRow, MemberChange, MemberRow, MessageRow, NewMessage, UserRow } from "../types.ts";
import { planMemberChange } from "../member-change.ts";
import { ADVANCE_CURSOR, CHANNEL_COLS, MEMBER_COLS, MEMBER_UPSERT, MESSAGE_COLS, PROMOTE_LONGEST_MEMBER, STAMP } from "../sql.ts";

/** Per-shard state the writer keeps between writes (it is the only writer, so it stays exact). */
export class SeqCache {
  /** Channel id -> last_seq as of the writes run so far (committed or in the open transaction). */
  readonly seqs = new Map<string, number>();
  /** Channels whose last_seq moved in the open transaction and is not yet in their row. */
  readonly dirty = new Set<string>();

  /** Writes every moved last_seq into its channel row (idempotent: absolute values). */
  persist(db: Database): void {
    if (this.dirty.size === 0) return;
    const q = db.query("UPDATE channels SET last_seq = ? WHERE id = ?");
    for (const ch of this.dirty) q.run(this.seqs.get(ch)!, ch);
  }

  /** After COMMIT: the rows hold every value; bound the map. */
  committed(): void {
    this.dirty.clear();
    if (this.seqs.size > 50_000) this.seqs.clear();
  }

  /** After a rolled-back transaction nothing in memory can be trusted. */
  reset(): void {
    this.seqs.clear();
    this.dirty.clear();
  }
}

export interface WriteCtx {
  /** The shard the write belongs to. */
  db: Database;
  /** The writer's connection to the shard of another key (cross-shard checks). */
  dbOf(key: string): Database;
  seqs: SeqCache;
}

/** The result of appendMessage on the writer: the new seq, or the original row of a repeated client_id. */
export type AppendOutcome = { seq: number } | { dup: MessageRow };

export function readChannel(db: Database, id: string): ChannelState | null {
  const channel = db.query(`SELECT ${CHANNEL_COLS} FROM channels WHERE id = ?`).get(id) as ChannelRow | null;
  if (!channel) return null;
  const members = db.query(`SELECT ${MEMBER_COLS} FROM members WHERE channel_id = ? ORDER BY joined_seq, user_id`).all(id) as MemberRow[];
  return { channel, members };
}

const findDuplicate = (db: Database, m: NewMessage) =>
  db.query(`SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND sender = ? AND client_id = ?`).get(m.channel, m.sender, m.client_id) as MessageRow | null;

export const WRITES = {
  claimPhone(c: WriteCtx, a: { phone: string; user: string }): void {
    const claim = c.db.query("SELECT user_id FROM phones WHERE phone = ?").get(a.phone) as { user_id: string } | null;
    if (claim && claim.user_id !== a.user) {
      // A claim whose user row never got written (crash in between) is stale: take it over.
      const owner = c.dbOf(claim.user_id).query("SELECT 1 FROM users WHERE id = ?").get(claim.user_id);
      if (owner) throw new NatterError("conflict", `phone ${a.phone} is already registered`);
    }
    c.db.query("INSERT OR REPLACE INTO phones (phone, user_id) VALUES (?, ?)").run(a.phone, a.user);
  },

  insertUser(c: WriteCtx, u: UserRow): void {
    c.db.query("INSERT OR IGNORE INTO users (id, name, phone, created_at, last_seen) VALUES (?, ?, ?, ?, ?)").run(u.id, u.name, u.phone, u.created_at, u.last_seen);
  },

  deleteUserRows(c: WriteCtx, a: { id: string }): void {
    c.db.query("DELETE FROM users WHERE id = ?").run(a.id);
    c.db.query("DELETE FROM devices WHERE user_id = ?").run(a.id);
    c.db.query("DELETE FROM user_channels WHERE user_id = ?").run(a.id);
  },

  releasePhone(c: WriteCtx, a: { phone: string; user: string }): void {
    c.db.query("DELETE FROM phones WHERE phone = ? AND user_id = ?").run(a.phone, a.user);
  },

  setLastSeen(c: WriteCtx, a: { user: string; at: number }): void {
    c.db.query("UPDATE users SET last_seen = ? WHERE id = ?").run(a.at, a.user);
  },

  createLoginCode(c: WriteCtx, a: { codeHash: string; user: string; expiresAt: number }): void {
    c.db.query("INSERT INTO login_codes (code_hash, user_id, expires_at) VALUES (?, ?, ?)").run(a.codeHash, a.user, a.expiresAt);
  },

  consumeLoginCode(c: WriteCtx, a: { codeHash: string; now: number }): string | null {
    const row = c.db.query("DELETE FROM login_codes WHERE code_hash = ? RETURNING user_id, expires_at").get(a.codeHash) as
      | { user_id: string; expires_at: number }
      | null;
    if (!row || row.expires_at < a.now) return null;
    return row.user_id;
  },

  insertDevice(c: WriteCtx, a: { d: DeviceRow; tokenHash: string }): void {
    c.db.query("INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)").run(a.d.id, a.d.user_id, a.d.name, a.tokenHash, a.d.created_at);
  },

  insertToken(c: WriteCtx, a: { tokenHash: string; user: string; device: string }): void {
    c.db.query("INSERT INTO tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)").run(a.tokenHash, a.user, a.device);
  },

  deleteDevice(c: WriteCtx, a: { device: string }): void {
    c.db.query("DELETE FROM devices WHERE id = ?").run(a.device);
  },

  deleteTokensOf(c: WriteCtx, a: { device: string }): void {
    c.db.query("DELETE FROM tokens WHERE device_id = ?").run(a.device);
  },

  createChannel(c: WriteCtx, a: { c: ChannelRow; members: { user: string; role: "admin" | "member" }[] }): ChannelState {
    const existing = readChannel(c.db, a.c.id);
    if (existing) return existing;
    const ch = a.c;
    c.db
      .query(
        "INSERT INTO channels (id, kind, name, description, avatar_url, join_policy, created_at, created_by, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
      )
      .run(ch.id, ch.kind, ch.name, ch.description, ch.avatar_url, ch.join, ch.created_at, ch.created_by);
    const ins = c.db.query(
      "INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq) VALUES (?, ?, ?, 0, NULL, 0, 0)",
    );
    for (const m of a.members) ins.run(ch.id, m.user, m.role);
    return readChannel(c.db, ch.id)!;
  },

  changeMembers(c: WriteCtx, a: { channel: string; change: MemberChange }): ChannelState {
    const { db } = c;
    const { channel, change } = a;
    const { last, fresh } = planMemberChange(readChannel(db, channel), change);
    if (change.kind === "add") {
      const upsert = db.query(MEMBER_UPSERT);
      for (const u of fresh) upsert.run(channel, u, change.role, last);
    } else {
      db.query("UPDATE members SET left_seq = ?, role = 'member' WHERE channel_id = ? AND user_id = ?").run(last, channel, change.user);
      // A group never stays without an admin: promote the longest-standing member.
      const admins = db.query("SELECT 1 FROM members WHERE channel_id = ? AND left_seq IS NULL AND role = 'admin'").get(channel);
      if (!admins) db.query(PROMOTE_LONGEST_MEMBER).run(channel);
    }
    return readChannel(db, channel)!;
  },

  addUserChannels(c: WriteCtx, a: { user: string; channels: string[] }): void {
    const q = c.db.query("INSERT OR IGNORE INTO user_channels (user_id, channel_id) VALUES (?, ?)");
    for (const ch of a.channels) q.run(a.user, ch);
  },

  createInvite(c: WriteCtx, a: { code: string; channel: string; by: string; at: number }): void {
    c.db.query("INSERT INTO invites (code, channel_id, created_by, created_at) VALUES (?, ?, ?, ?)").run(a.code, a.channel, a.by, a.at);
  },

  /**
   * The hot path: one INSERT per message. The channel's last_seq is kept in
   * memory and written to its row once per channel per group commit; a repeated
   * client_id is caught by the unique index (ON CONFLICT DO NOTHING) and only
   * then is the original read back. Runs without its own savepoint: the INSERT
   * is its only write.
   */
  appendMessage(c: WriteCtx, m: NewMessage): AppendOutcome {
    const { db, seqs } = c;
    // Membership is checked inside the commit, so a removal racing a send cannot let it through.
    if (!db.query("SELECT 1 FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL").get(m.channel, m.sender)) {
      // A resend of a message sent while still a member is answered with the original.
      const dup = findDuplicate(db, m);
      if (dup) return { dup };
      throw new NatterError("forbidden", "not a member of this channel");
    }
    let last = seqs.seqs.get(m.channel);
    if (last === undefined) {
      const r = db.query("SELECT last_seq FROM channels WHERE id = ?").get(m.channel) as { last_seq: number } | null;
      if (!r) throw new NatterError("not_found", "no such channel");
      last = r.last_seq;
    }
    const seq = last + 1;
    const ins = db
      .query(
        "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, sender, client_id) DO NOTHING",
      )
      .run(m.channel, seq, m.sender, m.client_id, m.type, m.content, m.media, m.reply_to, m.sent_at);
    if (ins.changes === 0) return { dup: findDuplicate(db, m)! };
    seqs.seqs.set(m.channel, seq);
    seqs.dirty.add(m.channel);
    return { seq };
  },

  advanceCursor(c: WriteCtx, u: CursorUpdate): { delivered_seq: number; seen_seq: number; changed: boolean } {
    const { db } = c;
    const cur = db
      .query("SELECT delivered_seq, seen_seq FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL")
      .get(u.channel, u.user) as { delivered_seq: number; seen_seq: number } | null;
    if (!cur) throw new NatterError("forbidden", "not a member of this channel");
    const seen = Math.max(cur.seen_seq, u.seen_seq ?? 0);
    const delivered = Math.max(cur.delivered_seq, u.delivered_seq ?? 0, seen);
    if (seen === cur.seen_seq && delivered === cur.delivered_seq) return { delivered_seq: delivered, seen_seq: seen, changed: false };
    db.query(ADVANCE_CURSOR).run(delivered, seen, delivered, u.at, seen, u.at, u.channel, u.user);
    // Stamp messages that every other current member has now reached.
    if (delivered > cur.delivered_seq) db.query(STAMP.delivered).run(u.at, u.channel, cur.delivered_seq, delivered);
    if (seen > cur.seen_seq) db.query(STAMP.seen).run(u.at, u.channel, cur.seen_seq, seen);
    return { delivered_seq: delivered, seen_seq: seen, changed: true };
  },

  createMedia(c: WriteCtx, m: MediaRow): void {
    c.db
      .query("INSERT INTO media (id, uploader, sha256, size, mime, name, width, height, created_at, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(m.id, m.uploader, m.sha256, m.size, m.mime, m.name, m.width, m.height, m.created_at, m.sent);
  },

  linkMedia(c: WriteCtx, a: { media: string; channel: string; at: number }): void {
    if (!c.db.query("SELECT 1 FROM media WHERE id = ?").get(a.media)) throw new NatterError("not_found", "no such media");
    // created_at is refreshed on every send: it marks a send in flight for the sweep.
    c.db
      .query(
        "INSERT INTO media_links (media_id, channel_id, created_at) VALUES (?, ?, ?) ON CONFLICT (media_id, channel_id) DO UPDATE SET created_at = excluded.created_at",
      )
      .run(a.media, a.channel, a.at);
  },

  markMediaSent(c: WriteCtx, a: { id: string }): void {
    c.db.query("UPDATE media SET sent = 1 WHERE id = ?").run(a.id);
  },

  deleteMedia(c: WriteCtx, a: { id: string; linksBefore: number }): boolean {
    if (c.db.query("SELECT 1 FROM media_links WHERE media_id = ? AND created_at >= ?").get(a.id, a.linksBefore)) return false;
    c.db.query("DELETE FROM media_links WHERE media_id = ?").run(a.id);
    return c.db.query("DELETE FROM media WHERE id = ?").run(a.id).changes > 0;
  },

  /** Rewrites user_version unchanged: a real commit that touches nothing (the replication nudge). */
  touch(c: WriteCtx): void {
    const v = (c.db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    c.db.run(`PRAGMA user_version = ${v}`);
  },

  /** One statement, for maintenance and tests that stage a crash's leftovers. */
  exec(c: WriteCtx, a: { sql: string; params?: (string | number | null)[] }): number {
    return c.db.query(a.sql).run(...(a.params ?? [])).changes;
  },
} as const;

export type WriteOp = keyof typeof WRITES;
export type WriteArgs<K extends WriteOp> = Parameters<(typeof WRITES)[K]>[1];
export type WriteResult<K extends WriteOp> = ReturnType<(typeof WRITES)[K]>;

/** Writes that make at most one change and so need no savepoint of their own. */
export const SINGLE_STATEMENT: ReadonlySet<WriteOp> = new Set<WriteOp>(["appendMessage"]);
