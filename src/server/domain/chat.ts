// Channel logic: every protocol op on channels and messages. Membership is
// checked on every read and write; events go out only after the commit.

import {
  NatterError,
  type ChangeRecord,
  type Channel,
  type CreateGroupParams,
  type Invite,
  type MemberAction,
  type Message,
  type OpParams,
  type OpResults,
  type SendMessageParams,
  type User,
} from "../../protocol/index.ts";
import { isSingleEmoji } from "../../protocol/emoji.ts";
import { lookupPhone } from "../../protocol/phone.ts";
import { directChannelId, groupIdFor, newGroupId, newInviteCode, parseMessageId } from "../ids.ts";
import type { Metrics } from "../metrics.ts";
import { planMemberChange } from "../store/channels.ts";
import type { ChannelState, ChannelStore, LostRow, MemberRow, MessageRow, MessageStore, NewMessage, PrivacyStore, UserLookup } from "../store/types.ts";
import type { Caller, Delivery, MediaAccess } from "./ports.ts";
import { presenceOf } from "./presence.ts";
import { PrivacyRules } from "./privacy.ts";
import { toMessage, toUser } from "./views.ts";

export interface ChatLimits {
  maxMessageBytes: number;
  maxGroupMembers: number;
  /** Longest (and default) lifetime of an invite, ms. */
  inviteTtlMs: number;
  /** Most (and default) joins one invite admits. */
  inviteMaxUses: number;
  /** Country of phone numbers given without a country code ("" = none). */
  phoneRegion?: string;
  /** Groups a user may create in any hour (createGroup; the operator's are not counted); none: no cap. */
  maxGroupsPerHour?: number;
  /** How long after sending its sender may edit or delete-for-everyone a message (ms). */
  editWindowMs?: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** An edit, delete (for everyone; "hide": for the caller) or reaction, as the ops ask for it. */
export interface ChangeAsk {
  channel: string;
  seq: number;
  kind: "edit" | "delete" | "hide" | "react";
  content?: string;
  emoji?: string;
}

const CHANGE_EVENT = { edit: "edit", delete: "delete", hide: "delete", react: "reaction" } as const;

/** The acting party of a membership op: a user, or the operator through /admin. */
export type Actor = { user: string } | { admin: true };
const ADMIN_BY = "admin";

const current = (s: ChannelState) => s.members.filter((m) => m.left_seq === null);
const memberOf = (s: ChannelState, user: string): MemberRow | undefined => s.members.find((m) => m.user_id === user);
const isCurrent = (s: ChannelState, user: string) => memberOf(s, user)?.left_seq === null;
/** The seq ranges (lo, hi] a member reads, oldest first: each period they were a member, never the gaps between. */
const periods = (me: MemberRow): Array<[number, number]> => [...me.earlier, [me.joined_seq, me.left_seq ?? Number.MAX_SAFE_INTEGER]];
const reads = (me: MemberRow, seq: number) => periods(me).some(([lo, hi]) => seq > lo && seq <= hi);

export class Chat {
  /** Direct chats whose members' channel lists are known to be written (bounded). */
  private readonly linkedDirect = new Set<string>();
  /** Who may find each user by phone and add them to groups. */
  readonly privacy: PrivacyRules;

  constructor(
    private readonly store: ChannelStore & MessageStore & UserLookup & PrivacyStore,
    private readonly delivery: Delivery,
    private readonly limits: ChatLimits,
    private readonly metrics: Metrics,
    private readonly media: MediaAccess | null = null,
  ) {
    this.privacy = new PrivacyRules(store);
  }

  // ---- reads ----

  /** A channel the caller belongs to (or once belonged to); not_found / forbidden otherwise. */
  private async readable(user: string, channel: string): Promise<{ state: ChannelState; me: MemberRow }> {
    const state = await this.store.getChannel(channel);
    if (!state) throw new NatterError("not_found", "no such channel");
    const me = memberOf(state, user);
    if (!me) throw new NatterError("forbidden", "not a member of this channel");
    return { state, me };
  }

  private async writable(user: string, channel: string): Promise<ChannelState> {
    const { state, me } = await this.readable(user, channel);
    if (me.left_seq !== null) throw new NatterError("forbidden", "no longer a member of this channel");
    return state;
  }

