// The TUI's model of the world, and one pure reducer over client events.
// Messages are kept per channel in ascending seq with no duplicate ids;
// receipts, typing and presence are folded in here so views only derive.
import { foldChange, type Channel, type MediaInfo, type MemberEvent, type Message, type PresenceEvent, type ReceiptEvent, type TypingEvent, type User } from "../protocol/index.ts";
import type { ChangeNote, ConnState, OutgoingEntry } from "./chat-client.ts";

/** How long a typing "start" is believed without a refresh. */
export const TYPING_TTL_MS = 6_000;

export interface Cursor {
  delivered: number;
  seen: number;
}

/** A member change, shown inline in the conversation (not persisted). */
export interface LocalEvent {
  at: number;
  text: string;
  /** For member changes: who, so the text follows names learned later (see eventText). */
  member?: MemberEvent;
}

export interface ChannelState {
  info: Channel;
  /** Ascending seq, one entry per id. */
  messages: Message[];
  /** More history exists before messages[0]. */
  hasOlder: boolean;
  /** The newest page has been fetched (history is contiguous from messages[0]). */
  loaded: boolean;
  /** Receipt cursors of other members, as far as events told us. */
  cursors: Record<string, Cursor>;
  events: LocalEvent[];
  /** Created from a message before its channel's metadata arrived. */
  stub: boolean;
  /** History fetches in flight. */
  loading: number;
}

export interface UserState {
  id: string;
  name: string | null;
  phone: string | null;
  /** null until a presence event (or the snapshot after connecting) tells. */
  online: boolean | null;
  last_seen: number | null;
}

export interface Notice {
  text: string;
  kind: "info" | "error";
  at: number;
}

/** A file going up (/file) or down (/save), for the progress line. */
export interface Transfer {
  id: string;
  kind: "upload" | "download";
  name: string;
  done: number;
  total: number | null;
}

export interface ChatState {
  me: User | null;
  conn: ConnState;
  nextRetryAt: number | null;
  /** Why the client gave up (the server refused our token), if it did. */
  connError: string | null;
  /** The server in use or being tried, and how many the client knows (several: the nodes of a cluster). */
  node: string | null;
  nodes: number;
  channels: Record<string, ChannelState>;
  users: Record<string, UserState>;
  /** channel -> user -> expiry time of their typing indicator. */
  typing: Record<string, Record<string, number>>;
  outbox: OutgoingEntry[];
  notice: Notice | null;
  /** Media metadata by id, for labels; null when it cannot be had (gone, no access). */
  media: Record<string, MediaInfo | null>;
  /** Uploads and downloads in progress, oldest first. */
  transfers: Transfer[];
}

export type Action =
  | { type: "conn"; state: ConnState; nextRetryAt: number | null; error?: string | null; node?: string | null; nodes?: number }
  | { type: "hello"; user: User }
  | { type: "channels"; channels: Channel[] }
  | { type: "channel"; channel: Channel }
  | { type: "removeChannel"; channel: string }
  | { type: "page"; channel: string; messages: Message[]; hasMore: boolean; kind: "latest" | "older" }
  | { type: "message"; message: Message }
  | { type: "change"; change: ChangeNote }
  | { type: "receipt"; ev: ReceiptEvent }
  | { type: "typing"; ev: TypingEvent; now: number }
  | { type: "member"; ev: MemberEvent; now: number }
  | { type: "presence"; ev: PresenceEvent }
  | { type: "users"; users: User[] }
  | { type: "outbox"; entries: OutgoingEntry[] }
  | { type: "seen"; channel: string; seq: number }
  | { type: "localEvent"; channel: string; text: string; now: number }
  | { type: "media"; id: string; info: MediaInfo | null }
  | { type: "loading"; channel: string; on: boolean }
  | { type: "transfer"; transfer: Transfer }
  | { type: "transferDone"; id: string }
  | { type: "notice"; notice: Notice | null }
  | { type: "tick"; now: number };

