// Store on libSQL through @libsql/client: a libSQL server or Turso
// (`libsql://`, `https://`, with an auth token) when storage must live off the
// node, or a local file (`file:PATH`). One database holds every row (the
// remote server is the unit of storage; shard files are a local-disk
// concern), with the same schema and migrations as the SQLite shards.
//
// Writes are group-committed like Shard.write: writes queued while a commit
// is running share the next transaction, each in its own savepoint, and
// settle only after COMMIT. One commit runs at a time per store, which also
// serializes seq assignment in this process.

import { createClient, type Client, type InArgs, type InValue, type Transaction } from "@libsql/client";
import { NatterError } from "../../../protocol/index.ts";
import { MIGRATIONS } from "../sqlite/migrations.ts";
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
import { ADVANCE_CURSOR, CHANNEL_COLS, MEDIA_COLS, MEDIA_SHARED_WHILE_MEMBER, MEMBER_COLS, MEMBER_UPSERT, MESSAGE_COLS, PROMOTE_LONGEST_MEMBER, STAMP } from "../sql.ts";
import { planMemberChange } from "../member-change.ts";

export interface LibsqlStoreOptions {
  /** libsql://HOST, https://HOST, http://HOST (dev server), ws(s)://, or file:PATH. */
  url: string;
  /** For libsql:// and https:// (env NATTER_STORE_AUTH_TOKEN). */
  authToken?: string;
  onCommit?: (batch: number, ms: number) => void;
}

/** The statements a store method needs, over the client or a transaction. */
interface Q {
  get<T>(sql: string, ...args: InValue[]): Promise<T | null>;
  all<T>(sql: string, ...args: InValue[]): Promise<T[]>;
  run(sql: string, ...args: InValue[]): Promise<{ changes: number }>;
}

function q(exec: Client | Transaction): Q {
  const rows = async (sql: string, args: InValue[]) => {
    const rs = await exec.execute({ sql, args: args as InArgs });
    return rs.rows.map((r) => {
      const o: Record<string, unknown> = {};
      rs.columns.forEach((c, i) => (o[c] = r[i] ?? null));
      return o;
    });
  };
  return {
    async get<T>(sql: string, ...args: InValue[]) {
      return ((await rows(sql, args))[0] as T | undefined) ?? null;
    },
    async all<T>(sql: string, ...args: InValue[]) {
      return (await rows(sql, args)) as T[];
    },
    async run(sql: string, ...args: InValue[]) {
      const rs = await exec.execute({ sql, args: args as InArgs });
      return { changes: rs.rowsAffected };
    },
  };
}

interface Job {
  fn: (tx: Q) => Promise<unknown>;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}


export class LibsqlStore implements Store {
  private readonly client: Client;
  private readonly r: Q;
  private queue: Job[] = [];
  private committing: Promise<void> | null = null;
  private closed = false;

  private constructor(private readonly opts: LibsqlStoreOptions) {
    this.client = createClient({ url: opts.url, authToken: opts.authToken, intMode: "number" });
    this.r = q(this.client);
  }

  /** Connects, sets WAL for local files, and applies migrations. */
  static async open(opts: LibsqlStoreOptions): Promise<LibsqlStore> {
    const s = new LibsqlStore(opts);
    if (opts.url.startsWith("file:")) {
      await s.client.execute("PRAGMA journal_mode = WAL");
      await s.client.execute("PRAGMA busy_timeout = 5000");
    }
    await s.migrate();
    return s;
  }

  private async migrate(): Promise<void> {
    const row = await this.r.get<{ user_version: number }>("PRAGMA user_version");
    const current = row?.user_version ?? 0;
    if (current > MIGRATIONS.length)
      throw new Error(`store schema version ${current} is newer than this natter (${MIGRATIONS.length}); upgrade natter`);
    for (let v = current; v < MIGRATIONS.length; v++) {
      await this.client.executeMultiple(`BEGIN IMMEDIATE;\n${MIGRATIONS[v]}\nPRAGMA user_version = ${v + 1};\nCOMMIT;`);
    }
  }

