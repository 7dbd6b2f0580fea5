// Accounts: users (user-keyed), the phone index (phone-keyed), devices
// (user-keyed), the token index (token-keyed) and login codes (code-keyed).
// Each function touches one shard; sharded-store.ts orders them across shards
// (source of truth first, see docs/architecture.md "Data").

import { NatterError } from "../../protocol/index.ts";
import type { Exec, WriteCtx } from "./exec.ts";
import type { DeviceRow, UserRow } from "./types.ts";

const USER = "SELECT id, name, phone, created_at, last_seen FROM users";
const DEVICE = "SELECT id, user_id, name, created_at FROM devices";

// ---- reads ----

export const readUser = (db: Exec, id: string) => db.get<UserRow>(`${USER} WHERE id = ?`, id);

export async function phoneOwner(db: Exec, phone: string): Promise<string | null> {
  return (await db.get<{ user_id: string }>("SELECT user_id FROM phones WHERE phone = ?", phone))?.user_id ?? null;
}

export const readUsers = (db: Exec) => db.all<UserRow>(USER);

export const readToken = (db: Exec, tokenHash: string) =>
  db.get<{ user_id: string; device_id: string }>("SELECT user_id, device_id FROM tokens WHERE token_hash = ?", tokenHash);

/** The device row is the source of truth: a token is valid only while its device row names it. */
export async function deviceHoldsToken(db: Exec, device: string, tokenHash: string): Promise<boolean> {
  return !!(await db.get("SELECT 1 FROM devices WHERE id = ? AND token_hash = ?", device, tokenHash));
}

export const readDevice = (db: Exec, user: string, device: string) => db.get<DeviceRow>(`${DEVICE} WHERE id = ? AND user_id = ?`, device, user);
export const readDevices = (db: Exec, user: string) => db.all<DeviceRow>(`${DEVICE} WHERE user_id = ? ORDER BY created_at, id`, user);
export const findDeviceRow = (db: Exec, device: string) => db.get<DeviceRow>(`${DEVICE} WHERE id = ?`, device);

export async function holdsTokensOf(db: Exec, device: string): Promise<boolean> {
  return !!(await db.get("SELECT 1 FROM tokens WHERE device_id = ?", device));
}

// ---- writes (named operations, see write-ops.ts) ----

export const accountWrites = {
  /** In shard(phone). Throws conflict if another existing user holds the phone. */
  async claimPhone(c: WriteCtx, a: { phone: string; user: string }): Promise<void> {
    const owner = await phoneOwner(c.db, a.phone);
    // A claim whose user row never got written (crash in between) is stale: take it over.
    if (owner && owner !== a.user && (await c.dbOf(owner).get("SELECT 1 FROM users WHERE id = ?", owner)))
      throw new NatterError("conflict", `phone ${a.phone} is already registered`);
    await c.db.run("INSERT OR REPLACE INTO phones (phone, user_id) VALUES (?, ?)", a.phone, a.user);
  },

  /** claimPhone and insertUser in one commit, for a phone and a user id in the same shard. */
  async createUser(c: WriteCtx, u: UserRow): Promise<void> {
    await accountWrites.claimPhone(c, { phone: u.phone, user: u.id });
    await accountWrites.insertUser(c, u);
  },

  async insertUser(c: WriteCtx, u: UserRow): Promise<void> {
    await c.db.run("INSERT OR IGNORE INTO users (id, name, phone, created_at, last_seen) VALUES (?, ?, ?, ?, ?)", u.id, u.name, u.phone, u.created_at, u.last_seen);
  },

  /** In shard(user): the user row, its devices, its channel list, its privacy settings and group-creation log. */
  async deleteUserRows(c: WriteCtx, a: { id: string }): Promise<void> {
    await c.db.run("DELETE FROM users WHERE id = ?", a.id);
    await c.db.run("DELETE FROM devices WHERE user_id = ?", a.id);
    await c.db.run("DELETE FROM user_channels WHERE user_id = ?", a.id);
    await c.db.run("DELETE FROM privacy WHERE user_id = ?", a.id);
    await c.db.run("DELETE FROM group_creations WHERE user_id = ?", a.id);
  },

  async releasePhone(c: WriteCtx, a: { phone: string; user: string }): Promise<void> {
    await c.db.run("DELETE FROM phones WHERE phone = ? AND user_id = ?", a.phone, a.user);
  },

  async setLastSeen(c: WriteCtx, a: { user: string; at: number }): Promise<void> {
    await c.db.run("UPDATE users SET last_seen = ? WHERE id = ?", a.at, a.user);
  },

  async createLoginCode(c: WriteCtx, a: { codeHash: string; user: string; expiresAt: number }): Promise<void> {
    await c.db.run("INSERT INTO login_codes (code_hash, user_id, expires_at) VALUES (?, ?, ?)", a.codeHash, a.user, a.expiresAt);
  },

  /** Deletes the code; its user if it had not expired at `now`. */
  async consumeLoginCode(c: WriteCtx, a: { codeHash: string; now: number }): Promise<string | null> {
    const row = await c.db.get<{ user_id: string; expires_at: number }>("DELETE FROM login_codes WHERE code_hash = ? RETURNING user_id, expires_at", a.codeHash);
    if (!row || row.expires_at < a.now) return null;
    return row.user_id;
  },

  async insertDevice(c: WriteCtx, a: { d: DeviceRow; tokenHash: string }): Promise<void> {
    await c.db.run("INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)", a.d.id, a.d.user_id, a.d.name, a.tokenHash, a.d.created_at);
  },

  async insertToken(c: WriteCtx, a: { tokenHash: string; user: string; device: string }): Promise<void> {
    await c.db.run("INSERT INTO tokens (token_hash, user_id, device_id) VALUES (?, ?, ?)", a.tokenHash, a.user, a.device);
  },

  async deleteDevice(c: WriteCtx, a: { device: string }): Promise<void> {
    await c.db.run("DELETE FROM devices WHERE id = ?", a.device);
  },

  async deleteTokensOf(c: WriteCtx, a: { device: string }): Promise<void> {
    await c.db.run("DELETE FROM tokens WHERE device_id = ?", a.device);
  },
};
