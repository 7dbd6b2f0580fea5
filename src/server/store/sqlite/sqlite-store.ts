// Store on N bun:sqlite shard files. Each row lives in the shard of its key:
// channel rows in shard(channel id), user rows in shard(user id), the phone
// index in shard(phone), tokens in shard(token hash), codes in shard(code hash).
// Cross-shard writes go source of truth first and are idempotent.
//
// Threads: the main thread reads through its own connection per shard; every
// write is a named operation (writes.ts) run by the writer thread, the one
// writer of all shard files, which answers after the commit is durable.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import type {
  AppendResult,
  ChannelRow,
  ChannelState,
  CursorUpdate,
  DeviceRow,
  MediaRow,
  MemberChange,
  MemberRow,
  MessageRange,
  MessageRow,
  NewMessage,
  Store,
  StoreStats,
  UserRow,
} from "../types.ts";
import { Checkpointer } from "./checkpointer.ts";
import { migrate, shardOf, type Synchronous } from "./shard.ts";
import { Writer } from "./writer.ts";
import { readChannel, type WriteArgs, type WriteOp, type WriteResult } from "./writes.ts";
import { CHANNEL_COLS, MEDIA_COLS, MEDIA_SHARED_WHILE_MEMBER, MESSAGE_COLS } from "../sql.ts";

export interface SqliteStoreOptions {
  /** Directory holding `shards/NN.db`. */
  dir: string;
  /** Shard count for a new directory; an existing one keeps its own (layout.json). */
  shards: number;
  synchronous: Synchronous;
  onCommit?: (batch: number, ms: number) => void;
  /** Called after each commit with the shard's index (replication tracks lag per shard). */
  onShardCommit?: (shard: number) => void;
  /** Passed to every Shard (0 when Litestream owns checkpoints). */
  walAutoCheckpoint?: number;
  /**
   * Checkpoint in a worker thread instead of inside COMMIT on the event loop
   * (ignored when walAutoCheckpoint is given). If the worker dies, SQLite's own
   * checkpoints come back on and `onCheckpointerDeath` is told.
   */
  checkpointWorker?: boolean;
  onCheckpointerDeath?: (reason: string) => void;
  /** The writer thread died: every write fails from then on (the server exits). */
  onWriterDeath?: (reason: string) => void;
}

/** A shard file as the main thread sees it: its path and a read-only connection. */
export interface ShardReader {
  readonly path: string;
  readonly db: Database;
}

interface Layout {
  format: 1;
  shards: number;
  created_at: number;
}

/** Reads or creates `layout.json`, which fixes the shard count for the directory's life. */
export function openLayout(dir: string, shards: number): Layout {
  const p = join(dir, "layout.json");
  if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8")) as Layout;
  const layout: Layout = { format: 1, shards, created_at: Date.now() };
  mkdirSync(dir, { recursive: true });
  writeFileSync(p, JSON.stringify(layout, null, 2) + "\n");
  return layout;
}


/** Channels kept in memory (their rows and members), bounded. */
const CHANNEL_CACHE_MAX = 20_000;

export class SqliteStore implements Store {
  readonly shards: ShardReader[];
  /**
   * Channel state by id, read on every send. Exact: the writer thread is the
   * only writer of the shards, and every write that changes a channel updates
   * the entry when its answer arrives, before any caller resumes; a rolled-back
   * commit clears it.
   */
  private readonly channels = new Map<string, ChannelState>();
  private readonly writer: Writer;
  private checkpointer: Checkpointer | null = null;

  constructor(opts: SqliteStoreOptions) {
    const layout = openLayout(opts.dir, opts.shards);
    const shardDir = join(opts.dir, "shards");
    mkdirSync(shardDir, { recursive: true });
    this.shards = [];
    for (let i = 0; i < layout.shards; i++) {
      const path = join(shardDir, `${String(i).padStart(2, "0")}.db`);
      this.shards.push({ path, db: openReader(path) });
    }
    const autoCheckpoint = opts.walAutoCheckpoint ?? (opts.checkpointWorker ? 0 : undefined);
    this.writer = new Writer({
      paths: this.shards.map((s) => s.path),
      synchronous: opts.synchronous,
      walAutoCheckpoint: autoCheckpoint,
      onCommit: (i, n, ms) => {
        opts.onCommit?.(n, ms);
        opts.onShardCommit?.(i);
      },
      onRollback: () => this.channels.clear(),
      onDeath: opts.onWriterDeath,
    });
    if (opts.checkpointWorker && opts.walAutoCheckpoint === undefined) {
      this.checkpointer = new Checkpointer(
        this.shards.map((s) => s.path),
        {
          onDeath: (reason) => {
            this.setAutoCheckpoint(1000);
            opts.onCheckpointerDeath?.(reason);
          },
        },
      );
    }
  }

