// Edits, deletes and reactions, in shard(channel id): the rules (planChange,
// pure) and the write that applies one in a single commit. A change updates
// its target row's current state (content, edited_at, deleted_at, reactions)
// and appends a row of its own at the channel's next seq (type 'change', or
// 'hide' for a delete-for-me, read only by its sender), so a device catches up
// on changes by seq like on messages. A delete for everyone also clears the
// content of the target's edit rows: no earlier text stays in the database.

import { NatterError, react, type ChangeRecord } from "../../protocol/index.ts";
import type { WriteCtx } from "./exec.ts";
import { readRaw, rowOf } from "./messages.ts";
import type { ChangeRequest, ChangeResult, MessageRow } from "./types.ts";

/** Who the actor is in the channel, as the commit reads it. */
export interface ActorState {
  /** A current member (left_seq null). */
  current: boolean;
  /** A current admin of a group. */
  groupAdmin: boolean;
}

/** What applying the request changes: the target's new state and the change record, or null for nothing. */
export type ChangePlan = { record: ChangeRecord; next: Partial<Pick<MessageRow, "content" | "media" | "edited_at" | "deleted_at" | "reactions">> } | null;

/**
 * The rules of a change, checked against the target as committed: throws the stable error of the
 * first one broken, else returns what to write (null: already so, nothing to write).
 * - the target is a message (not a change row) at or below the channel's last seq: not_found;
 * - edit, delete for everyone and react need a current member: forbidden;
 * - edit: the sender's own (forbidden), a text message (bad_request), not deleted (conflict),
 *   before sent_at + window (window_closed);
 * - delete for everyone: the sender before sent_at + window, or a group admin at any time;
 *   a second delete (by either) changes nothing;
 * - react: not deleted (conflict); the same reaction again changes nothing;
 * - hide (delete for me): any message the actor reads; again changes nothing.
 */
export function planChange(target: MessageRow | null, actor: ActorState, r: ChangeRequest, hiddenAlready: boolean): ChangePlan {
  if (!target || target.type === "change") throw new NatterError("not_found", "no such message");
  if (r.kind === "hide") return hiddenAlready ? null : { record: { op: "hide" }, next: {} };
  if (!actor.current) throw new NatterError("forbidden", "not a member of this channel");
  const own = target.sender === r.actor;
  const inWindow = r.at < target.sent_at + r.windowMs;
  const closed = () => new NatterError("window_closed", `a message can be edited or deleted for everyone only within ${r.windowMs} ms of sending`);
  switch (r.kind) {
    case "edit":
      if (!own) throw new NatterError("forbidden", "only its sender can edit a message");
      if (target.deleted_at !== null) throw new NatterError("conflict", "the message was deleted");
      if (target.type !== "text") throw new NatterError("bad_request", "only text messages can be edited");
      if (!inWindow) throw closed();
      return { record: { op: "edit", content: r.content! }, next: { content: r.content!, edited_at: r.at } };
    case "delete":
      if (!own && !actor.groupAdmin) throw new NatterError("forbidden", "only its sender (or a group admin) can delete a message for everyone");
      if (target.deleted_at !== null) return null;
      if (own && !actor.groupAdmin && !inWindow) throw closed();
      return { record: { op: "delete" }, next: { content: "", media: null, deleted_at: r.at, reactions: [] } };
    case "react": {
      if (target.deleted_at !== null) throw new NatterError("conflict", "the message was deleted");
      const mine = target.reactions.find((x) => x.users.includes(r.actor))?.emoji ?? "";
      if (mine === r.emoji) return null;
      return { record: { op: "react", emoji: r.emoji! }, next: { reactions: react(target.reactions, r.actor, r.emoji!) } };
    }
  }
}

/** The change row's client_id: no client can send a NUL-led id it would collide with by accident. */
const changeClientId = (seq: number, n: number) => (n === 0 ? `\u0000${seq}` : `\u0000${seq}\u0000${n}`);

export const changeWrites = {
  async applyChange(c: WriteCtx, r: ChangeRequest): Promise<ChangeResult> {
    const { db, seqs } = c;
    const raw = await readRaw(db, r.channel, r.seq);
    const chan = await db.get<{ kind: string; last_seq: number }>("SELECT kind, last_seq FROM channels WHERE id = ?", r.channel);
    if (!chan) throw new NatterError("not_found", "no such channel");
    const last = seqs.known(r.channel) ?? chan.last_seq;
    const target = raw && raw.seq <= last && raw.type !== "hide" ? rowOf(raw) : null;
    const m = await db.get<{ role: string; left_seq: number | null }>("SELECT role, left_seq FROM members WHERE channel_id = ? AND user_id = ?", r.channel, r.actor);
    const actor = { current: !!m && m.left_seq === null, groupAdmin: !!m && m.left_seq === null && m.role === "admin" && chan.kind === "group" };
    const hidden = r.kind === "hide" && !!(await db.get("SELECT 1 FROM hidden WHERE channel_id = ? AND user_id = ? AND seq = ?", r.channel, r.actor, r.seq));
    const plan = planChange(target, actor, r, hidden);
    if (!plan) return { target: target!, change: null, dropped_media: null };
    const t = target!;
    const next: MessageRow = { ...t, ...plan.next };
    // The deleted text is zeroed in the pages it leaves (SQLite connections have it on already; a
    // libSQL connection from its pool may not). A server that refuses the pragma keeps its own setting.
    if (r.kind === "delete")
      try {
        await db.run("PRAGMA secure_delete = FAST");
      } catch {}
    if (r.kind === "hide") await db.run("INSERT INTO hidden (channel_id, user_id, seq) VALUES (?, ?, ?)", r.channel, r.actor, r.seq);
    else
      await db.run(
        "UPDATE messages SET content = ?, media = ?, edited_at = ?, deleted_at = ?, reactions = ? WHERE channel_id = ? AND seq = ?",
        next.content, next.media, next.edited_at, next.deleted_at, next.reactions.length > 0 ? JSON.stringify(next.reactions) : null, r.channel, r.seq,
      );
    const targetId = `${r.channel}:${r.seq}`;
    // No earlier text of a message deleted for everyone stays: its edit rows lose their content.
    if (r.kind === "delete")
      await db.run(
        `UPDATE messages SET content = ? WHERE channel_id = ? AND reply_to = ? AND type = 'change' AND content LIKE '{"op":"edit",%'`,
        JSON.stringify({ op: "edit", content: "" }), r.channel, targetId,
      );
    const seq = last + 1;
    const content = JSON.stringify(plan.record);
    const type = r.kind === "hide" ? "hide" : "change";
    let client_id = "";
    for (let n = 0; client_id === ""; n++) {
      const ins = await db.run(
        "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (channel_id, sender, client_id) DO NOTHING",
        r.channel, seq, r.actor, changeClientId(seq, n), type, content, targetId, r.at,
      );
      if (ins.changes > 0) client_id = changeClientId(seq, n);
    }
    seqs.took(r.channel, seq);
    const change: MessageRow = {
      channel: r.channel,
      seq,
      sender: r.actor,
      client_id,
      type: "change",
      content,
      media: null,
      reply_to: targetId,
      sent_at: r.at,
      delivered_at: null,
      seen_at: null,
      edited_at: null,
      deleted_at: null,
      reactions: [],
    };
    return { target: next, change, dropped_media: r.kind === "delete" ? t.media : null };
  },
};
