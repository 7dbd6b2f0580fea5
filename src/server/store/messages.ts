// Messages and receipts, in shard(channel id): the dense seq, the idempotent
// client_id, history pages, unread counts, and the receipt cursors with the
// per-message times they stamp.

import { NatterError } from "../../protocol/index.ts";
import type { Exec, WriteCtx } from "./exec.ts";
import type { CursorUpdate, MessageRange, MessageRow, NewMessage } from "./types.ts";

const MESSAGE =
  "SELECT channel_id AS channel, seq, sender, client_id, type, content, media, reply_to, sent_at, delivered_at, seen_at, edited_at, deleted_at, reactions FROM messages";
/** Rows the reader `?` reads: not deleted for them, and no one else's "hide" row. */
const READS = "NOT EXISTS (SELECT 1 FROM hidden h WHERE h.channel_id = messages.channel_id AND h.user_id = ?1 AND h.seq = messages.seq) AND (type != 'hide' OR sender = ?1)";
/** Entries that are changes, not messages (unread counts and the last message skip them). */
const NOT_CHANGE = "type NOT IN ('change', 'hide')";

type RawRow = Omit<MessageRow, "reactions" | "type"> & { type: string; reactions: string | null };

/** A stored row as the domain sees it: reactions parsed, a "hide" row typed "change" like any change. */
export function rowOf(r: RawRow): MessageRow;
export function rowOf(r: RawRow | null): MessageRow | null;
export function rowOf(r: RawRow | null): MessageRow | null {
  if (!r) return null;
  return { ...r, type: (r.type === "hide" ? "change" : r.type) as MessageRow["type"], reactions: r.reactions ? JSON.parse(r.reactions) : [] };
}
const CURRENT_MEMBER = "FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL";

/**
 * The rule that keeps `seq` dense, for one shard's writer. Each channel's last
 * seq is held in memory across the appends of a transaction and written to
 * its row by `persist`: before COMMIT, and before any other write that reads
 * channel rows (write-ops.ts). Only a shard's one writer may keep the values
 * past a commit (`keepAfterCommit`); after a rollback none is trusted.
 */
export class SeqCache {
  private readonly last = new Map<string, number>();
  /** Channels whose last seq moved in the open transaction (written again until COMMIT: a savepoint may undo a write). */
  private readonly dirty = new Set<string>();

  constructor(private readonly keepAfterCommit: boolean) {}

  /** The channel's last seq if this writer knows it. */
  known(channel: string): number | undefined {
    return this.last.get(channel);
  }

  /** `seq` is now the channel's last. */
  took(channel: string, seq: number): void {
    this.last.set(channel, seq);
    this.dirty.add(channel);
  }

  /** Writes every moved last seq into its channel row (absolute values: repeating it is harmless). */
  async persist(db: Exec): Promise<void> {
    for (const ch of this.dirty) await db.run("UPDATE channels SET last_seq = ? WHERE id = ?", this.last.get(ch)!, ch);
  }

  /** After COMMIT: the rows hold every value. */
  committed(): void {
    this.dirty.clear();
    if (!this.keepAfterCommit || this.last.size > 50_000) this.last.clear();
  }

  /** After a rollback nothing in memory can be trusted. */
  reset(): void {
    this.last.clear();
    this.dirty.clear();
  }
}

/** What the append wrote: the new seq, or the original row of a repeated client_id. */
export type AppendOutcome = { seq: number } | { dup: MessageRow };

/** The cursors after `u` moves them: monotonic, and seen implies delivered. */
export function advancedCursors(cur: { delivered_seq: number; seen_seq: number }, u: CursorUpdate): { delivered_seq: number; seen_seq: number; changed: boolean } {
  const seen_seq = Math.max(cur.seen_seq, u.seen_seq ?? 0);
  const delivered_seq = Math.max(cur.delivered_seq, u.delivered_seq ?? 0, seen_seq);
  return { delivered_seq, seen_seq, changed: seen_seq !== cur.seen_seq || delivered_seq !== cur.delivered_seq };
}

// ---- reads ----

export const readRaw = (db: Exec, channel: string, seq: number) => db.get<RawRow>(`${MESSAGE} WHERE channel_id = ? AND seq = ?`, channel, seq);
export const readMessage = async (db: Exec, channel: string, seq: number) => rowOf(await readRaw(db, channel, seq));

/** The newest message at or below `upTo` that `reader` reads, change rows left out. */
export const readLastMessage = async (db: Exec, channel: string, reader: string, upTo: number) =>
  rowOf(await db.get<RawRow>(`${MESSAGE} WHERE channel_id = ?2 AND seq <= ?3 AND ${NOT_CHANGE} AND ${READS} ORDER BY seq DESC LIMIT 1`, reader, channel, upTo));

const findDuplicate = async (db: Exec, m: NewMessage) =>
  rowOf(await db.get<RawRow>(`${MESSAGE} WHERE channel_id = ? AND sender = ? AND client_id = ?`, m.channel, m.sender, m.client_id));

