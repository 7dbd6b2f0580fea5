// Store on N bun:sqlite shard files. Each row lives in the shard of its key:
// channel rows in shard(channel id), user rows in shard(user id), the phone
// index in shard(phone), tokens in shard(token hash), codes in shard(code hash).
// Cross-shard writes go source of truth first and are idempotent.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { NatterError } from "../../../protocol/index.ts";
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
import { Shard, shardOf, type Synchronous } from "./shard.ts";
import { ADVANCE_CURSOR, CHANNEL_COLS, MEDIA_COLS, MEDIA_SHARED_WHILE_MEMBER, MEMBER_COLS, MEMBER_UPSERT, MESSAGE_COLS, PROMOTE_LONGEST_MEMBER, STAMP } from "../sql.ts";

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
  readonly shards: Shard[];
  /**
   * Channel state by id, read on every send. Exact: this process is the only
   * writer of its shards, and every write that changes a channel updates the
   * entry after COMMIT and before any caller resumes; a failed commit clears it.
   */
  private readonly channels = new Map<string, ChannelState>();
  private checkpointer: Checkpointer | null = null;

  constructor(opts: SqliteStoreOptions) {
    const layout = openLayout(opts.dir, opts.shards);
    const shardDir = join(opts.dir, "shards");
    mkdirSync(shardDir, { recursive: true });
    this.shards = [];
    for (let i = 0; i < layout.shards; i++) {
      const path = join(shardDir, `${String(i).padStart(2, "0")}.db`);
      const onShard = opts.onShardCommit;
      const onCommit = onShard ? (n: number, ms: number) => (opts.onCommit?.(n, ms), onShard(i)) : opts.onCommit;
      this.shards.push(
        new Shard(path, {
          synchronous: opts.synchronous,
          onCommit,
          onRollback: () => this.channels.clear(),
          walAutoCheckpoint: opts.walAutoCheckpoint ?? (opts.checkpointWorker ? 0 : undefined),
        }),
      );
    }
    if (opts.checkpointWorker && opts.walAutoCheckpoint === undefined) {
      this.checkpointer = new Checkpointer(
        this.shards.map((s) => s.path),
        {
          onDeath: (reason) => {
            for (const s of this.shards) s.db.run("PRAGMA wal_autocheckpoint = 1000");
            opts.onCheckpointerDeath?.(reason);
          },
        },
      );
    }
  }

  private shard(key: string): Shard {
    return this.shards[shardOf(key, this.shards.length)]!;
  }
  private db(key: string): Database {
    return this.shard(key).db;
  }

  // ---- accounts ----

  async createUser(u: UserRow): Promise<void> {
    await this.shard(u.phone).write((db) => {
      const claim = db.query("SELECT user_id FROM phones WHERE phone = ?").get(u.phone) as { user_id: string } | null;
      if (claim && claim.user_id !== u.id) {
        // A claim whose user row never got written (crash in between) is stale: take it over.
        const owner = this.db(claim.user_id).query("SELECT 1 FROM users WHERE id = ?").get(claim.user_id);
        if (owner) throw new NatterError("conflict", `phone ${u.phone} is already registered`);
      }
      db.query("INSERT OR REPLACE INTO phones (phone, user_id) VALUES (?, ?)").run(u.phone, u.id);
    });
    await this.shard(u.id).write((db) => {
      db.query("INSERT OR IGNORE INTO users (id, name, phone, created_at, last_seen) VALUES (?, ?, ?, ?, ?)").run(
        u.id,
        u.name,
        u.phone,
        u.created_at,
        u.last_seen,
      );
    });
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
    await this.shard(id).write((db) => {
      db.query("DELETE FROM users WHERE id = ?").run(id);
      db.query("DELETE FROM devices WHERE user_id = ?").run(id);
      db.query("DELETE FROM user_channels WHERE user_id = ?").run(id);
    });
    await this.shard(user.phone).write((db) => {
      db.query("DELETE FROM phones WHERE phone = ? AND user_id = ?").run(user.phone, id);
    });
    for (const d of devices) await this.deleteTokensOf(d.id);
  }

  async setLastSeen(user: string, at: number): Promise<void> {
    await this.shard(user).write((db) => db.query("UPDATE users SET last_seen = ? WHERE id = ?").run(at, user));
  }

  async createLoginCode(codeHash: string, user: string, expiresAt: number): Promise<void> {
    await this.shard(codeHash).write((db) =>
      db.query("INSERT INTO login_codes (code_hash, user_id, expires_at) VALUES (?, ?, ?)").run(codeHash, user, expiresAt),
    );
  }

  async consumeLoginCode(codeHash: string, now: number): Promise<string | null> {
    return this.shard(codeHash).write((db) => {
      const row = db.query("DELETE FROM login_codes WHERE code_hash = ? RETURNING user_id, expires_at").get(codeHash) as
        | { user_id: string; expires_at: number }
        | null;
      if (!row || row.expires_at < now) return null;
      return row.user_id;
    });
  }

  async createDevice(d: DeviceRow, tokenHash: string): Promise<void> {
    await this.shard(d.user_id).write((db) =>
      db
        .query("INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)")
        .run(d.id, d.user_id, d.name, tokenHash, d.created_at),
    );
    await this.shard(tokenHash).write((db) =>
      db.query("INSERT INTO tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)").run(tokenHash, d.user_id, d.id),
    );
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
    await this.shard(d.user_id).write((db) => db.query("DELETE FROM devices WHERE id = ?").run(device));
    await this.deleteTokensOf(device);
    return true;
  }

  private async deleteTokensOf(device: string): Promise<void> {
    for (const s of this.shards) {
      if (s.db.query("SELECT 1 FROM tokens WHERE device_id = ?").get(device))
        await s.write((db) => db.query("DELETE FROM tokens WHERE device_id = ?").run(device));
    }
  }

  // ---- channels ----

  async createChannel(c: ChannelRow, members: { user: string; role: "admin" | "member" }[]): Promise<ChannelState> {
    return this.shard(c.id).write((db) => {
      const existing = readChannel(db, c.id);
      if (existing) return existing;
      db.query(
        "INSERT INTO channels (id, kind, name, description, avatar_url, join_policy, created_at, created_by, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
      ).run(c.id, c.kind, c.name, c.description, c.avatar_url, c.join, c.created_at, c.created_by);
      const ins = db.query(
        "INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq) VALUES (?, ?, ?, 0, NULL, 0, 0)",
      );
      for (const m of members) ins.run(c.id, m.user, m.role);
      return readChannel(db, c.id)!;
    }, this.remember);
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
    return this.shard(channel).write((db) => {
      const state = readChannel(db, channel);
      if (!state) throw new NatterError("not_found", "no such channel");
      const last = state.channel.last_seq;
      const current = new Set(state.members.filter((m) => m.left_seq === null).map((m) => m.user_id));
      if (change.kind === "add") {
        const fresh = [...new Set(change.users)].filter((u) => !current.has(u));
        if (current.size + fresh.length > change.max)
          throw new NatterError("group_full", `a group holds at most ${change.max} members (it has ${current.size})`);
        const upsert = db.query(
          MEMBER_UPSERT,
        );
        for (const u of fresh) upsert.run(channel, u, change.role, last);
      } else {
        if (!current.has(change.user)) throw new NatterError("not_found", "not a member of this group");
        db.query("UPDATE members SET left_seq = ?, role = 'member' WHERE channel_id = ? AND user_id = ?").run(
          last,
          channel,
          change.user,
        );
        // A group never stays without an admin: promote the longest-standing member.
        const admins = db
          .query("SELECT 1 FROM members WHERE channel_id = ? AND left_seq IS NULL AND role = 'admin'")
          .get(channel);
        if (!admins)
          db.query(
            PROMOTE_LONGEST_MEMBER,
          ).run(channel);
      }
      return readChannel(db, channel)!;
    }, this.remember);
  }

  async addUserChannels(user: string, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    await this.shard(user).write((db) => {
      const q = db.query("INSERT OR IGNORE INTO user_channels (user_id, channel_id) VALUES (?, ?)");
      for (const c of channels) q.run(user, c);
    });
  }

  async userChannels(user: string): Promise<string[]> {
    return (this.db(user).query("SELECT channel_id FROM user_channels WHERE user_id = ?").all(user) as { channel_id: string }[]).map(
      (r) => r.channel_id,
    );
  }

  async createInvite(code: string, channel: string, by: string, at: number): Promise<void> {
    await this.shard(channel).write((db) =>
      db.query("INSERT INTO invites (code, channel_id, created_by, created_at) VALUES (?, ?, ?, ?)").run(code, channel, by, at),
    );
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
    return this.shard(m.channel).write((db) => {
      const dup = db
        .query(`SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND sender = ? AND client_id = ?`)
        .get(m.channel, m.sender, m.client_id) as MessageRow | null;
      if (dup) return { message: dup, duplicate: true };
      // Membership is re-checked inside the commit, so a removal racing a send cannot let it through.
      if (!db.query("SELECT 1 FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL").get(m.channel, m.sender))
        throw new NatterError("forbidden", "not a member of this channel");
      const r = db.query("UPDATE channels SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq").get(m.channel) as {
        last_seq: number;
      } | null;
      if (!r) throw new NatterError("not_found", "no such channel");
      db.query(
        "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(m.channel, r.last_seq, m.sender, m.client_id, m.type, m.content, m.media, m.reply_to, m.sent_at);
      const row: MessageRow = { ...m, seq: r.last_seq, delivered_at: null, seen_at: null };
      return { message: row, duplicate: false };
    }, (r) => {
      const cached = this.channels.get(m.channel);
      if (cached && !r.duplicate) cached.channel.last_seq = r.message.seq;
    });
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
    return this.shard(u.channel).write((db) => {
      const cur = db
        .query("SELECT delivered_seq, seen_seq FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL")
        .get(u.channel, u.user) as { delivered_seq: number; seen_seq: number } | null;
      if (!cur) throw new NatterError("forbidden", "not a member of this channel");
      const seen = Math.max(cur.seen_seq, u.seen_seq ?? 0);
      const delivered = Math.max(cur.delivered_seq, u.delivered_seq ?? 0, seen);
      if (seen === cur.seen_seq && delivered === cur.delivered_seq) return { delivered_seq: delivered, seen_seq: seen, changed: false };
      db.query(
        ADVANCE_CURSOR,
      ).run(delivered, seen, delivered, u.at, seen, u.at, u.channel, u.user);
      // Stamp messages that every other current member has now reached.
      if (delivered > cur.delivered_seq) stamp(db, "delivered", u.channel, cur.delivered_seq, delivered, u.at);
      if (seen > cur.seen_seq) stamp(db, "seen", u.channel, cur.seen_seq, seen, u.at);
      return { delivered_seq: delivered, seen_seq: seen, changed: true };
    }, (r) => {
      const me = this.channels.get(u.channel)?.members.find((x) => x.user_id === u.user);
      if (me) {
        me.delivered_seq = r.delivered_seq;
        me.seen_seq = r.seen_seq;
      }
    });
  }

  // ---- media (rows in shard(media id); message checks in shard(channel)) ----

  async createMedia(m: MediaRow): Promise<void> {
    await this.shard(m.id).write((db) =>
      db
        .query(
          "INSERT INTO media (id, uploader, sha256, size, mime, name, width, height, created_at, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(m.id, m.uploader, m.sha256, m.size, m.mime, m.name, m.width, m.height, m.created_at, m.sent),
    );
  }

  async getMedia(id: string): Promise<MediaRow | null> {
    return this.db(id).query(`SELECT ${MEDIA_COLS} FROM media WHERE id = ?`).get(id) as MediaRow | null;
  }

  async linkMedia(media: string, channel: string, at: number): Promise<void> {
    await this.shard(media).write((db) => {
      if (!db.query("SELECT 1 FROM media WHERE id = ?").get(media)) throw new NatterError("not_found", "no such media");
      // created_at is refreshed on every send: it marks a send in flight for the sweep.
      db.query(
        "INSERT INTO media_links (media_id, channel_id, created_at) VALUES (?, ?, ?) ON CONFLICT (media_id, channel_id) DO UPDATE SET created_at = excluded.created_at",
      ).run(media, channel, at);
    });
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
    await this.shard(id).write((db) => db.query("UPDATE media SET sent = 1 WHERE id = ?").run(id));
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
    return this.shard(id).write((db) => {
      if (db.query("SELECT 1 FROM media_links WHERE media_id = ? AND created_at >= ?").get(id, linksBefore)) return false;
      db.query("DELETE FROM media_links WHERE media_id = ?").run(id);
      return db.query("DELETE FROM media WHERE id = ?").run(id).changes > 0;
    });
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
    for (const s of this.shards) s.close();
  }
}

function readChannel(db: Database, id: string): ChannelState | null {
  const channel = db.query(`SELECT ${CHANNEL_COLS} FROM channels WHERE id = ?`).get(id) as ChannelRow | null;
  if (!channel) return null;
  const members = db.query(`SELECT ${MEMBER_COLS} FROM members WHERE channel_id = ? ORDER BY joined_seq, user_id`).all(id) as MemberRow[];
  return { channel, members };
}

function stamp(db: Database, which: "delivered" | "seen", channel: string, from: number, to: number, at: number): void {
  db.query(
    STAMP[which],
  ).run(at, channel, from, to);
}