export function initialState(me: User | null = null): ChatState {
  const s: ChatState = { me, conn: "connecting", nextRetryAt: null, connError: null, node: null, nodes: 1, channels: {}, users: {}, typing: {}, outbox: [], notice: null, media: {}, transfers: [] };
  return me ? learnUser(s, me) : s;
}

/** The one reducer: returns a new state (or the same object when nothing changed). */
export function reduce(s: ChatState, a: Action): ChatState {
  switch (a.type) {
    case "conn": {
      const connError = a.error ?? null;
      const node = a.node ?? null;
      const nodes = a.nodes ?? 1;
      if (s.conn === a.state && s.nextRetryAt === a.nextRetryAt && s.connError === connError && s.node === node && s.nodes === nodes) return s;
      return { ...s, conn: a.state, nextRetryAt: a.nextRetryAt, connError, node, nodes };
    }
    case "hello":
      return learnUser({ ...s, me: a.user }, a.user);
    case "channels":
      return setChannels(s, a.channels);
    case "channel":
      return upsertChannel(s, a.channel);
    case "removeChannel": {
      if (!s.channels[a.channel]) return s;
      const channels = { ...s.channels };
      delete channels[a.channel];
      return { ...s, channels };
    }
    case "page":
      return addPage(s, a);
    case "message":
      return addMessage(s, a.message);
    case "change":
      return applyChange(s, a.change);
    case "receipt":
      return addReceipt(s, a.ev);
    case "typing":
      return setTyping(s, a.ev.channel, a.ev.user, a.ev.state === "start" ? a.now + TYPING_TTL_MS : null);
    case "member":
      return addMember(s, a.ev, a.now);
    case "presence": {
      const u = userOf(s, a.ev.user);
      return { ...s, users: { ...s.users, [u.id]: { ...u, online: a.ev.online, last_seen: a.ev.last_seen ?? u.last_seen } } };
    }
    case "users":
      return a.users.reduce(learnUser, s);
    case "outbox":
      return { ...s, outbox: a.entries };
    case "seen":
      return ownCursor(s, a.channel, null, a.seq);
    case "notice":
      return { ...s, notice: a.notice };
    case "media":
      return { ...s, media: { ...s.media, [a.id]: a.info } };
    case "transfer": {
      const t = a.transfer;
      const i = s.transfers.findIndex((x) => x.id === t.id);
      return { ...s, transfers: i === -1 ? [...s.transfers, t] : s.transfers.map((x, j) => (j === i ? t : x)) };
    }
    case "transferDone":
      if (!s.transfers.some((x) => x.id === a.id)) return s;
      return { ...s, transfers: s.transfers.filter((x) => x.id !== a.id) };
    case "loading": {
      const ch = s.channels[a.channel];
      if (!ch) return s;
      const loading = Math.max(0, ch.loading + (a.on ? 1 : -1));
      return { ...s, channels: { ...s.channels, [a.channel]: { ...ch, loading } } };
    }
    case "localEvent": {
      const ch = s.channels[a.channel];
      if (!ch) return s;
      return { ...s, channels: { ...s.channels, [a.channel]: { ...ch, events: [...ch.events, { at: a.now, text: a.text }] } } };
    }
    case "tick":
      return pruneTyping(s, a.now);
  }
}

// ---- channels ----

function emptyChannel(info: Channel, stub = false): ChannelState {
  return { info, messages: [], hasOlder: info.last_seq > 0, loaded: false, cursors: {}, events: [], stub, loading: 0 };
}

/** A Channel with nothing known yet but its id (a group until its info arrives). */
export function stubInfo(id: string): Channel {
  return {
    id,
    kind: "group",
    name: "",
    description: "",
    avatar_url: "",
    join: "invite",
    created_at: 0,
    members: [],
    admins: [],
    last_seq: 0,
    last_message: null,
    delivered_seq: 0,
    seen_seq: 0,
    unread: 0,
  };
}

