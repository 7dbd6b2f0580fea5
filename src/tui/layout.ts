// Pure view-model builders: the conversation as a list of styled, already
// wrapped lines (so scrolling is just slicing), the chat list rows, and the
// composer's wrapped rows with the cursor position.
import type { MediaInfo, Message } from "../protocol/index.ts";
import type { OutgoingEntry } from "./chat-client.ts";
import { clock, cellWidth, dayLabel, humanSize, listTime, presenceText, sameDay, truncate, wrapLine } from "./format.ts";
import { channelTitle, directPeer, displayName, eventText, sortedChannels, typingIn, type ChannelState, type ChatState } from "./state.ts";
import { COLORS, senderColor, type Seg } from "./theme.ts";
import { receiptLevels, tickFor, TICK_GLYPH, type Tick } from "./ticks.ts";

export interface Line {
  key: string;
  segs: Seg[];
  /** The message id (or outbox client_id) this line belongs to. */
  ref?: string;
}

/** One selectable thing in the conversation. */
export interface ItemRef {
  ref: string;
  kind: "message" | "pending";
}

export interface ConversationInput {
  state: ChatState;
  ch: ChannelState | null;
  /** Unacknowledged sends for this conversation. */
  pending: OutgoingEntry[];
  width: number;
  now: number;
  /** Draw the unread marker before the first message from others with seq >= this. */
  markerSeq: number | null;
  selected: string | null;
}

const INDENT = 6; // "HH:MM "
const NAME_MAX = 16;

type Item =
  | { kind: "message"; m: Message; at: number }
  | { kind: "pending"; e: OutgoingEntry; at: number }
  | { kind: "event"; text: string; at: number; key: string };

/** Message text, with media as a label: "[image: cat.jpg, 1.2 MiB] caption" (or the id until its details are known). */
export function mediaLabel(m: { type: string; content: string; media?: string | null }, info?: MediaInfo | null): string {
  if (m.type === "text") return m.content;
  const what = info ? `${info.name || "unnamed"}, ${humanSize(info.size)}` : m.media ? (info === null ? `${m.media}, unavailable` : m.media) : "";
  const label = `[${m.type}${what ? `: ${what}` : ""}]`;
  return m.content ? `${label} ${m.content}` : label;
}

/** First line of a message, for previews. */
export function snippet(m: { type: string; content: string; media?: string | null; deleted_at?: number | null }): string {
  if (m.deleted_at != null) return "message deleted";
  const text = m.type === "text" ? m.content : m.content ? `[${m.type}] ${m.content}` : `[${m.type}]`;
  return text.split("\n")[0]!.trim() + (text.includes("\n") ? " …" : "");
}

/** The conversation, top to bottom, wrapped to `width` cells. */
export function conversationLines(inp: ConversationInput): Line[] {
  const { state, ch, width } = inp;
  const me = state.me?.id ?? null;
  const group = ch?.info.kind === "group";
  const items: Item[] = [];
  const events = [...(ch?.events ?? [])];
  let ei = 0;
  for (const m of ch?.messages ?? []) {
    while (ei < events.length && events[ei]!.at <= m.sent_at) {
      items.push({ kind: "event", text: eventText(state, events[ei]!), at: events[ei]!.at, key: `ev${ei}` });
      ei++;
    }
    items.push({ kind: "message", m, at: m.sent_at });
  }
  for (; ei < events.length; ei++) items.push({ kind: "event", text: eventText(state, events[ei]!), at: events[ei]!.at, key: `ev${ei}` });
  for (const e of inp.pending) items.push({ kind: "pending", e, at: e.created_at });

  const levels = ch ? receiptLevels(ch, me) : { delivered: 0, seen: 0 };
  const lines: Line[] = [];
  let prevAt: number | null = null;
  let markerDone = inp.markerSeq === null;
  const bodyW = Math.max(10, width - INDENT);

  for (const it of items) {
    if (prevAt === null || !sameDay(prevAt, it.at)) {
      lines.push(separator(`day${it.at}`, dayLabel(it.at, inp.now), width, { dim: true }));
    }
    prevAt = it.at;
    if (it.kind === "event") {
      lines.push({ key: it.key, segs: [{ text: " ".repeat(INDENT) }, { text: `· ${truncate(it.text, bodyW - 2)}`, dim: true }] });
      continue;
    }
    if (it.kind === "message" && !markerDone && it.m.seq >= inp.markerSeq! && it.m.sender !== me) {
      markerDone = true;
      const unread = (ch?.messages ?? []).filter((x) => x.seq >= inp.markerSeq! && x.sender !== me).length;
      lines.push(separator("unread", `${unread} unread message${unread === 1 ? "" : "s"}`, width, { color: COLORS.unread, bold: true }));
    }
    if (it.kind === "message") {
      const m = it.m;
      const mine = m.sender === me;
      const nameColor = mine ? COLORS.me : group ? senderColor(m.sender) : COLORS.accent;
      const replied = m.reply_to ? ch?.messages.find((x) => x.id === m.reply_to) : undefined;
      lines.push(
        ...messageLines({
          key: m.id,
          time: clock(m.sent_at),
          name: truncate(displayName(state, m.sender), NAME_MAX),
          nameColor,
          body: m.deleted_at !== null ? "message deleted" : mediaLabel(m, m.media ? state.media[m.media] : undefined),
          reply: m.reply_to ? replyText(state, replied, m.reply_to) : null,
          tick: mine && m.deleted_at === null ? tickFor(m, levels) : null,
          selected: inp.selected === m.id,
          bodyW,
          under: underText(state, m),
        }),
      );
    } else {
      const e = it.e;
      lines.push(
        ...messageLines({
          key: `out:${e.client_id}`,
          time: clock(e.created_at),
          name: "you",
          nameColor: COLORS.me,
          body: mediaLabel(e),
          reply: e.reply_to ? replyText(state, ch?.messages.find((x) => x.id === e.reply_to), e.reply_to) : null,
          tick: e.status === "failed" ? "failed" : "pending",
          failure: e.status === "failed" ? (e.error?.message ?? "not sent") : null,
          selected: inp.selected === e.client_id,
          bodyW,
          ref: e.client_id,
        }),
      );
    }
  }
  return lines;
}