  async getAll(caller: Caller): Promise<Channel[]> {
    const ids = await this.store.userChannels(caller.user);
    const out: Channel[] = [];
    for (const id of ids) {
      const state = await this.store.getChannel(id);
      const me = state && memberOf(state, caller.user);
      if (state && me) out.push(await this.view(state, caller.user));
    }
    const activity = (c: Channel) => c.last_message?.sent_at ?? c.created_at;
    return out.sort((a, b) => activity(b) - activity(a) || a.id.localeCompare(b.id));
  }

  /** The channel as `user` sees it: their cursors, unread, last visible message. */
  async view(state: ChannelState, user: string): Promise<Channel> {
    const c = state.channel;
    const me = memberOf(state, user);
    const members = current(state);
    const visibleLast = me?.left_seq != null ? Math.min(c.last_seq, me.left_seq) : c.last_seq;
    const from = me?.joined_seq ?? 0;
    // Back in a group with nothing new yet: the last message is that of an earlier period.
    const lastVisible = visibleLast > from ? visibleLast : (me?.earlier.at(-1)?.[1] ?? 0);
    const lastRow = lastVisible > 0 ? await this.store.lastMessage(c.id, user, lastVisible) : null;
    const seen = me ? Math.max(me.seen_seq, from) : visibleLast;
    let name = c.name;
    if (c.kind === "direct") {
      const other = state.members.find((m) => m.user_id !== user);
      name = (other && (await this.store.getUser(other.user_id))?.name) || c.name;
    }
    return {
      id: c.id,
      kind: c.kind,
      name,
      description: c.description,
      avatar_url: c.avatar_url,
      join: c.join,
      created_at: c.created_at,
      members: members.map((m) => m.user_id),
      admins: members.filter((m) => m.role === "admin").map((m) => m.user_id),
      last_seq: visibleLast,
      last_message: lastRow ? toMessage(lastRow) : null,
      delivered_seq: me?.delivered_seq ?? 0,
      seen_seq: me?.seen_seq ?? 0,
      unread: me ? await this.store.countUnread(c.id, user, seen, visibleLast) : 0,
    };
  }

  async getMessages(caller: Caller, p: OpParams["getMessages"]): Promise<{ messages: Message[]; has_more: boolean }> {
    const { state, me } = await this.readable(caller.user, p.channel);
    // A member reads what arrived during each period they were a member: one page over those
    // ranges (exclusive bounds), newest first unless after_seq is given.
    const limit = p.limit ?? 50;
    const newest = p.after_seq === undefined;
    const ranges = periods(me)
      .map(([lo, hi]) => [Math.max(lo, p.after_seq ?? 0), Math.min(hi + 1, p.before_seq ?? Number.MAX_SAFE_INTEGER)] as const)
      .filter(([after, before]) => before - after > 1);
    if (newest) ranges.reverse();
    let rows: MessageRow[] = [];
    let has_more = false;
    for (const [after_seq, before_seq] of ranges) {
      // seq is dense: a further range holds messages if it starts below the channel's last seq.
      if (rows.length === limit) {
        has_more = after_seq < state.channel.last_seq;
        break;
      }
      const page = await this.store.messages(p.channel, { after_seq, before_seq, limit: limit - rows.length, newest, reader: caller.user });
      rows = newest ? [...page.rows, ...rows] : [...rows, ...page.rows];
      if (page.has_more) {
        has_more = true;
        break;
      }
    }
    return { messages: rows.map(toMessage), has_more };
  }

  // ---- messages ----

