// The storage interfaces: everything the domain needs from persistence, and
// nothing about SQL, in five parts (accounts, channels, messages, media, privacy) so a
// consumer takes only the part it uses; `Store` is all of them. Every write
// resolves only after it is committed. Implementations: sqlite/ (bun:sqlite
// shards), libsql/ (@libsql/client), both on sharded-store.ts.

import type { Channel, Message, MessageType, Privacy, PrivacyAudience } from "../../protocol/index.ts";

export interface UserRow {
  id: string;
  name: string;
  phone: string;
  created_at: number;
  last_seen: number | null;
}

export interface DeviceRow {
  id: string;
  user_id: string;
  name: string;
  created_at: number;
}

/** A channel's own row: the wire Channel's fields that are stored, plus its creator. */
export type ChannelRow = Pick<Channel, "id" | "kind" | "name" | "description" | "avatar_url" | "join" | "created_at" | "last_seq"> & { created_by: string };

/**
 * A member row; `left_seq` is set once the user left or was removed. The member
 * reads the seqs of each period (joined_seq, left_seq]: `earlier` ones (kept at
 * each rejoin, oldest first, empty ones dropped), then the row's own.
 */
export interface MemberRow {
  user_id: string;
  role: "admin" | "member";
  joined_seq: number;
  left_seq: number | null;
  earlier: Array<[joined_seq: number, left_seq: number]>;
  delivered_seq: number;
  seen_seq: number;
}

export interface ChannelState {
  channel: ChannelRow;
  /** Every member row, past members included (left_seq set). */
  members: MemberRow[];
}

/** A stored message: the wire Message without its id (derived: `${channel}:${seq}`). */
export type MessageRow = Omit<Message, "id">;

/** A message to append: what the store assigns or derives (seq, receipt times, change state) left out. */
export type NewMessage = Omit<MessageRow, "seq" | "delivered_at" | "seen_at" | "edited_at" | "deleted_at" | "reactions"> & { type: MessageType };

/** A row a cluster takeover found committed but never replicated (takeover.ts): a message, or a
 *  change row (type "change" / "hide"), with the seq it had. */
export type LostRow = Omit<NewMessage, "type"> & { type: string; seq: number };

/** An edit, delete (for everyone, or "hide" for the actor) or reaction of message `seq`, checked and applied in one commit. */
export interface ChangeRequest {
  channel: string;
  seq: number;
  actor: string;
  at: number;
  kind: "edit" | "delete" | "hide" | "react";
  /** edit: the new content. */
  content?: string;
  /** react: the emoji ("" removes the actor's). */
  emoji?: string;
  /** How long after sent_at the sender may edit or delete for everyone (ms). */
  windowMs: number;
}

/** What a change did: the target's state after it, the change row (null if nothing changed), the media it dropped. */
export interface ChangeResult {
  target: MessageRow;
  change: MessageRow | null;
  /** delete: the media id the target carried (to release if nothing else references it). */
  dropped_media: string | null;
}

/** What appendMessage found: a new row, or the original for a repeated client_id. */
export interface AppendResult {
  message: MessageRow;
  duplicate: boolean;
}

export interface MessageRange {
  /** Exclusive bounds; visibility bounds of the reader are applied by the caller. */
  after_seq?: number;
  before_seq?: number;
  limit: number;
  /** With no after_seq: newest first, then reversed (the latest page). */
  newest: boolean;
  /** The reader: their deleted-for-me messages and others' "hide" rows are left out. */
  reader?: string;
}

export interface CursorUpdate {
  channel: string;
  user: string;
  delivered_seq?: number;
  seen_seq?: number;
  at: number;
}

export interface StoreStats {
  shards: number;
  users: number;
  channels: number;
  messages: number;
  devices: number;
}

/** One upload (media-keyed, in shard(id)). Blobs are shared by sha256; rows are not. */
export interface MediaRow {
  id: string;
  uploader: string;
  sha256: string;
  size: number;
  mime: string;
  name: string;
  width: number | null;
  height: number | null;
  created_at: number;
  /** 1 once a committed message carrying it was seen (never an orphan again). */
  sent: number;
}