/** A page of `range` in ascending seq, and whether more exist beyond it. */
export async function readPage(db: Exec, channel: string, range: MessageRange): Promise<{ rows: MessageRow[]; has_more: boolean }> {
  const lo = range.after_seq ?? 0;
  const hi = range.before_seq ?? Number.MAX_SAFE_INTEGER;
  const order = range.newest ? "DESC" : "ASC";
  const raw =
    range.reader === undefined
      ? await db.all<RawRow>(`${MESSAGE} WHERE channel_id = ? AND seq > ? AND seq < ? ORDER BY seq ${order} LIMIT ?`, channel, lo, hi, range.limit + 1)
      : await db.all<RawRow>(
          `${MESSAGE} WHERE channel_id = ?2 AND seq > ?3 AND seq < ?4 AND ${READS} ORDER BY seq ${order} LIMIT ?5`,
          range.reader, channel, lo, hi, range.limit + 1,
        );
  const rows = raw.map((r) => rowOf(r));
  const has_more = rows.length > range.limit;
  if (has_more) rows.pop();
  if (range.newest) rows.reverse();
  return { rows, has_more };
}

/** Others' messages in (after_seq, up_to]. */
export async function countUnread(db: Exec, channel: string, user: string, after_seq: number, up_to: number): Promise<number> {
  if (up_to <= after_seq) return 0;
  const r = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE channel_id = ? AND seq > ? AND seq <= ? AND sender != ? AND ${NOT_CHANGE}`, channel, after_seq, up_to, user);
  return r?.n ?? 0;
}

// ---- writes (named operations, see write-ops.ts) ----

/** Stamp delivered_at / seen_at on messages every other current member has reached: (?1 at, ?2 channel, ?3 from, ?4 to]. */
const STAMP = {
  delivered: `
    UPDATE messages SET delivered_at = ?1
    WHERE channel_id = ?2 AND seq > ?3 AND seq <= ?4 AND delivered_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM members m
    WHERE m.channel_id = ?2 AND m.left_seq IS NULL AND m.user_id != messages.sender AND m.delivered_seq < messages.seq)`,
  seen: `
    UPDATE messages SET seen_at = ?1
    WHERE channel_id = ?2 AND seq > ?3 AND seq <= ?4 AND seen_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM members m
    WHERE m.channel_id = ?2 AND m.left_seq IS NULL AND m.user_id != messages.sender AND m.seen_seq < messages.seq)`,
} as const;

export const messageWrites = {
  /**
   * The hot path: one INSERT per message, at the channel's next seq (SeqCache);
   * a repeated client_id is caught by the unique index (ON CONFLICT DO NOTHING)
   * and only then is the original read back. Membership is checked inside the
   * commit, so a removal racing a send cannot let it through. Its only write
   * is the INSERT, so it needs no savepoint (write-ops.ts).
   */
  async appendMessage(c: WriteCtx, m: NewMessage): Promise<AppendOutcome> {
    const { db, seqs } = c;
    if (!(await db.get(`SELECT 1 ${CURRENT_MEMBER}`, m.channel, m.sender))) {
      // A resend of a message sent while still a member is answered with the original.
      const dup = await findDuplicate(db, m);
      if (dup) return { dup };
      throw new NatterError("forbidden", "not a member of this channel");
    }
    let last = seqs.known(m.channel);
    if (last === undefined) {
      const r = await db.get<{ last_seq: number }>("SELECT last_seq FROM channels WHERE id = ?", m.channel);
      if (!r) throw new NatterError("not_found", "no such channel");
      last = r.last_seq;
    }
    const seq = last + 1;
    const ins = await db.run(
      "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, sender, client_id) DO NOTHING",
      m.channel, seq, m.sender, m.client_id, m.type, m.content, m.media, m.reply_to, m.sent_at,
    );
    if (ins.changes === 0) return { dup: (await findDuplicate(db, m))! };
    seqs.took(m.channel, seq);
    return { seq };
  },

  /** Moves a current member's cursors (advancedCursors) and stamps the messages every other member has now reached. */
  async advanceCursor(c: WriteCtx, u: CursorUpdate): Promise<{ delivered_seq: number; seen_seq: number; changed: boolean }> {
    const { db } = c;
    const cur = await db.get<{ delivered_seq: number; seen_seq: number }>(`SELECT delivered_seq, seen_seq ${CURRENT_MEMBER}`, u.channel, u.user);
    if (!cur) throw new NatterError("forbidden", "not a member of this channel");
    const next = advancedCursors(cur, u);
    if (!next.changed) return next;
    const { delivered_seq: delivered, seen_seq: seen } = next;
    // Their times move only when a cursor moves.
    await db.run(
      `UPDATE members SET delivered_seq = ?, seen_seq = ?,
         delivered_at = CASE WHEN ? > delivered_seq THEN ? ELSE delivered_at END,
         seen_at = CASE WHEN ? > seen_seq THEN ? ELSE seen_at END
       WHERE channel_id = ? AND user_id = ?`,
      delivered, seen, delivered, u.at, seen, u.at, u.channel, u.user,
    );
    if (delivered > cur.delivered_seq) await db.run(STAMP.delivered, u.at, u.channel, cur.delivered_seq, delivered);
    if (seen > cur.seen_seq) await db.run(STAMP.seen, u.at, u.channel, cur.seen_seq, seen);
    return next;
  },
};
