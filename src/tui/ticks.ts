// Receipt ticks for our own messages, derived (never stored): a message is
// delivered / seen once every other member's cursor has reached its seq.
// Evidence comes from the server's delivered_at / seen_at on messages and
// from receipt events; cursors only move forward, so either kind of evidence
// about seq N also covers every seq below N.
import type { Message } from "../protocol/index.ts";
import type { OutgoingEntry } from "./chat-client.ts";
import type { ChannelState } from "./state.ts";

export type Tick = "pending" | "failed" | "sent" | "delivered" | "seen";

export interface ReceiptLevels {
  /** Every seq up to this is delivered to all other members. */
  delivered: number;
  /** Every seq up to this is seen by all other members. */
  seen: number;
}

/** How far all other members have got in a channel. */
export function receiptLevels(ch: ChannelState, me: string | null): ReceiptLevels {
  let delivered = 0;
  let seen = 0;
  for (const m of ch.messages) {
    if (m.seen_at !== null) seen = Math.max(seen, m.seq);
    if (m.delivered_at !== null || m.seen_at !== null) delivered = Math.max(delivered, m.seq);
  }
  const others = ch.info.members.filter((u) => u !== me);
  if (others.length > 0 && others.every((u) => ch.cursors[u])) {
    seen = Math.max(seen, Math.min(...others.map((u) => ch.cursors[u]!.seen)));
    delivered = Math.max(delivered, Math.min(...others.map((u) => ch.cursors[u]!.delivered)));
  }
  return { delivered: Math.max(delivered, seen), seen };
}

export function tickFor(m: Message, levels: ReceiptLevels): Tick {
  if (m.seq <= levels.seen) return "seen";
  if (m.seq <= levels.delivered) return "delivered";
  return "sent";
}

export function tickForEntry(e: OutgoingEntry): Tick {
  return e.status === "failed" ? "failed" : "pending";
}

/** Glyphs: one tick sent, two delivered, two heavy (and highlighted) seen. */
export const TICK_GLYPH: Record<Tick, string> = {
  pending: "◷",
  failed: "✗",
  sent: "✓",
  delivered: "✓✓",
  seen: "✔✔",
};