/** Channel-membership changes applied atomically in the channel's home. */
export type MemberChange =
  | { kind: "add"; users: string[]; role: "admin" | "member"; at: number; max: number }
  | { kind: "remove"; user: string; at: number };

/** One group commit: its shard, how many writes it carried, how long it took. */
export interface CommitStat {
  shard: number;
  writes: number;
  ms: number;
}

/** Looking users up: what channel logic needs of accounts. */
export interface UserLookup {
  getUser(id: string): Promise<UserRow | null>;
  userByPhone(phone: string): Promise<UserRow | null>;
}

/** Users (user-keyed), the phone index, devices and their tokens, login codes. */
export interface AccountStore extends UserLookup {
  /** Claims the phone and creates the user; throws conflict if the phone is taken. */
  createUser(u: UserRow): Promise<void>;
  listUsers(): Promise<UserRow[]>;
  /** Removes the user, the phone claim, devices, tokens and codes. Channel rows stay (history). */
  deleteUser(id: string): Promise<void>;
  setLastSeen(user: string, at: number): Promise<void>;

  createLoginCode(codeHash: string, user: string, expiresAt: number): Promise<void>;
  /** Deletes the code and returns its user if it existed and had not expired. */
  consumeLoginCode(codeHash: string, now: number): Promise<string | null>;

  createDevice(d: DeviceRow, tokenHash: string): Promise<void>;
  deviceByToken(tokenHash: string): Promise<{ user_id: string; device_id: string } | null>;
  getDevice(user: string, device: string): Promise<DeviceRow | null>;
  listDevices(user: string): Promise<DeviceRow[]>;
  /** Finds a device by id alone (admin path; may scan). */
  findDevice(device: string): Promise<DeviceRow | null>;
  /** Deletes the device and its token. Returns false if it did not exist. */
  revokeDevice(device: string): Promise<boolean>;
}

/** An invite to a channel and its limits (in shard(channel)). */
export interface InviteRow {
  code: string;
  channel_id: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  max_uses: number;
  uses: number;
  revoked_at: number | null;
}

export interface NewInvite {
  code: string;
  channel: string;
  by: string;
  at: number;
  expires_at: number;
  max_uses: number;
}

/** Channels and their members (channel-keyed), invites, and each user's channel list. */
export interface ChannelStore {
  /** Creates the channel with its first members unless it exists; returns the state either way. */
  createChannel(c: ChannelRow, members: { user: string; role: "admin" | "member" }[]): Promise<ChannelState>;
  getChannel(id: string): Promise<ChannelState | null>;
  listChannels(): Promise<ChannelRow[]>;
  /** Applies the change in one transaction; throws group_full (nothing changed) past `max`. */
  changeMembers(channel: string, change: MemberChange): Promise<ChannelState>;
  /** The user's list of channels (user-keyed); idempotent adds. */
  addUserChannels(user: string, channels: string[]): Promise<void>;
  userChannels(user: string): Promise<string[]>;

  createInvite(i: NewInvite): Promise<void>;
  /** The channel's invites that still admit someone at `now`, oldest first. */
  liveInvites(channel: string, now: number): Promise<InviteRow[]>;
  /** Adds `user` through invite `code` and counts one use (none if already a member), in one commit.
   *  Throws forbidden saying why the invite does not admit them, group_full past `max`. */
  joinByInvite(channel: string, code: string, user: string, at: number, max: number): Promise<ChannelState>;
  /** Revokes the invite; false if the channel has no invite `code`. */
  revokeInvite(channel: string, code: string, at: number): Promise<boolean>;
  /** Removes a member in one commit with their way back in: their invites in the channel are
   *  revoked and no invite committed before the removal admits them. not_found if not a member. */
  removeAndBar(channel: string, user: string, at: number): Promise<ChannelState>;
}