/** Fresh metadata wins, but never moves last_seq or the own cursors backwards. */
function mergeInfo(old: Channel, fresh: Channel): Channel {
  const merged = { ...fresh };
  if (old.last_seq > fresh.last_seq) {
    merged.last_seq = old.last_seq;
    merged.last_message = old.last_message;
  }
  merged.delivered_seq = Math.max(old.delivered_seq, fresh.delivered_seq);
  merged.seen_seq = Math.max(old.seen_seq, fresh.seen_seq);
  if (merged.seen_seq >= merged.last_seq) merged.unread = 0;
  return merged;
}

function upsertChannel(s: ChatState, c: Channel): ChatState {
  const old = s.channels[c.id];
  const next: ChannelState = old ? { ...old, info: mergeInfo(old.info, c), stub: false } : emptyChannel(c);
  if (!old) next.hasOlder = c.last_seq > 0;
  let out: ChatState = { ...s, channels: { ...s.channels, [c.id]: next } };
  // A direct channel is named after the other person: that is how we learn names.
  if (c.kind === "direct" && s.me) {
    const other = c.members.find((m) => m !== s.me!.id);
    if (other && c.name) out = learnName(out, other, c.name);
  }
  return out;
}

/** Replaces the channel list (getAll); channels we are no longer in disappear. */
function setChannels(s: ChatState, list: Channel[]): ChatState {
  const kept: Record<string, ChannelState> = {};
  const ids = new Set(list.map((c) => c.id));
  // Stubs (a message raced the list) survive; anything else missing was left.
  for (const [id, ch] of Object.entries(s.channels)) if (ids.has(id) || ch.stub) kept[id] = ch;
  return list.reduce(upsertChannel, { ...s, channels: kept });
}

// ---- messages ----