  /** PRAGMA wal_autocheckpoint on the writer's connections (0 = only the checkpointer or Litestream checkpoints). */
  setAutoCheckpoint(pages: number): void {
    this.writer.setAutoCheckpoint(pages);
  }

  /** A real commit on shard i that changes nothing (the replication nudge). */
  touch(i: number): Promise<void> {
    return this.writer.call(i, "touch", undefined);
  }

  private index(key: string): number {
    return shardOf(key, this.shards.length);
  }
  private db(key: string): Database {
    return this.shards[this.index(key)]!.db;
  }
  /** Runs write `op` in the shard of `key` on the writer thread. */
  private write<K extends WriteOp>(key: string, op: K, args: WriteArgs<K>, committed?: (v: WriteResult<K>) => void): Promise<WriteResult<K>> {
    return this.writer.call(this.index(key), op, args, committed);
  }
  /** One statement in the shard of `key`, through the writer (maintenance; tests staging a crash's leftovers). */
  exec(key: string, sql: string, params: (string | number | null)[] = []): Promise<number> {
    return this.write(key, "exec", { sql, params });
  }

  // ---- accounts ----

  async createUser(u: UserRow): Promise<void> {
    await this.write(u.phone, "claimPhone", { phone: u.phone, user: u.id });
    await this.write(u.id, "insertUser", u);
  }

  async getUser(id: string): Promise<UserRow | null> {
    return this.db(id).query("SELECT id, name, phone, created_at, last_seen FROM users WHERE id = ?").get(id) as UserRow | null;
  }

  async userByPhone(phone: string): Promise<UserRow | null> {
    const claim = this.db(phone).query("SELECT user_id FROM phones WHERE phone = ?").get(phone) as { user_id: string } | null;
    return claim ? this.getUser(claim.user_id) : null;
  }