  async sendMessage(caller: Caller, p: SendMessageParams): Promise<Message> {
    const content = p.content ?? "";
    if (Buffer.byteLength(content, "utf8") > this.limits.maxMessageBytes)
      throw new NatterError("too_large", `content is larger than ${this.limits.maxMessageBytes} bytes`);
    if (p.type === "text") {
      if (content.length === 0) throw new NatterError("bad_request", "a text message needs content");
      if (p.media !== undefined) throw new NatterError("bad_request", "a text message carries no media");
    } else {
      if (p.media === undefined) throw new NatterError("bad_request", `a ${p.type} message needs media`);
      if (!this.media || !(await this.media.maySend(caller.user, p.media)))
        throw new NatterError("not_found", "no such media (upload it first)");
    }
    const state = await this.target(caller.user, p);
    let replyTo: string | null = null;
    if (p.reply_to !== undefined) {
      const ref = parseMessageId(p.reply_to);
      const me = memberOf(state, caller.user)!;
      if (!ref || ref.channel !== state.channel.id || !reads(me, ref.seq) || ref.seq > state.channel.last_seq)
        throw new NatterError("not_found", "reply_to is not a message of this channel");
      replyTo = p.reply_to;
    }
    if (p.media !== undefined) await this.media!.shared(state.channel.id, p.media);
    const appended = this.store.appendMessage({
      channel: state.channel.id,
      sender: caller.user,
      client_id: p.client_id,
      type: p.type,
      content,
      media: p.media ?? null,
      reply_to: replyTo,
      sent_at: Date.now(),
    });
    caller.handedOver?.(); // the append is queued: the connection's next op may start
    const { message: row, duplicate } = await appended;
    const message = toMessage(row);
    if (!duplicate) {
      // No await between the commit and the publish: events leave in seq order.
      this.metrics.messages.inc();
      this.publish(state, { ev: "message", message }, caller);
    }
    return message;
  }

  /**
   * Edits, deletes (for everyone, or "hide" for the caller) or reacts to message `seq`: the rules
   * are checked in the commit (ChangeRequest), which also appends the change's own row; then the
   * event goes to every member's devices (a hide only to the caller's) and media a delete dropped
   * is released if no other message carries it. Returns the target's state after the change.
   */
  async change(caller: Caller, a: ChangeAsk): Promise<Message> {
    const state = await this.checkChange(caller.user, a);
    const pending = this.commitChange(state, caller.user, a, Date.now(), this.limits.editWindowMs ?? 15 * 60_000);
    caller.handedOver?.();
    return pending;
  }

  /** The channel of a change `user` asks for, once the checks that need no commit pass. */
  private async checkChange(user: string, a: ChangeAsk): Promise<ChannelState> {
    const { state, me } = await this.readable(user, a.channel);
    if (a.kind !== "hide" && me.left_seq !== null) throw new NatterError("forbidden", "no longer a member of this channel");
    if (!reads(me, a.seq)) throw new NatterError("not_found", "no such message");
    if (a.kind === "edit") {
      const content = a.content ?? "";
      if (content.length === 0) throw new NatterError("bad_request", "an edit needs content (delete the message instead)");
      if (Buffer.byteLength(content, "utf8") > this.limits.maxMessageBytes)
        throw new NatterError("too_large", `content is larger than ${this.limits.maxMessageBytes} bytes`);
    }
    if (a.kind === "react" && a.emoji !== "" && !isSingleEmoji(a.emoji ?? "")) throw new NatterError("bad_request", "a reaction is exactly one emoji");
    return state;
  }

  /** Commits a change (its rules checked in the commit), tells whom it concerns, releases dropped media. */
  private async commitChange(state: ChannelState, actor: string, a: ChangeAsk, at: number, windowMs: number): Promise<Message> {
    const r = await this.store.applyChange({
      channel: a.channel,
      seq: a.seq,
      actor,
      at,
      kind: a.kind,
      ...(a.content !== undefined ? { content: a.content } : {}),
      ...(a.emoji !== undefined ? { emoji: a.emoji } : {}),
      windowMs,
    });
    const message = toMessage(r.target);
    if (r.change) {
      // No await between the commit and the publish: events leave in seq order. The caller's own
      // connection gets it too (its reply does not carry the change's seq), as do all their devices.
      const change = toMessage(r.change);
      const ev = { ev: CHANGE_EVENT[a.kind], channel: a.channel, seq: a.seq, change_seq: change.seq, message, change };
      if (a.kind === "hide") this.delivery.toUsers([actor], JSON.stringify({ ...ev, scope: "me" }));
      else if (a.kind === "react") this.publish(state, { ...ev, user: actor, emoji: a.emoji });
      else this.publish(state, a.kind === "delete" ? { ...ev, scope: "everyone" } : ev);
    }
    if (r.dropped_media && this.media?.release) await this.media.release(r.dropped_media, r.target.sent_at);
    return message;
  }