/** Inserts messages into an ascending, id-unique list; later copies replace earlier ones. */
export function mergeMessages(list: Message[], add: Message[]): Message[] {
  if (add.length === 0) return list;
  const bySeq = new Map<number, Message>();
  for (const m of list) bySeq.set(m.seq, m);
  for (const m of add) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function addMessage(s: ChatState, m: Message): ChatState {
  if (m.type === "change") return s; // folded by applyChange, never shown as a message
  const old = s.channels[m.channel] ?? emptyChannel(stubInfo(m.channel), true);
  const exists = old.messages.some((x) => x.seq === m.seq);
  const info = { ...old.info };
  const isNew = m.seq > info.last_seq;
  if (m.seq >= info.last_seq) {
    info.last_seq = m.seq;
    info.last_message = m;
  }
  // Own messages (from any of our devices) never count as unread, nor do they mark the others'
  // seen: the seen cursor is the server's, moved only by what was on screen (markSeen).
  const mine = s.me !== null && m.sender === s.me.id;
  if (isNew && !mine && m.seq > info.seen_seq) info.unread += 1;
  const ch: ChannelState = {
    ...old,
    info,
    messages: exists ? old.messages.map((x) => (x.seq === m.seq ? m : x)) : mergeMessages(old.messages, [m]),
  };
  if (!ch.loaded && ch.messages[0]!.seq === 1) ch.hasOlder = false;
  let out = { ...s, channels: { ...s.channels, [m.channel]: ch } };
  // A message is also a sign the sender stopped typing.
  if (s.typing[m.channel]?.[m.sender]) out = setTyping(out, m.channel, m.sender, null);
  return out;
}

/**
 * An edit, delete or reaction: folds into the message it names (a delete for me drops it). Its
 * seq moves last_seq (the server's counts it) but it is never unread nor the last message.
 */
function applyChange(s: ChatState, c: ChangeNote): ChatState {
  const ch = s.channels[c.channel];
  if (!ch) return s;
  const at = ch.messages.findIndex((m) => m.seq === c.target);
  const folded = at === -1 ? undefined : foldChange(ch.messages[at]!, c.entry);
  const messages = at === -1 ? ch.messages : folded ? ch.messages.map((m, i) => (i === at ? folded : m)) : ch.messages.filter((_, i) => i !== at);
  const info = { ...ch.info, last_seq: Math.max(ch.info.last_seq, c.entry.seq) };
  if (info.last_message?.seq === c.target) info.last_message = folded ?? (at === -1 ? foldChange(info.last_message, c.entry) : null) ?? null;
  return { ...s, channels: { ...s.channels, [c.channel]: { ...ch, messages, info } } };
}

function addPage(s: ChatState, a: Extract<Action, { type: "page" }>): ChatState {
  const old = s.channels[a.channel];
  if (!old) return s;
  const shown = a.messages.filter((m) => m.type !== "change");
  const messages = mergeMessages(old.messages, shown);
  const first = messages[0];
  const pageFirst = a.messages.reduce((min, m) => Math.min(min, m.seq), Infinity);
  let hasOlder: boolean;
  if (!first || first.seq <= 1) hasOlder = false;
  else if (a.messages.length === 0) hasOlder = a.kind === "older" ? false : old.hasOlder;
  else hasOlder = first.seq < pageFirst ? old.hasOlder : a.hasMore;
  const info = { ...old.info };
  const last = messages[messages.length - 1];
  const lastEntry = a.messages.reduce((max, m) => Math.max(max, m.seq), 0);
  if (lastEntry > info.last_seq) info.last_seq = lastEntry;
  if (last && last.seq >= info.last_seq) {
    info.last_seq = last.seq;
    info.last_message = last;
  }
  return {
    ...s,
    channels: { ...s.channels, [a.channel]: { ...old, info, messages, hasOlder, loaded: old.loaded || a.kind === "latest" } },
  };
}

// ---- receipts ----

function addReceipt(s: ChatState, e: ReceiptEvent): ChatState {
  const ch = s.channels[e.channel];
  if (!ch) return s;
  if (s.me && e.user === s.me.id) return ownCursor(s, e.channel, e.delivered_seq, e.seen_seq);
  const prev = ch.cursors[e.user] ?? { delivered: 0, seen: 0 };
  const seen = Math.max(prev.seen, e.seen_seq);
  const cur: Cursor = { seen, delivered: Math.max(prev.delivered, e.delivered_seq, seen) };
  if (cur.seen === prev.seen && cur.delivered === prev.delivered) return s;
  return { ...s, channels: { ...s.channels, [e.channel]: { ...ch, cursors: { ...ch.cursors, [e.user]: cur } } } };
}

/** Our own cursor moved (this device or another one of ours): recount unread. */
function ownCursor(s: ChatState, channel: string, delivered: number | null, seen: number): ChatState {
  const ch = s.channels[channel];
  if (!ch) return s;
  const info = { ...ch.info };
  if (seen <= info.seen_seq && (delivered ?? 0) <= info.delivered_seq) return s;
  info.seen_seq = Math.max(info.seen_seq, seen);
  info.delivered_seq = Math.max(info.delivered_seq, delivered ?? 0, info.seen_seq);
  info.unread = countUnread(s, ch, info);
  return { ...s, channels: { ...s.channels, [channel]: { ...ch, info } } };
}

function countUnread(s: ChatState, ch: ChannelState, info: Channel): number {
  if (info.seen_seq >= info.last_seq) return 0;
  const first = ch.messages[0];
  if (first && first.seq <= info.seen_seq + 1) {
    return ch.messages.filter((m) => m.seq > info.seen_seq && m.sender !== s.me?.id).length;
  }
  return Math.min(info.unread, info.last_seq - info.seen_seq);
}

// ---- typing, members, presence, users ----

function setTyping(s: ChatState, channel: string, user: string, until: number | null): ChatState {
  if (s.me && user === s.me.id) return s;
  const forChannel = { ...(s.typing[channel] ?? {}) };
  if (until === null) {
    if (!(user in forChannel)) return s;
    delete forChannel[user];
  } else forChannel[user] = until;
  return { ...s, typing: { ...s.typing, [channel]: forChannel } };
}

function pruneTyping(s: ChatState, now: number): ChatState {
  let changed = false;
  const typing: ChatState["typing"] = {};
  for (const [ch, users] of Object.entries(s.typing)) {
    const kept: Record<string, number> = {};
    for (const [u, until] of Object.entries(users)) {
      if (until > now) kept[u] = until;
      else changed = true;
    }
    typing[ch] = kept;
  }
  return changed ? { ...s, typing } : s;
}

const MEMBER_VERBS = { joined: "joined", left: "left", added: "was added", removed: "was removed" } as const;

function addMember(s: ChatState, e: MemberEvent, now: number): ChatState {
  const ch = s.channels[e.channel];
  if (!ch) return s;
  const members = new Set(ch.info.members);
  if (e.action === "joined" || e.action === "added") members.add(e.user);
  else members.delete(e.user);
  const next: ChannelState = { ...ch, info: { ...ch.info, members: [...members] }, events: [...ch.events, { at: now, text: memberText(s, e), member: e }] };
  return { ...s, channels: { ...s.channels, [e.channel]: next } };
}

/** "carol was added by alice", with the names known now. */
function memberText(s: ChatState, e: MemberEvent): string {
  const by = e.by && e.by !== e.user && (e.action === "added" || e.action === "removed") ? ` by ${e.by === "admin" ? "the admin" : displayName(s, e.by)}` : "";
  return `${displayName(s, e.user)} ${MEMBER_VERBS[e.action]}${by}`;
}

/** A conversation event's text, with member names as known now. */
export function eventText(s: ChatState, ev: LocalEvent): string {
  return ev.member ? memberText(s, ev.member) : ev.text;
}

function userOf(s: ChatState, id: string): UserState {
  return s.users[id] ?? { id, name: null, phone: null, online: null, last_seen: null };
}

function learnUser(s: ChatState, u: User): ChatState {
  const prev = userOf(s, u.id);
  return { ...s, users: { ...s.users, [u.id]: { ...prev, name: u.name, phone: u.phone, last_seen: u.last_seen ?? prev.last_seen } } };
}

function learnName(s: ChatState, id: string, name: string): ChatState {
  const prev = userOf(s, id);
  if (prev.name === name) return s;
  return { ...s, users: { ...s.users, [id]: { ...prev, name } } };
}

// ---- derived views ----

/** A person's name as we know it; "you" for ourselves, a short id when unknown. */
export function displayName(s: ChatState, id: string, opts: { you?: boolean } = {}): string {
  if (opts.you !== false && s.me && id === s.me.id) return "you";
  return s.users[id]?.name ?? `user ${id.slice(0, 6)}`;
}

/** A channel's title: the group name, or the other person's name. */
export function channelTitle(s: ChatState, ch: ChannelState): string {
  if (ch.info.name) return ch.info.name;
  if (ch.info.kind === "direct" && s.me) {
    const other = ch.info.members.find((m) => m !== s.me!.id);
    if (other) return displayName(s, other);
  }
  return ch.stub ? "(loading…)" : ch.info.id;
}

/** The other member of a direct channel. */
export function directPeer(s: ChatState, ch: ChannelState): string | null {
  if (ch.info.kind !== "direct") return null;
  return ch.info.members.find((m) => m !== s.me?.id) ?? null;
}

/** Channels, most recent activity first. */
export function sortedChannels(s: ChatState): ChannelState[] {
  const at = (c: ChannelState) => c.info.last_message?.sent_at ?? c.info.created_at;
  return Object.values(s.channels).sort((a, b) => at(b) - at(a) || a.info.id.localeCompare(b.info.id));
}

/** The direct channel with a user, if one exists. */
export function directWith(s: ChatState, userId: string): ChannelState | null {
  return Object.values(s.channels).find((c) => c.info.kind === "direct" && c.info.members.includes(userId)) ?? null;
}

/** Users typing in a channel now (excluding us). */
export function typingIn(s: ChatState, channel: string, now: number): string[] {
  return Object.entries(s.typing[channel] ?? {})
    .filter(([, until]) => until > now)
    .map(([u]) => u);
}