/** Messages and receipt cursors (channel-keyed). */
export interface MessageStore {
  /** Assigns the next seq and commits; a repeated (channel, sender, client_id) returns the original.
   *  Throws forbidden if the sender is not a current member (checked inside the commit). */
  appendMessage(m: NewMessage): Promise<AppendResult>;
  getMessage(channel: string, seq: number): Promise<MessageRow | null>;
  /** The newest message (not a change row) at or below `up_to` that `reader` has not deleted for themselves. */
  lastMessage(channel: string, reader: string, up_to: number): Promise<MessageRow | null>;
  /** Applies an edit / delete / hide / reaction (ChangeRequest) after checking its rules inside the commit:
   *  not_found (no such message), forbidden (not the sender, not a member), window_closed,
   *  conflict (deleted), bad_request (not a text message). */
  applyChange(r: ChangeRequest): Promise<ChangeResult>;
  /** Messages in ascending seq, plus whether more exist beyond the page. */
  messages(channel: string, range: MessageRange): Promise<{ rows: MessageRow[]; has_more: boolean }>;
  /** Others' messages in (after_seq, up_to] not sent by `user`. */
  countUnread(channel: string, user: string, after_seq: number, up_to: number): Promise<number>;
  /** Advances the member's cursors monotonically and stamps messages every other member has reached. */
  advanceCursor(u: CursorUpdate): Promise<{ delivered_seq: number; seen_seq: number; changed: boolean }>;
}

/** Media metadata: rows in shard(media id); message checks in shard(channel). */
export interface MediaStore {
  createMedia(m: MediaRow): Promise<void>;
  getMedia(id: string): Promise<MediaRow | null>;
  /** Records that `media` may be sent in `channel` (idempotent; written before the message).
   *  Throws not_found if the media row is gone. */
  linkMedia(media: string, channel: string, at: number): Promise<void>;
  /** Channels the media was linked to, with when the link was written. */
  mediaLinks(media: string): Promise<{ channel: string; at: number }[]>;
  /** True if a committed message in `channel` carries `media` at a seq `user` was a member for. */
  mediaVisibleTo(channel: string, media: string, user: string): Promise<boolean>;
  /** True if any committed message in `channel` carries `media`. */
  mediaSentIn(channel: string, media: string): Promise<boolean>;
  markMediaSent(id: string): Promise<void>;
  /** Unsent uploads created before `before`, oldest first, across shards. */
  unsentMedia(before: number, limit: number): Promise<MediaRow[]>;
  /** Deletes the row and its links unless a link was written at or after `linksBefore`
   *  (a send in flight); false if it kept the row. Ordered with linkMedia in shard(id). */
  deleteMedia(id: string, linksBefore: number): Promise<boolean>;
  /** True if any media row (any shard) uses the blob. */
  blobInUse(sha256: string): Promise<boolean>;
  /** Sum of the sizes of the user's uploads (all shards). */
  mediaUsage(user: string): Promise<number>;
}

/** Privacy settings and the group-creation cap (user-keyed), and the message check "contacts" needs. */
export interface PrivacyStore {
  /** The user's settings; the defaults ("everyone") if they never set any. */
  getPrivacy(user: string): Promise<Privacy>;
  /** Changes the given settings; returns them all. */
  setPrivacy(user: string, p: { find_by_phone?: PrivacyAudience; add_to_groups?: PrivacyAudience }): Promise<Privacy>;
  /** True if `user` sent at least one message in `channel`. */
  hasSent(channel: string, user: string): Promise<boolean>;
  /** Counts group `channel` against `user`'s `max` per `windowMs` ending at `at`: 0 if counted (or
   *  counted before: a retry is free), else the ms until a slot frees (nothing recorded). */
  takeGroupSlot(user: string, channel: string, at: number, windowMs: number, max: number): Promise<number>;
}

/** The whole store: every part, row counts, and close. */
export interface Store extends AccountStore, ChannelStore, MessageStore, MediaStore, PrivacyStore {
  stats(): Promise<StoreStats>;
  /** Flushes pending commits and closes every shard. */
  close(): Promise<void>;
}