  /**
   * Appends again, in order, what a takeover found acknowledged but never replicated
   * (docs/cluster.md): messages through `recover`, change rows applied again to their target as
   * their actor did at their time (no window: it was accepted then), the target's seq followed
   * if it was itself appended again at another seq. Returns how many took; `failed` hears the rest.
   */
  async recoverLost(lost: LostRow[], failed: (m: LostRow, e: unknown) => void): Promise<number> {
    const moved = new Map<string, number>(); // `${channel}:${old seq}` -> new seq
    let done = 0;
    for (const m of lost) {
      try {
        if (m.type !== "change" && m.type !== "hide") {
          const seq = await this.recover({ ...m, type: m.type as SendMessageParams["type"] });
          if (seq !== null) {
            moved.set(`${m.channel}:${m.seq}`, seq);
            done++;
          }
          continue;
        }
        const rec = m.type === "hide" ? { op: "hide" as const } : (JSON.parse(m.content) as ChangeRecord);
        const old = m.reply_to ? parseMessageId(m.reply_to) : null;
        if (!old) continue;
        const seq = moved.get(`${m.channel}:${old.seq}`) ?? old.seq;
        const kind = rec.op === "react" ? "react" : rec.op;
        const a: ChangeAsk = { channel: m.channel, seq, kind, ...(rec.op === "edit" ? { content: rec.content } : {}), ...(rec.op === "react" ? { emoji: rec.emoji } : {}) };
        const state = await this.checkChange(m.sender, a);
        await this.commitChange(state, m.sender, a, m.sent_at, Number.MAX_SAFE_INTEGER);
        done++;
      } catch (e) {
        failed(m, e);
      }
    }
    return done;
  }

  /**
   * Appends again a message its node acknowledged but never replicated (a cluster's takeover,
   * docs/cluster.md); members receive it. Its new seq, or null if it was there already (same sender + client id).
   */
  async recover(m: NewMessage): Promise<number | null> {
    const state = await this.store.getChannel(m.channel);
    if (!state) return null;
    const { message: row, duplicate } = await this.store.appendMessage(m);
    if (!duplicate) this.publish(state, { ev: "message", message: toMessage(row) });
    return duplicate ? null : row.seq;
  }

  /** The channel a send goes to: `channel`, or the one direct chat with `to` (created on first use). */
  private async target(user: string, p: SendMessageParams): Promise<ChannelState> {
    if ((p.channel === undefined) === (p.to === undefined)) throw new NatterError("bad_request", "give exactly one of channel or to");
    if (p.channel !== undefined) return this.writable(user, p.channel);
    const to = p.to!;
    if (to === user) throw new NatterError("bad_request", "cannot start a direct chat with yourself");
    const id = directChannelId(user, to);
    let state = await this.store.getChannel(id);
    if (!state && !(await this.store.getUser(to))) throw new NatterError("not_found", "no such user");
    // Lists before the channel (as for groups, see addToUserLists), once per process per chat:
    // idempotent, and also repairs a list left behind by a crash under an older version.
    if (!this.linkedDirect.has(id)) {
      await Promise.all([this.store.addUserChannels(user, [id]), this.store.addUserChannels(to, [id])]);
      if (this.linkedDirect.size >= 100_000) this.linkedDirect.clear();
      this.linkedDirect.add(id);
    }
    let created = false;
    if (!state) {
      created = true;
      state = await this.store.createChannel(
        { id, kind: "direct", name: "", description: "", avatar_url: "", join: "invite", created_at: Date.now(), created_by: user, last_seq: 0 },
        [
          { user, role: "member" },
          { user: to, role: "member" },
        ],
      );
    }
    if (!isCurrent(state, user)) throw new NatterError("forbidden", "not a member of this channel");
    if (created) await this.introduce(state, [to]);
    return state;
  }

  // ---- receipts and typing ----