/** The selectable items, in display order (for Up/Down in the messages pane). */
export function conversationItems(ch: ChannelState | null, pending: OutgoingEntry[]): ItemRef[] {
  return [
    ...(ch?.messages ?? []).map((m) => ({ ref: m.id, kind: "message" as const })),
    ...pending.map((e) => ({ ref: e.client_id, kind: "pending" as const })),
  ];
}

/** The line under a message: "edited", then its reactions with who ("👍 you, bob · 🎉 carol"); null if neither. */
export function underText(state: ChatState, m: Message): string | null {
  const parts: string[] = [];
  if (m.edited_at !== null && m.deleted_at === null) parts.push("edited");
  for (const r of m.reactions) parts.push(`${r.emoji} ${r.users.map((u) => displayName(state, u)).join(", ")}`);
  return parts.length > 0 ? parts.join(" · ") : null;
}

function replyText(state: ChatState, replied: Message | undefined, id: string): string {
  if (!replied) return `↳ reply to message #${id.split(":").pop()}`;
  return `↳ ${displayName(state, replied.sender)}: ${snippet(replied)}`;
}

function separator(key: string, label: string, width: number, style: Omit<Seg, "text">): Line {
  const text = ` ${label} `;
  const side = Math.max(2, Math.floor((width - cellWidth(text)) / 2));
  return { key, segs: [{ text: "─".repeat(side) + text + "─".repeat(Math.max(0, width - side - cellWidth(text))), ...style }] };
}

interface MessageLinesInput {
  key: string;
  time: string;
  name: string;
  nameColor: string;
  body: string;
  reply: string | null;
  tick: Tick | null;
  failure?: string | null;
  selected: boolean;
  bodyW: number;
  ref?: string;
  /** A dim line under the message ("edited", reactions). */
  under?: string | null;
}

function messageLines(p: MessageLinesInput): Line[] {
  const ref = p.ref ?? p.key;
  const out: Line[] = [];
  const pad = " ".repeat(INDENT);
  if (p.reply) out.push({ key: `${p.key}:re`, ref, segs: [{ text: pad }, { text: truncate(p.reply, p.bodyW), dim: true }] });
  const namePart = `${p.name}: `;
  const rows: string[] = [];
  p.body.split("\n").forEach((para, i) => rows.push(...wrapLine(i === 0 ? namePart + para : para, p.bodyW)));
  const tickText = p.tick ? ` ${TICK_GLYPH[p.tick]}${p.failure ? ` not sent: ${p.failure} (Ctrl-R retries)` : ""}` : "";
  const tickSeg: Seg | null = p.tick
    ? {
        text: tickText,
        color: p.tick === "seen" ? COLORS.seen : p.tick === "failed" ? COLORS.error : undefined,
        bold: p.tick === "seen",
        dim: p.tick === "pending" || p.tick === "sent" || p.tick === "delivered",
      }
    : null;
  rows.forEach((row, i) => {
    const segs: Seg[] = [];
    segs.push(i === 0 ? { text: `${p.time} `, dim: !p.selected, inverse: p.selected } : { text: pad });
    if (i === 0 && row.startsWith(namePart.trimEnd())) {
      segs.push({ text: p.name, color: p.nameColor, bold: true });
      segs.push({ text: row.slice(p.name.length) });
    } else segs.push({ text: row });
    out.push({ key: `${p.key}:${i}`, ref, segs });
  });
  if (tickSeg) {
    const last = out[out.length - 1]!;
    const lastW = last.segs.reduce((w, s) => w + cellWidth(s.text), 0);
    if (lastW + cellWidth(tickText) <= p.bodyW + INDENT) last.segs.push(tickSeg);
    else out.push({ key: `${p.key}:tick`, ref, segs: [{ text: pad }, { ...tickSeg, text: tickText.trimStart() }] });
  }
  if (p.under) out.push({ key: `${p.key}:under`, ref, segs: [{ text: pad }, { text: truncate(p.under, p.bodyW), dim: true }] });
  return out;
}