  /** Runs `fn` inside the next group commit; resolves with its result after COMMIT. */
  private write<T>(fn: (tx: Q) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve, reject });
      this.committing ??= this.commitLoop();
    });
  }

  private async commitLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await Promise.resolve(); // let writes issued in this turn join the batch
        const jobs = this.queue;
        this.queue = [];
        await this.commit(jobs);
      }
    } finally {
      this.committing = null;
    }
  }

  private async commit(jobs: Job[]): Promise<void> {
    const t0 = performance.now();
    let tx: Transaction;
    try {
      tx = await this.client.transaction("write");
    } catch (e) {
      for (const j of jobs) j.reject(e);
      return;
    }
    const w = q(tx);
    const results: Array<{ ok: boolean; v: unknown }> = [];
    try {
      for (const job of jobs) {
        await tx.execute("SAVEPOINT w");
        try {
          results.push({ ok: true, v: await job.fn(w) });
          await tx.execute("RELEASE w");
        } catch (e) {
          await tx.execute("ROLLBACK TO w");
          await tx.execute("RELEASE w");
          results.push({ ok: false, v: e });
        }
      }
      await tx.commit();
    } catch (e) {
      try {
        await tx.rollback();
      } catch {}
      for (const j of jobs) j.reject(e);
      return;
    } finally {
      tx.close();
    }
    this.opts.onCommit?.(jobs.length, performance.now() - t0);
    jobs.forEach((j, i) => (results[i]!.ok ? j.resolve(results[i]!.v) : j.reject(results[i]!.v)));
  }

  // ---- accounts ----

  async createUser(u: UserRow): Promise<void> {
    await this.write(async (db) => {
      const claim = await db.get<{ user_id: string }>("SELECT user_id FROM phones WHERE phone = ?", u.phone);
      if (claim && claim.user_id !== u.id && (await db.get("SELECT 1 FROM users WHERE id = ?", claim.user_id)))
        throw new NatterError("conflict", `phone ${u.phone} is already registered`);
      await db.run("INSERT OR REPLACE INTO phones (phone, user_id) VALUES (?, ?)", u.phone, u.id);
      await db.run(
        "INSERT OR IGNORE INTO users (id, name, phone, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
        u.id,
        u.name,
        u.phone,
        u.created_at,
        u.last_seen,
      );
    });
  }

  async getUser(id: string): Promise<UserRow | null> {
    return this.r.get<UserRow>("SELECT id, name, phone, created_at, last_seen FROM users WHERE id = ?", id);
  }

  async userByPhone(phone: string): Promise<UserRow | null> {
    const claim = await this.r.get<{ user_id: string }>("SELECT user_id FROM phones WHERE phone = ?", phone);
    return claim ? this.getUser(claim.user_id) : null;
  }

  async listUsers(): Promise<UserRow[]> {
    return this.r.all<UserRow>("SELECT id, name, phone, created_at, last_seen FROM users ORDER BY created_at, id");
  }

  async deleteUser(id: string): Promise<void> {
    await this.write(async (db) => {
      const user = await db.get<{ phone: string }>("SELECT phone FROM users WHERE id = ?", id);
      if (!user) return;
      await db.run("DELETE FROM tokens WHERE device_id IN (SELECT id FROM devices WHERE user_id = ?)", id);
      await db.run("DELETE FROM users WHERE id = ?", id);
      await db.run("DELETE FROM devices WHERE user_id = ?", id);
      await db.run("DELETE FROM user_channels WHERE user_id = ?", id);
      await db.run("DELETE FROM phones WHERE phone = ? AND user_id = ?", user.phone, id);
    });
  }

  async setLastSeen(user: string, at: number): Promise<void> {
    await this.write((db) => db.run("UPDATE users SET last_seen = ? WHERE id = ?", at, user));
  }

  async createLoginCode(codeHash: string, user: string, expiresAt: number): Promise<void> {
    await this.write((db) => db.run("INSERT INTO login_codes (code_hash, user_id, expires_at) VALUES (?, ?, ?)", codeHash, user, expiresAt));
  }

  async consumeLoginCode(codeHash: string, now: number): Promise<string | null> {
    return this.write(async (db) => {
      const row = await db.get<{ user_id: string; expires_at: number }>(
        "DELETE FROM login_codes WHERE code_hash = ? RETURNING user_id, expires_at",
        codeHash,
      );
      if (!row || row.expires_at < now) return null;
      return row.user_id;
    });
  }

  async createDevice(d: DeviceRow, tokenHash: string): Promise<void> {
    await this.write(async (db) => {
      await db.run(
        "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        d.id,
        d.user_id,
        d.name,
        tokenHash,
        d.created_at,
      );
      await db.run("INSERT INTO tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)", tokenHash, d.user_id, d.id);
    });
  }

  async deviceByToken(tokenHash: string): Promise<{ user_id: string; device_id: string } | null> {
    return this.r.get<{ user_id: string; device_id: string }>(
      `SELECT t.user_id, t.device_id FROM tokens t JOIN devices d ON d.id = t.device_id AND d.token_hash = t.token_hash
       WHERE t.token_hash = ?`,
      tokenHash,
    );
  }

  async getDevice(user: string, device: string): Promise<DeviceRow | null> {
    return this.r.get<DeviceRow>("SELECT id, user_id, name, created_at FROM devices WHERE id = ? AND user_id = ?", device, user);
  }

  async listDevices(user: string): Promise<DeviceRow[]> {
    return this.r.all<DeviceRow>("SELECT id, user_id, name, created_at FROM devices WHERE user_id = ? ORDER BY created_at, id", user);
  }

  async findDevice(device: string): Promise<DeviceRow | null> {
    return this.r.get<DeviceRow>("SELECT id, user_id, name, created_at FROM devices WHERE id = ?", device);
  }

  async revokeDevice(device: string): Promise<boolean> {
    return this.write(async (db) => {
      const gone = (await db.run("DELETE FROM devices WHERE id = ?", device)).changes > 0;
      await db.run("DELETE FROM tokens WHERE device_id = ?", device);
      return gone;
    });
  }

  // ---- channels ----

  async createChannel(c: ChannelRow, members: { user: string; role: "admin" | "member" }[]): Promise<ChannelState> {
    return this.write(async (db) => {
      const existing = await readChannel(db, c.id);
      if (existing) return existing;
      await db.run(
        "INSERT INTO channels (id, kind, name, description, avatar_url, join_policy, created_at, created_by, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
        c.id,
        c.kind,
        c.name,
        c.description,
        c.avatar_url,
        c.join,
        c.created_at,
        c.created_by,
      );
      for (const m of members)
        await db.run(
          "INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq) VALUES (?, ?, ?, 0, NULL, 0, 0)",
          c.id,
          m.user,
          m.role,
        );
      return (await readChannel(db, c.id))!;
    });
  }

  async getChannel(id: string): Promise<ChannelState | null> {
    return readChannel(this.r, id);
  }

  async listChannels(): Promise<ChannelRow[]> {
    return this.r.all<ChannelRow>(`SELECT ${CHANNEL_COLS} FROM channels ORDER BY created_at, id`);
  }

  async changeMembers(channel: string, change: MemberChange): Promise<ChannelState> {
    return this.write(async (db) => {
      const { last, fresh } = planMemberChange(await readChannel(db, channel), change);
      if (change.kind === "add") {
        for (const u of fresh) await db.run(MEMBER_UPSERT, channel, u, change.role, last);
      } else {
        await db.run("UPDATE members SET left_seq = ?, role = 'member' WHERE channel_id = ? AND user_id = ?", last, channel, change.user);
        if (!(await db.get("SELECT 1 FROM members WHERE channel_id = ? AND left_seq IS NULL AND role = 'admin'", channel)))
          await db.run(
            PROMOTE_LONGEST_MEMBER,
            channel,
          );
      }
      return (await readChannel(db, channel))!;
    });
  }

  async addUserChannels(user: string, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    await this.write(async (db) => {
      for (const c of channels) await db.run("INSERT OR IGNORE INTO user_channels (user_id, channel_id) VALUES (?, ?)", user, c);
    });
  }

  async userChannels(user: string): Promise<string[]> {
    return (await this.r.all<{ channel_id: string }>("SELECT channel_id FROM user_channels WHERE user_id = ?", user)).map((r) => r.channel_id);
  }

  async createInvite(code: string, channel: string, by: string, at: number): Promise<void> {
    await this.write((db) => db.run("INSERT INTO invites (code, channel_id, created_by, created_at) VALUES (?, ?, ?, ?)", code, channel, by, at));
  }

  async inviteChannel(code: string): Promise<string | null> {
    return (await this.r.get<{ channel_id: string }>("SELECT channel_id FROM invites WHERE code = ?", code))?.channel_id ?? null;
  }

  // ---- messages ----

  async appendMessage(m: NewMessage): Promise<AppendResult> {
    return this.write(async (db) => {
      const dup = await db.get<MessageRow>(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND sender = ? AND client_id = ?`,
        m.channel,
        m.sender,
        m.client_id,
      );
      if (dup) return { message: dup, duplicate: true };
      if (!(await db.get("SELECT 1 FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL", m.channel, m.sender)))
        throw new NatterError("forbidden", "not a member of this channel");
      const r = await db.get<{ last_seq: number }>("UPDATE channels SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", m.channel);
      if (!r) throw new NatterError("not_found", "no such channel");
      await db.run(
        "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        m.channel,
        r.last_seq,
        m.sender,
        m.client_id,
        m.type,
        m.content,
        m.media,
        m.reply_to,
        m.sent_at,
      );
      const row: MessageRow = { ...m, seq: r.last_seq, delivered_at: null, seen_at: null };
      return { message: row, duplicate: false };
    });
  }

  async getMessage(channel: string, seq: number): Promise<MessageRow | null> {
    return this.r.get<MessageRow>(`SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND seq = ?`, channel, seq);
  }

  async messages(channel: string, range: MessageRange): Promise<{ rows: MessageRow[]; has_more: boolean }> {
    const lo = range.after_seq ?? 0;
    const hi = range.before_seq ?? Number.MAX_SAFE_INTEGER;
    const order = range.newest ? "DESC" : "ASC";
    const rows = await this.r.all<MessageRow>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE channel_id = ? AND seq > ? AND seq < ? ORDER BY seq ${order} LIMIT ?`,
      channel,
      lo,
      hi,
      range.limit + 1,
    );
    const has_more = rows.length > range.limit;
    if (has_more) rows.pop();
    if (range.newest) rows.reverse();
    return { rows, has_more };
  }

  async countUnread(channel: string, user: string, after_seq: number, up_to: number): Promise<number> {
    if (up_to <= after_seq) return 0;
    const r = await this.r.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM messages WHERE channel_id = ? AND seq > ? AND seq <= ? AND sender != ?",
      channel,
      after_seq,
      up_to,
      user,
    );
    return r?.n ?? 0;
  }

  async advanceCursor(u: CursorUpdate): Promise<{ delivered_seq: number; seen_seq: number; changed: boolean }> {
    return this.write(async (db) => {
      const cur = await db.get<{ delivered_seq: number; seen_seq: number }>(
        "SELECT delivered_seq, seen_seq FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL",
        u.channel,
        u.user,
      );
      if (!cur) throw new NatterError("forbidden", "not a member of this channel");
      const seen = Math.max(cur.seen_seq, u.seen_seq ?? 0);
      const delivered = Math.max(cur.delivered_seq, u.delivered_seq ?? 0, seen);
      if (seen === cur.seen_seq && delivered === cur.delivered_seq) return { delivered_seq: delivered, seen_seq: seen, changed: false };
      await db.run(
        ADVANCE_CURSOR,
        delivered,
        seen,
        delivered,
        u.at,
        seen,
        u.at,
        u.channel,
        u.user,
      );
      if (delivered > cur.delivered_seq) await stamp(db, "delivered", u.channel, cur.delivered_seq, delivered, u.at);
      if (seen > cur.seen_seq) await stamp(db, "seen", u.channel, cur.seen_seq, seen, u.at);
      return { delivered_seq: delivered, seen_seq: seen, changed: true };
    });
  }

  // ---- media ----

  async createMedia(m: MediaRow): Promise<void> {
    await this.write((db) =>
      db.run(
        "INSERT INTO media (id, uploader, sha256, size, mime, name, width, height, created_at, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        m.id,
        m.uploader,
        m.sha256,
        m.size,
        m.mime,
        m.name,
        m.width,
        m.height,
        m.created_at,
        m.sent,
      ),
    );
  }

  async getMedia(id: string): Promise<MediaRow | null> {
    return this.r.get<MediaRow>(`SELECT ${MEDIA_COLS} FROM media WHERE id = ?`, id);
  }

  async linkMedia(media: string, channel: string, at: number): Promise<void> {
    await this.write(async (db) => {
      if (!(await db.get("SELECT 1 FROM media WHERE id = ?", media))) throw new NatterError("not_found", "no such media");
      await db.run(
        "INSERT INTO media_links (media_id, channel_id, created_at) VALUES (?, ?, ?) ON CONFLICT (media_id, channel_id) DO UPDATE SET created_at = excluded.created_at",
        media,
        channel,
        at,
      );
    });
  }

  async mediaLinks(media: string): Promise<{ channel: string; at: number }[]> {
    return this.r.all("SELECT channel_id AS channel, created_at AS at FROM media_links WHERE media_id = ? ORDER BY created_at", media);
  }

  async mediaVisibleTo(channel: string, media: string, user: string): Promise<boolean> {
    return !!(await this.r.get(
      MEDIA_SHARED_WHILE_MEMBER,
      channel,
      media,
      user,
    ));
  }

  async mediaSentIn(channel: string, media: string): Promise<boolean> {
    return !!(await this.r.get("SELECT 1 FROM messages WHERE channel_id = ? AND media = ? LIMIT 1", channel, media));
  }

  async markMediaSent(id: string): Promise<void> {
    await this.write((db) => db.run("UPDATE media SET sent = 1 WHERE id = ?", id));
  }

  async unsentMedia(before: number, limit: number): Promise<MediaRow[]> {
    return this.r.all<MediaRow>(`SELECT ${MEDIA_COLS} FROM media WHERE sent = 0 AND created_at < ? ORDER BY created_at LIMIT ?`, before, limit);
  }

  async deleteMedia(id: string, linksBefore: number): Promise<boolean> {
    return this.write(async (db) => {
      if (await db.get("SELECT 1 FROM media_links WHERE media_id = ? AND created_at >= ?", id, linksBefore)) return false;
      await db.run("DELETE FROM media_links WHERE media_id = ?", id);
      return (await db.run("DELETE FROM media WHERE id = ?", id)).changes > 0;
    });
  }

  async blobInUse(sha256: string): Promise<boolean> {
    return !!(await this.r.get("SELECT 1 FROM media WHERE sha256 = ? LIMIT 1", sha256));
  }

  async mediaUsage(user: string): Promise<number> {
    return (await this.r.get<{ n: number }>("SELECT COALESCE(SUM(size), 0) AS n FROM media WHERE uploader = ?", user))?.n ?? 0;
  }

  async stats(): Promise<StoreStats> {
    const r = (await this.r.get<Omit<StoreStats, "shards">>(
      "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM channels) AS channels, (SELECT COUNT(*) FROM messages) AS messages, (SELECT COUNT(*) FROM devices) AS devices",
    ))!;
    return { shards: 1, ...r };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.committing) await this.committing;
    this.closed = true;
    this.client.close();
  }
}

async function readChannel(db: Q, id: string): Promise<ChannelState | null> {
  const channel = await db.get<ChannelRow>(`SELECT ${CHANNEL_COLS} FROM channels WHERE id = ?`, id);
  if (!channel) return null;
  const members = await db.all<MemberRow>(`SELECT ${MEMBER_COLS} FROM members WHERE channel_id = ? ORDER BY joined_seq, user_id`, id);
  return { channel, members };
}

async function stamp(db: Q, which: "delivered" | "seen", channel: string, from: number, to: number, at: number): Promise<void> {
  await db.run(
    STAMP[which],
    at,
    channel,
    from,
    to,
  );
}