  async mark(caller: Caller, p: OpParams["markSeen"], which: "delivered" | "seen"): Promise<void> {
    const state = await this.writable(caller.user, p.channel);
    const seq = Math.min(p.seq, state.channel.last_seq);
    const at = Date.now();
    const r = await this.store.advanceCursor({
      channel: p.channel,
      user: caller.user,
      at,
      ...(which === "seen" ? { seen_seq: seq } : { delivered_seq: seq }),
    });
    if (r.changed)
      this.publish(state, { ev: "receipt", channel: p.channel, user: caller.user, delivered_seq: r.delivered_seq, seen_seq: r.seen_seq, at });
  }

  async typing(caller: Caller, p: OpParams["typing"]): Promise<void> {
    const state = await this.writable(caller.user, p.channel);
    const others = current(state)
      .map((m) => m.user_id)
      .filter((u) => u !== caller.user);
    this.delivery.toUsers(others, JSON.stringify({ ev: "typing", channel: p.channel, user: caller.user, state: p.state }));
  }

  /** The user with that phone, unless there is none or their find_by_phone leaves `caller` out:
   *  both are the same not_found, so the op cannot tell whether a number is registered. */
  async findUser(caller: string, phone: string): Promise<User> {
    const u = await lookupPhone(phone, this.limits.phoneRegion ?? "", (p) => this.store.userByPhone(p));
    if (!u || !(await this.privacy.allows(u.id, caller, "find_by_phone"))) throw new NatterError("not_found", "no user with that phone number");
    return toUser(u);
  }

  /** Profiles of `ids` that share a channel (current or past) with `user`; others are silently left out. */
  async getUsers(user: string, ids: string[]): Promise<User[]> {
    const known = new Set<string>([user]);
    for (const c of await this.store.userChannels(user)) {
      const s = await this.store.getChannel(c);
      if (s?.members.some((m) => m.user_id === user)) for (const m of s.members) known.add(m.user_id);
    }
    const out: User[] = [];
    for (const id of new Set(ids)) {
      const u = known.has(id) ? await this.store.getUser(id) : null;
      if (u) out.push(toUser(u));
    }
    return out;
  }

  /**
   * Tells new channel members and the existing ones each other's presence, so
   * a contact made mid-session shows online at once (hello only covers old ones).
   */
  private async introduce(state: ChannelState, newcomers: string[]): Promise<void> {
    const members = current(state).map((m) => m.user_id);
    const frames = new Map<string, string>(); // one presence frame per member, built once
    for (const u of members) frames.set(u, JSON.stringify(await presenceOf(this.store, this.delivery, u)));
    for (const n of newcomers) {
      const others = members.filter((m) => m !== n);
      if (this.delivery.isOnline(n)) for (const o of others) this.delivery.toUsers([n], frames.get(o)!);
      if (frames.has(n)) this.delivery.toUsers(others, frames.get(n)!);
    }
  }

  // ---- groups ----

  /**
   * A group of `creator` and the named members whose add_to_groups lets the creator add them; the
   * others are `refused` (not added). A user's group past maxGroupsPerHour in an hour is
   * rate_limited and changes nothing. A retry (same client_id) returns the first group and counts
   * nothing again. The operator (`by` "operator", the admin routes) is held to neither rule.
   */
  async createGroup(creator: string, p: CreateGroupParams, by: "user" | "operator" = "user"): Promise<{ channel: Channel; refused: string[] }> {
    const named = [...new Set(p.members ?? [])].filter((u) => u !== creator);
    await this.requireUsers([creator, ...named]);
    const id = p.client_id === undefined ? newGroupId() : groupIdFor(creator, p.client_id);
    const before = p.client_id === undefined ? null : await this.store.getChannel(id);
    const refused = by === "operator" ? new Set<string>() : await this.privacy.refusing(before ? named.filter((u) => !isCurrent(before, u)) : named, creator);
    const others = named.filter((u) => !refused.has(u));
    if (!before && others.length + 1 > this.limits.maxGroupMembers)
      throw new NatterError("group_full", `a group holds at most ${this.limits.maxGroupMembers} members`);
    if (!before && by === "user") await this.takeGroupSlot(creator, id);
    // Lists first (see addToUserLists); the channel's shard keeps the first create of an id.
    await this.addToUserLists(id, [creator, ...others]);
    if (before) return { channel: await this.view(before, creator), refused: [...refused] }; // a retry: the first group, its lists now whole
    const state = await this.store.createChannel(
      {
        id,
        kind: "group",
        name: p.name,
        description: p.description ?? "",
        avatar_url: p.avatar_url ?? "",
        join: p.join ?? "invite",
        created_at: Date.now(),
        created_by: creator,
        last_seq: 0,
      },
      [{ user: creator, role: "admin" }, ...others.map((u) => ({ user: u, role: "member" as const }))],
    );
    for (const u of others) this.memberEvent(state, u, "added", creator);
    await this.introduce(state, others);
    return { channel: await this.view(state, creator), refused: [...refused] };
  }