// ---- chat list ----

export interface ChatRow {
  id: string;
  title: string;
  time: string;
  preview: string;
  unread: number;
  /** null for groups. */
  online: boolean | null;
  typing: boolean;
}

export function chatRows(state: ChatState, now: number): ChatRow[] {
  return sortedChannels(state).map((ch) => {
    const last = ch.info.last_message;
    const peer = directPeer(state, ch);
    let preview = "";
    if (last) {
      const who = last.sender === state.me?.id ? "you: " : ch.info.kind === "group" ? `${displayName(state, last.sender)}: ` : "";
      preview = who + snippet(last);
    } else preview = ch.info.kind === "group" ? "new group" : "no messages yet";
    return {
      id: ch.info.id,
      title: channelTitle(state, ch),
      time: last ? listTime(last.sent_at, now) : "",
      preview,
      unread: ch.info.unread,
      online: peer ? state.users[peer]?.online === true : null,
      typing: typingIn(state, ch.info.id, now).length > 0,
    };
  });
}

// ---- header ----

export interface HeaderInfo {
  title: string;
  subtitle: string;
  typing: string | null;
}

export function headerInfo(state: ChatState, ch: ChannelState | null, draftPeer: string | null, now: number): HeaderInfo {
  if (!ch && draftPeer) {
    const u = state.users[draftPeer];
    return { title: displayName(state, draftPeer), subtitle: peerPresence(u, now), typing: null };
  }
  if (!ch) return { title: "natter", subtitle: "Pick a chat on the left, or /new PHONE to start one", typing: null };
  const typers = typingIn(state, ch.info.id, now);
  let typing: string | null = null;
  if (typers.length === 1) typing = ch.info.kind === "group" ? `${displayName(state, typers[0]!)} is typing…` : "typing…";
  else if (typers.length > 1) typing = `${typers.map((u) => displayName(state, u)).join(", ")} are typing…`;
  const peer = directPeer(state, ch);
  let subtitle: string;
  if (peer) {
    const u = state.users[peer];
    subtitle = peerPresence(u, now);
  } else {
    const me = state.me?.id;
    const others = ch.info.members
      .filter((id) => id !== me)
      .map((id) => displayName(state, id))
      .sort((a, b) => a.localeCompare(b));
    const names = [...(me && ch.info.members.includes(me) ? ["you"] : []), ...others];
    subtitle = `${ch.info.members.length} member${ch.info.members.length === 1 ? "" : "s"}: ${names.join(", ")}`;
  }
  return { title: channelTitle(state, ch), subtitle, typing };
}

/** "online" / "last seen …"; empty while we have not been told (a contact made during this session). */
function peerPresence(u: ChatState["users"][string] | undefined, now: number): string {
  if (!u) return "";
  if (u.online === null) return u.last_seen !== null ? presenceText(false, u.last_seen, now) : "";
  return presenceText(u.online, u.last_seen, now);
}

// ---- composer ----

export interface ComposerRows {
  rows: string[];
  cursorRow: number;
  cursorCol: number;
}

/** Wraps composer text (hard, by cells) and finds the cursor's row and column. */
export function composerRows(text: string, cursor: number, width: number): ComposerRows {
  const w = Math.max(1, width);
  const rows: string[] = [];
  let cursorRow = 0;
  let cursorCol = 0;
  let pos = 0;
  for (const para of text.split("\n")) {
    let row = "";
    let rowW = 0;
    for (const ch of para) {
      const cw = cellWidth(ch);
      if (rowW + cw > w) {
        rows.push(row);
        row = "";
        rowW = 0;
      }
      if (pos === cursor) [cursorRow, cursorCol] = [rows.length, rowW];
      row += ch;
      rowW += cw;
      pos += ch.length;
    }
    if (pos === cursor) {
      // The cursor sits after the last character: it needs a cell of its own.
      if (rowW >= w) {
        rows.push(row);
        row = "";
        rowW = 0;
      }
      [cursorRow, cursorCol] = [rows.length, rowW];
    }
    rows.push(row);
    pos += 1; // the newline
  }
  return { rows, cursorRow, cursorCol };
}