  async listUsers(): Promise<UserRow[]> {
    const all: UserRow[] = [];
    for (const s of this.shards) all.push(...(s.db.query("SELECT id, name, phone, created_at, last_seen FROM users").all() as UserRow[]));
    return all.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  async deleteUser(id: string): Promise<void> {
    const user = await this.getUser(id);
    if (!user) return;
    const devices = await this.listDevices(id);
    await this.write(id, "deleteUserRows", { id });
    await this.write(user.phone, "releasePhone", { phone: user.phone, user: id });
    for (const d of devices) await this.deleteTokensOf(d.id);
  }

  async setLastSeen(user: string, at: number): Promise<void> {
    await this.write(user, "setLastSeen", { user, at });
  }

  async createLoginCode(codeHash: string, user: string, expiresAt: number): Promise<void> {
    await this.write(codeHash, "createLoginCode", { codeHash, user, expiresAt });
  }

  async consumeLoginCode(codeHash: string, now: number): Promise<string | null> {
    return this.write(codeHash, "consumeLoginCode", { codeHash, now });
  }

  async createDevice(d: DeviceRow, tokenHash: string): Promise<void> {
    await this.write(d.user_id, "insertDevice", { d, tokenHash });
    await this.write(tokenHash, "insertToken", { tokenHash, user: d.user_id, device: d.id });
  }

  async deviceByToken(tokenHash: string): Promise<{ user_id: string; device_id: string } | null> {
    const t = this.db(tokenHash).query("SELECT user_id, device_id FROM tokens WHERE token_hash = ?").get(tokenHash) as
      | { user_id: string; device_id: string }
      | null;
    if (!t) return null;
    // The device row is the source of truth: a revoked device's token is dead even if its token row lingers.
    const live = this.db(t.user_id).query("SELECT 1 FROM devices WHERE id = ? AND token_hash = ?").get(t.device_id, tokenHash);
    return live ? t : null;
  }

  async getDevice(user: string, device: string): Promise<DeviceRow | null> {
    return this.db(user)
      .query("SELECT id, user_id, name, created_at FROM devices WHERE id = ? AND user_id = ?")
      .get(device, user) as DeviceRow | null;
  }

  async listDevices(user: string): Promise<DeviceRow[]> {
    return this.db(user)
      .query("SELECT id, user_id, name, created_at FROM devices WHERE user_id = ? ORDER BY created_at, id")
      .all(user) as DeviceRow[];
  }

  async findDevice(device: string): Promise<DeviceRow | null> {
    for (const s of this.shards) {
      const d = s.db.query("SELECT id, user_id, name, created_at FROM devices WHERE id = ?").get(device) as DeviceRow | null;
      if (d) return d;
    }
    return null;
  }

  async revokeDevice(device: string): Promise<boolean> {
    const d = await this.findDevice(device);
    if (!d) return false;
    await this.write(d.user_id, "deleteDevice", { device });
    await this.deleteTokensOf(device);
    return true;
  }

  private async deleteTokensOf(device: string): Promise<void> {
    for (let i = 0; i < this.shards.length; i++) {
      if (this.shards[i]!.db.query("SELECT 1 FROM tokens WHERE device_id = ?").get(device))
        await this.writer.call(i, "deleteTokensOf", { device });
    }
  }

  // ---- channels ----

  async createChannel(c: ChannelRow, members: { user: string; role: "admin" | "member" }[]): Promise<ChannelState> {
    return this.write(c.id, "createChannel", { c, members }, this.remember);
  }

  async getChannel(id: string): Promise<ChannelState | null> {
    const hit = this.channels.get(id);
    if (hit) return hit;
    const state = readChannel(this.db(id), id);
    if (state) this.remember(state);
    return state;
  }

  private readonly remember = (state: ChannelState): void => {
    if (this.channels.size >= CHANNEL_CACHE_MAX && !this.channels.has(state.channel.id)) {
      this.channels.delete(this.channels.keys().next().value!); // oldest entry
    }
    this.channels.set(state.channel.id, state);
  };

  async listChannels(): Promise<ChannelRow[]> {
    const all: ChannelRow[] = [];
    for (const s of this.shards) all.push(...(s.db.query(`SELECT ${CHANNEL_COLS} FROM channels`).all() as ChannelRow[]));
    return all.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  async changeMembers(channel: string, change: MemberChange): Promise<ChannelState> {
    return this.write(channel, "changeMembers", { channel, change }, this.remember);
  }

  async addUserChannels(user: string, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    await this.write(user, "addUserChannels", { user, channels });
  }

  async userChannels(user: string): Promise<string[]> {
    return (this.db(user).query("SELECT channel_id FROM user_channels WHERE user_id = ?").all(user) as { channel_id: string }[]).map(
      (r) => r.channel_id,
    );
  }

  async createInvite(code: string, channel: string, by: string, at: number): Promise<void> {
    await this.write(channel, "createInvite", { code, channel, by, at });
  }

  async inviteChannel(code: string): Promise<string | null> {
    // Invites live with their channel; the code is checked against the channel the caller names.
    for (const s of this.shards) {
      const r = s.db.query("SELECT channel_id FROM invites WHERE code = ?").get(code) as { channel_id: string } | null;
      if (r) return r.channel_id;
    }
    return null;
  }

  // ---- messages ----

  async appendMessage(m: NewMessage): Promise<AppendResult> {
    const r = await this.write(m.channel, "appendMessage", m, (r) => {
      const cached = this.channels.get(m.channel);
      if (cached && "seq" in r && r.seq > cached.channel.last_seq) cached.channel.last_seq = r.seq;
    });
    if ("dup" in r) return { message: r.dup, duplicate: true };
    return { message: { ...m, seq: r.seq, delivered_at: null, seen_at: null }, duplicate: false };
  }

  async getMessage(channel: string, seq: number): Promise<MessageRow | null> {
    return this.db(channel).query(`SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND seq = ?`).get(channel, seq) as MessageRow | null;
  }

  async messages(channel: string, range: MessageRange): Promise<{ rows: MessageRow[]; has_more: boolean }> {
    const lo = range.after_seq ?? 0;
    const hi = range.before_seq ?? Number.MAX_SAFE_INTEGER;
    const db = this.db(channel);
    const order = range.newest ? "DESC" : "ASC";
    const rows = db
      .query(`SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND seq > ? AND seq < ? ORDER BY seq ${order} LIMIT ?`)
      .all(channel, lo, hi, range.limit + 1) as MessageRow[];
    const has_more = rows.length > range.limit;
    if (has_more) rows.pop();
    if (range.newest) rows.reverse();
    return { rows, has_more };
  }

  async countUnread(channel: string, user: string, after_seq: number, up_to: number): Promise<number> {
    if (up_to <= after_seq) return 0;
    const r = this.db(channel)
      .query("SELECT COUNT(*) AS n FROM messages WHERE channel_id = ? AND seq > ? AND seq <= ? AND sender != ?")
      .get(channel, after_seq, up_to, user) as { n: number };
    return r.n;
  }

  async advanceCursor(u: CursorUpdate): Promise<{ delivered_seq: number; seen_seq: number; changed: boolean }> {
    return this.write(u.channel, "advanceCursor", u, (r) => {
      const me = this.channels.get(u.channel)?.members.find((x) => x.user_id === u.user);
      if (me) {
        me.delivered_seq = r.delivered_seq;
        me.seen_seq = r.seen_seq;
      }
    });
  }

  // ---- media (rows in shard(media id); message checks in shard(channel)) ----

  async createMedia(m: MediaRow): Promise<void> {
    await this.write(m.id, "createMedia", m);
  }

  async getMedia(id: string): Promise<MediaRow | null> {
    return this.db(id).query(`SELECT ${MEDIA_COLS} FROM media WHERE id = ?`).get(id) as MediaRow | null;
  }

  async linkMedia(media: string, channel: string, at: number): Promise<void> {
    await this.write(media, "linkMedia", { media, channel, at });
  }

  async mediaLinks(media: string): Promise<{ channel: string; at: number }[]> {
    return this.db(media)
      .query("SELECT channel_id AS channel, created_at AS at FROM media_links WHERE media_id = ? ORDER BY created_at")
      .all(media) as { channel: string; at: number }[];
  }

  async mediaVisibleTo(channel: string, media: string, user: string): Promise<boolean> {
    return !!this.db(channel)
      .query(
        MEDIA_SHARED_WHILE_MEMBER,
      )
      .get(channel, media, user);
  }

  async mediaSentIn(channel: string, media: string): Promise<boolean> {
    return !!this.db(channel).query("SELECT 1 FROM messages WHERE channel_id = ? AND media = ? LIMIT 1").get(channel, media);
  }

  async markMediaSent(id: string): Promise<void> {
    await this.write(id, "markMediaSent", { id });
  }

  async unsentMedia(before: number, limit: number): Promise<MediaRow[]> {
    const all: MediaRow[] = [];
    for (const s of this.shards)
      all.push(
        ...(s.db.query(`SELECT ${MEDIA_COLS} FROM media WHERE sent = 0 AND created_at < ? ORDER BY created_at LIMIT ?`).all(before, limit) as MediaRow[]),
      );
    return all.sort((a, b) => a.created_at - b.created_at).slice(0, limit);
  }

  async deleteMedia(id: string, linksBefore: number): Promise<boolean> {
    return this.write(id, "deleteMedia", { id, linksBefore });
  }

  async blobInUse(sha256: string): Promise<boolean> {
    return this.shards.some((s) => !!s.db.query("SELECT 1 FROM media WHERE sha256 = ? LIMIT 1").get(sha256));
  }

  async mediaUsage(user: string): Promise<number> {
    let sum = 0;
    for (const s of this.shards) sum += (s.db.query("SELECT COALESCE(SUM(size), 0) AS n FROM media WHERE uploader = ?").get(user) as { n: number }).n;
    return sum;
  }

  async stats(): Promise<StoreStats> {
    const s: StoreStats = { shards: this.shards.length, users: 0, channels: 0, messages: 0, devices: 0 };
    for (const sh of this.shards) {
      const r = sh.db
        .query(
          "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM channels) AS channels, (SELECT COUNT(*) FROM messages) AS messages, (SELECT COUNT(*) FROM devices) AS devices",
        )
        .get() as Omit<StoreStats, "shards">;
      s.users += r.users;
      s.channels += r.channels;
      s.messages += r.messages;
      s.devices += r.devices;
    }
    return s;
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.writer.close();
    for (const s of this.shards) s.db.close();
  }
}

/** The main thread's connection to a shard: creates and migrates the file, then only reads. */
function openReader(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA busy_timeout = 5000");
  migrate(db);
  db.run("PRAGMA query_only = 1");
  return db;
}