  /** Counts a new group against its creator's cap; rate_limited (nothing recorded) past it. */
  private async takeGroupSlot(creator: string, id: string): Promise<void> {
    const max = this.limits.maxGroupsPerHour;
    if (max === undefined) return;
    const wait = await this.store.takeGroupSlot(creator, id, Date.now(), HOUR_MS, max);
    if (wait > 0) throw new NatterError("rate_limited", `at most ${max} new groups an hour; the next in ${Math.ceil(wait / 1000)} s`, wait);
  }

  /** A new invite (group admins): it admits `max_uses` joins until `expires_in_ms` from now, each
   *  at most the server's limit and by default that limit; bad_request above it. */
  async createInvite(actor: Actor, p: OpParams["createInvite"]): Promise<OpResults["createInvite"]> {
    const state = await this.group(p.channel);
    this.requireAdmin(state, actor);
    const { inviteTtlMs, inviteMaxUses } = this.limits;
    if (p.max_uses !== undefined && p.max_uses > inviteMaxUses) throw new NatterError("bad_request", `max_uses is at most ${inviteMaxUses} on this server`);
    if (p.expires_in_ms !== undefined && p.expires_in_ms > inviteTtlMs)
      throw new NatterError("bad_request", `expires_in_ms is at most ${inviteTtlMs} on this server`);
    const at = Date.now();
    const invite = { code: newInviteCode(), channel: p.channel, by: "user" in actor ? actor.user : ADMIN_BY, at };
    const limits = { expires_at: at + (p.expires_in_ms ?? inviteTtlMs), max_uses: p.max_uses ?? inviteMaxUses };
    await this.store.createInvite({ ...invite, ...limits });
    return { invite: invite.code, ...limits };
  }

  /** The group's invites that still admit someone (group admins). */
  async listInvites(actor: Actor, channel: string): Promise<Invite[]> {
    this.requireAdmin(await this.group(channel), actor);
    return (await this.store.liveInvites(channel, Date.now())).map((r) => ({
      invite: r.code,
      created_by: r.created_by,
      created_at: r.created_at,
      expires_at: r.expires_at,
      uses: r.uses,
      max_uses: r.max_uses,
    }));
  }

  /** Revokes one of the group's invites (group admins); not_found if the group has no such invite. */
  async revokeInvite(actor: Actor, channel: string, invite: string): Promise<void> {
    this.requireAdmin(await this.group(channel), actor);
    if (!(await this.store.revokeInvite(channel, invite, Date.now()))) throw new NatterError("not_found", "no such invite in this group");
  }

  /** Joins an open group, or an invite-only one through an invite that admits the caller (one use);
   *  forbidden, saying why, otherwise. A current member gets the channel and nothing changes. */
  async joinGroup(user: string, p: OpParams["joinGroup"]): Promise<Channel> {
    let state = await this.group(p.channel);
    if (isCurrent(state, user)) {
      await this.addToUserLists(p.channel, [user]); // a retry repairs the list row a crash may have missed
      return this.view(state, user);
    }
    const at = Date.now();
    const max = this.limits.maxGroupMembers;
    if (state.channel.join === "open") state = await this.store.changeMembers(p.channel, { kind: "add", users: [user], role: "member", at, max });
    else if (p.invite === undefined) throw new NatterError("forbidden", "this group needs an invite");
    else state = await this.store.joinByInvite(p.channel, p.invite, user, at, max);
    await this.addToUserLists(p.channel, [user]);
    this.memberEvent(state, user, "joined", user);
    await this.introduce(state, [user]);
    return this.view(state, user);
  }

