// The Store over N shards, once for every backend: which shard each row
// lives in (layout.ts), the order of cross-shard writes, and reads that span
// shards. A backend supplies only how a shard is read and how a named write
// (write-ops.ts) is committed there: the SQLite store has N shard files, the
// libSQL store is the case of one shard.
//
// Cross-shard writes go source of truth first and are idempotent: the phone
// claim before the user row (a claim left by a crash is taken over), a device
// row before its token (a token is valid only while its device row names it).

import {
  deviceHoldsToken,
  findDeviceRow,
  holdsTokensOf,
  phoneOwner,
  readDevice,
  readDevices,
  readToken,
  readUser,
  readUsers,
} from "./accounts.ts";
import { readChannel, readChannels, readUserChannels } from "./channels.ts";
import type { Awaitable, Exec } from "./exec.ts";
import { readLiveInvites } from "./invites.ts";
import { shardOf } from "./layout.ts";
import { countRows } from "./maintenance.ts";
import { readMedia, readMediaLinks, readUnsent, sentIn, sharedWhileMember, uploadedBytes, usesBlob } from "./media.ts";
import { countUnread, readLastMessage, readMessage, readPage } from "./messages.ts";
import { hasSent, readPrivacy } from "./privacy.ts";
import type {
  AppendResult,
  ChangeRequest,
  ChangeResult,
  ChannelRow,
  ChannelState,
  CursorUpdate,
  DeviceRow,
  InviteRow,
  MediaRow,
  MemberChange,
  MessageRange,
  MessageRow,
  NewInvite,
  NewMessage,
  Store,
  StoreStats,
  UserRow,
} from "./types.ts";
import type { WriteArgs, WriteOp, WriteResult } from "./write-ops.ts";
import type { Privacy, PrivacyAudience } from "../../protocol/index.ts";

const byCreation = (a: { created_at: number; id: string }, b: { created_at: number; id: string }) => a.created_at - b.created_at || a.id.localeCompare(b.id);

const noop = () => {};

export abstract class ShardedStore implements Store {
  /** Registrations in flight, by phone (see createUser). */
  private readonly registering = new Map<string, Promise<void>>();
  /** How many shards rows are spread over (fixed for the data's life). */
  protected abstract readonly shardCount: number;
  /** A connection that reads shard `i`. */
  protected abstract reader(i: number): Exec;
  /** Commits write `op` in shard `i`; resolves once it is durable. */
  protected abstract write<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>>;
  abstract close(): Promise<void>;

  protected shardOf(key: string): number {
    return shardOf(key, this.shardCount);
  }

  // ---- one shard at a time (a cluster node serves the shards it owns to its peers) ----

