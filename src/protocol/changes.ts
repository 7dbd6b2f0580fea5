// Change entries (type "change"): reading one, and folding it into the message it names. The
// server applies the same reaction rule when it commits a change, so a client that folds every
// change entry it receives, in seq order, holds what getMessages would answer.

import type { ChangeRecord, Message, Reaction } from "./types.ts";

/** The reactions after `user` reacts with `emoji` ("" removes theirs): one per user, groups in first-reaction order. */
export function react(reactions: readonly Reaction[], user: string, emoji: string): Reaction[] {
  const out = reactions.map((r) => ({ emoji: r.emoji, users: r.users.filter((u) => u !== user) })).filter((r) => r.users.length > 0);
  if (emoji === "") return out;
  const g = out.find((r) => r.emoji === emoji);
  if (g) g.users.push(user);
  else out.push({ emoji, users: [user] });
  return out;
}

/** The record of a change entry, or null if `m` is not one (or not one this version knows). */
export function changeRecord(m: Message): ChangeRecord | null {
  if (m.type !== "change") return null;
  try {
    const r = JSON.parse(m.content) as ChangeRecord;
    if (r && (r.op === "edit" || r.op === "delete" || r.op === "hide" || r.op === "react")) return r;
  } catch {}
  return null;
}

/** The seq of the message a change entry names (its reply_to, `${channel}:${seq}`), or null. */
export function changeTarget(m: Message): number | null {
  if (m.type !== "change" || !m.reply_to) return null;
  const seq = Number(m.reply_to.slice(m.reply_to.lastIndexOf(":") + 1));
  return Number.isSafeInteger(seq) ? seq : null;
}

/**
 * `target` after the change entry `change` (which names it): edited text with edited_at, a
 * tombstone (content "", media null, no reactions) with deleted_at, the sender's reaction set or
 * removed; null for a delete-for-me (the caller drops the message). A change naming another
 * message, or one of a kind this version does not know, leaves `target` as it is.
 */
export function foldChange(target: Message, change: Message): Message | null {
  const r = changeRecord(change);
  if (!r || change.channel !== target.channel || changeTarget(change) !== target.seq) return target;
  switch (r.op) {
    case "hide":
      return null;
    case "delete":
      return { ...target, content: "", media: null, reactions: [], deleted_at: target.deleted_at ?? change.sent_at };
    case "edit":
      if (target.deleted_at !== null) return target;
      return { ...target, content: r.content, edited_at: change.sent_at };
    case "react":
      if (target.deleted_at !== null) return target;
      return { ...target, reactions: react(target.reactions, change.sender, r.emoji) };
  }
}