  /** Adds the named users whose add_to_groups lets a user `actor` add them (the operator: all);
   *  the others are `refused`. Current members are never refused: adding them again repairs their list row. */
  async addMembers(actor: Actor, channel: string, users: string[]): Promise<{ channel: Channel; refused: string[] }> {
    let state = await this.group(channel);
    this.requireAdmin(state, actor);
    await this.requireUsers(users);
    const before = state;
    const named = [...new Set(users)];
    const refused = "user" in actor ? await this.privacy.refusing(named.filter((u) => !isCurrent(before, u)), actor.user) : new Set<string>();
    const allowed = named.filter((u) => !refused.has(u));
    const change = { kind: "add", users: allowed, role: "member", at: Date.now(), max: this.limits.maxGroupMembers } as const;
    const { fresh } = planMemberChange(state, change); // group_full before any write (the commit checks again)
    // Every allowed user's list row, members already in included: adding them again repairs it.
    await this.addToUserLists(channel, allowed);
    state = await this.store.changeMembers(channel, { ...change, users: fresh });
    const by = "user" in actor ? actor.user : ADMIN_BY;
    for (const u of fresh) this.memberEvent(state, u, "added", by);
    await this.introduce(state, fresh);
    return { channel: await this.view(state, "user" in actor ? actor.user : ""), refused: [...refused] };
  }

  async removeMember(actor: Actor, channel: string, user: string): Promise<void> {
    const state = await this.group(channel);
    const self = "user" in actor && actor.user === user;
    if (!self) this.requireAdmin(state, actor);
    else if (!isCurrent(state, user)) throw new NatterError("forbidden", "not a member of this group");
    if (!isCurrent(state, user)) throw new NatterError("not_found", "not a member of this group");
    const before = current(state).map((m) => m.user_id);
    // Leaving keeps one's way back in; a removal revokes it (see ChannelStore.removeAndBar).
    if (self) await this.store.changeMembers(channel, { kind: "remove", user, at: Date.now() });
    else await this.store.removeAndBar(channel, user, Date.now());
    const by = "user" in actor ? actor.user : ADMIN_BY;
    const ev = JSON.stringify({ ev: "member", channel, user, action: self ? "left" : "removed", by });
    this.delivery.toUsers(before, ev); // the remaining members and the one who left
  }

  private async group(channel: string): Promise<ChannelState> {
    const state = await this.store.getChannel(channel);
    if (!state) throw new NatterError("not_found", "no such channel");
    if (state.channel.kind !== "group") throw new NatterError("bad_request", "a direct chat has no members to manage");
    return state;
  }

  private requireAdmin(state: ChannelState, actor: Actor): void {
    if ("admin" in actor) return;
    const me = memberOf(state, actor.user);
    if (!me || me.left_seq !== null) throw new NatterError("forbidden", "not a member of this group");
    if (me.role !== "admin") throw new NatterError("forbidden", "only group admins can do that");
  }

  private async requireUsers(users: string[]): Promise<void> {
    for (const u of new Set(users)) if (!(await this.store.getUser(u))) throw new NatterError("not_found", `no such user: ${u}`);
  }

  /**
   * Writes `channel` into each user's channel list (shard(user), idempotent). Group creates and
   * adds write the lists BEFORE the membership commit (another shard), so a crash between the two
   * leaves at worst a list row without a membership, which getAll skips, never a member who
   * cannot see the group. A join writes after its commit and a retried join repairs it.
   */
  private async addToUserLists(channel: string, users: string[]): Promise<void> {
    await Promise.all(users.map((u) => this.store.addUserChannels(u, [channel])));
  }

  private memberEvent(state: ChannelState, user: string, action: MemberAction, by: string): void {
    this.publish(state, { ev: "member", channel: state.channel.id, user, action, by });
  }

  /** Sends an event to every current member's devices (except the caller's own connection). */
  private publish(state: ChannelState, event: object, caller?: Caller): void {
    this.delivery.toChannel(
      state.channel.id,
      current(state).map((m) => m.user_id),
      JSON.stringify(event),
      caller?.conn,
    );
  }

  // ---- admin views ----

  async channel(id: string): Promise<ChannelState> {
    const s = await this.store.getChannel(id);
    if (!s) throw new NatterError("not_found", "no such channel");
    return s;
  }
}