  get numShards(): number {
    return this.shardCount;
  }
  /** The reader of shard i. */
  shardReader(i: number): Exec {
    return this.reader(i);
  }
  /** Commits write `op` in shard i. */
  writeShard<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    return this.write(i, op, args);
  }
  /** The reader of `key`'s shard. */
  private db(key: string): Exec {
    return this.reader(this.shardOf(key));
  }
  private writeAt<K extends WriteOp>(key: string, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    return this.write(this.shardOf(key), op, args);
  }
  /** `read` on every shard, in shard order. */
  private async everyShard<T>(read: (db: Exec) => Awaitable<T>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < this.shardCount; i++) out.push(await read(this.reader(i)));
    return out;
  }
  /** The first non-null answer of `read`, shard by shard. */
  private async anyShard<T>(read: (db: Exec) => Awaitable<T | null>): Promise<T | null> {
    for (let i = 0; i < this.shardCount; i++) {
      const v = await read(this.reader(i));
      if (v !== null) return v;
    }
    return null;
  }

  // ---- accounts ----

  async createUser(u: UserRow): Promise<void> {
    // Until a claim's user row is committed, another registration of the phone would take the
    // claim for a crash's leftover: this process registers a phone one at a time.
    const prior = this.registering.get(u.phone);
    const mine = (prior ? prior.then(noop, noop) : Promise.resolve()).then(async () => {
      // A phone and user in one shard (always, with one shard) commit together: no writer ever sees the claim alone.
      if (this.shardOf(u.phone) === this.shardOf(u.id)) return this.writeAt(u.id, "createUser", u);
      await this.writeAt(u.phone, "claimPhone", { phone: u.phone, user: u.id });
      await this.writeAt(u.id, "insertUser", u);
    });
    this.registering.set(u.phone, mine);
    try {
      await mine;
    } finally {
      if (this.registering.get(u.phone) === mine) this.registering.delete(u.phone);
    }
  }

  async getUser(id: string): Promise<UserRow | null> {
    return readUser(this.db(id), id);
  }

  async userByPhone(phone: string): Promise<UserRow | null> {
    const owner = await phoneOwner(this.db(phone), phone);
    return owner ? this.getUser(owner) : null;
  }

  async listUsers(): Promise<UserRow[]> {
    return (await this.everyShard(readUsers)).flat().sort(byCreation);
  }

  async deleteUser(id: string): Promise<void> {
    const user = await this.getUser(id);
    if (!user) return;
    const devices = await this.listDevices(id);
    await this.writeAt(id, "deleteUserRows", { id });
    await this.writeAt(user.phone, "releasePhone", { phone: user.phone, user: id });
    for (const d of devices) await this.deleteTokensOf(d.id);
  }

  async setLastSeen(user: string, at: number): Promise<void> {
    await this.writeAt(user, "setLastSeen", { user, at });
  }

  async createLoginCode(codeHash: string, user: string, expiresAt: number): Promise<void> {
    await this.writeAt(codeHash, "createLoginCode", { codeHash, user, expiresAt });
  }

  async consumeLoginCode(codeHash: string, now: number): Promise<string | null> {
    return this.writeAt(codeHash, "consumeLoginCode", { codeHash, now });
  }

  async createDevice(d: DeviceRow, tokenHash: string): Promise<void> {
    await this.writeAt(d.user_id, "insertDevice", { d, tokenHash });
    await this.writeAt(tokenHash, "insertToken", { tokenHash, user: d.user_id, device: d.id });
  }

  async deviceByToken(tokenHash: string): Promise<{ user_id: string; device_id: string } | null> {
    const t = await readToken(this.db(tokenHash), tokenHash);
    if (!t) return null;
    // A revoked device's token is dead even if its token row lingers.
    return (await deviceHoldsToken(this.db(t.user_id), t.device_id, tokenHash)) ? t : null;
  }

  async getDevice(user: string, device: string): Promise<DeviceRow | null> {
    return readDevice(this.db(user), user, device);
  }

  async listDevices(user: string): Promise<DeviceRow[]> {
    return readDevices(this.db(user), user);
  }

  async findDevice(device: string): Promise<DeviceRow | null> {
    return this.anyShard((db) => findDeviceRow(db, device));
  }

  async revokeDevice(device: string): Promise<boolean> {
    const d = await this.findDevice(device);
    if (!d) return false;
    await this.writeAt(d.user_id, "deleteDevice", { device });
    await this.deleteTokensOf(device);
    return true;
  }

  /** Token rows are keyed by token hash: look for the device's in every shard. */
  private async deleteTokensOf(device: string): Promise<void> {
    for (let i = 0; i < this.shardCount; i++) {
      if (await holdsTokensOf(this.reader(i), device)) await this.write(i, "deleteTokensOf", { device });
    }
  }

  // ---- channels ----

  async createChannel(c: ChannelRow, members: { user: string; role: "admin" | "member" }[]): Promise<ChannelState> {
    return this.writeAt(c.id, "createChannel", { c, members });
  }

  async getChannel(id: string): Promise<ChannelState | null> {
    return readChannel(this.db(id), id);
  }

  async listChannels(): Promise<ChannelRow[]> {
    return (await this.everyShard(readChannels)).flat().sort(byCreation);
  }

  async changeMembers(channel: string, change: MemberChange): Promise<ChannelState> {
    return this.writeAt(channel, "changeMembers", { channel, change });
  }

  async addUserChannels(user: string, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    await this.writeAt(user, "addUserChannels", { user, channels });
  }

  async userChannels(user: string): Promise<string[]> {
    return readUserChannels(this.db(user), user);
  }

  // Invites live with their channel: a code is always looked up in the channel the caller names.

  async createInvite(i: NewInvite): Promise<void> {
    await this.writeAt(i.channel, "createInvite", i);
  }

  async liveInvites(channel: string, now: number): Promise<InviteRow[]> {
    return readLiveInvites(this.db(channel), channel, now);
  }

  async joinByInvite(channel: string, code: string, user: string, at: number, max: number): Promise<ChannelState> {
    return this.writeAt(channel, "joinByInvite", { channel, code, user, at, max });
  }

  async revokeInvite(channel: string, code: string, at: number): Promise<boolean> {
    return this.writeAt(channel, "revokeInvite", { channel, code, at });
  }

  async removeAndBar(channel: string, user: string, at: number): Promise<ChannelState> {
    return this.writeAt(channel, "removeAndBar", { channel, user, at });
  }

  // ---- messages ----

  async appendMessage(m: NewMessage): Promise<AppendResult> {
    const r = await this.writeAt(m.channel, "appendMessage", m);
    if ("dup" in r) return { message: r.dup, duplicate: true };
    return { message: { ...m, seq: r.seq, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [] }, duplicate: false };
  }

  async getMessage(channel: string, seq: number): Promise<MessageRow | null> {
    return readMessage(this.db(channel), channel, seq);
  }

  async lastMessage(channel: string, reader: string, up_to: number): Promise<MessageRow | null> {
    return readLastMessage(this.db(channel), channel, reader, up_to);
  }

  async applyChange(r: ChangeRequest): Promise<ChangeResult> {
    return this.writeAt(r.channel, "applyChange", r);
  }

  async messages(channel: string, range: MessageRange): Promise<{ rows: MessageRow[]; has_more: boolean }> {
    return readPage(this.db(channel), channel, range);
  }

  async countUnread(channel: string, user: string, after_seq: number, up_to: number): Promise<number> {
    return countUnread(this.db(channel), channel, user, after_seq, up_to);
  }

  async advanceCursor(u: CursorUpdate): Promise<{ delivered_seq: number; seen_seq: number; changed: boolean }> {
    return this.writeAt(u.channel, "advanceCursor", u);
  }

  // ---- media ----

  async createMedia(m: MediaRow): Promise<void> {
    await this.writeAt(m.id, "createMedia", m);
  }

  async getMedia(id: string): Promise<MediaRow | null> {
    return readMedia(this.db(id), id);
  }

  async linkMedia(media: string, channel: string, at: number): Promise<void> {
    await this.writeAt(media, "linkMedia", { media, channel, at });
  }

  async mediaLinks(media: string): Promise<{ channel: string; at: number }[]> {
    return readMediaLinks(this.db(media), media);
  }

  async mediaVisibleTo(channel: string, media: string, user: string): Promise<boolean> {
    return sharedWhileMember(this.db(channel), channel, media, user);
  }

  async mediaSentIn(channel: string, media: string): Promise<boolean> {
    return sentIn(this.db(channel), channel, media);
  }

  async markMediaSent(id: string): Promise<void> {
    await this.writeAt(id, "markMediaSent", { id });
  }

  async unsentMedia(before: number, limit: number): Promise<MediaRow[]> {
    const all = (await this.everyShard((db) => readUnsent(db, before, limit))).flat();
    return all.sort((a, b) => a.created_at - b.created_at).slice(0, limit);
  }

  async deleteMedia(id: string, linksBefore: number): Promise<boolean> {
    return this.writeAt(id, "deleteMedia", { id, linksBefore });
  }

  async blobInUse(sha256: string): Promise<boolean> {
    return (await this.anyShard(async (db) => ((await usesBlob(db, sha256)) ? true : null))) ?? false;
  }

  async mediaUsage(user: string): Promise<number> {
    return (await this.everyShard((db) => uploadedBytes(db, user))).reduce((a, b) => a + b, 0);
  }

  // ---- privacy (user-keyed; hasSent in the channel's shard) ----

  async getPrivacy(user: string): Promise<Privacy> {
    return readPrivacy(this.db(user), user);
  }

  async setPrivacy(user: string, p: { find_by_phone?: PrivacyAudience; add_to_groups?: PrivacyAudience }): Promise<Privacy> {
    return this.writeAt(user, "setPrivacy", { user, ...p });
  }

  async hasSent(channel: string, user: string): Promise<boolean> {
    return hasSent(this.db(channel), channel, user);
  }

  async takeGroupSlot(user: string, channel: string, at: number, windowMs: number, max: number): Promise<number> {
    return this.writeAt(user, "takeGroupSlot", { user, channel, at, windowMs, max });
  }

  async stats(): Promise<StoreStats> {
    const s: StoreStats = { shards: this.shardCount, users: 0, channels: 0, messages: 0, devices: 0 };
    for (const r of await this.everyShard(countRows)) {
      s.users += r.users;
      s.channels += r.channels;
      s.messages += r.messages;
      s.devices += r.devices;
    }
    return s;
  }
}
