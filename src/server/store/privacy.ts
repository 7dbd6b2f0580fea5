// Privacy settings and the group-creation log, both in shard(user id) beside
// the user row: who may find the user by phone and add them to groups (no row
// = the defaults), and the groups the user created in the last window, which
// caps group creation. The cap is taken inside one write in the user's shard,
// whose single writer (a cluster's shard owner) orders every take: the count
// is exact however many nodes or devices create at once.

import type { Privacy, PrivacyAudience } from "../../protocol/index.ts";
import type { Exec, WriteCtx } from "./exec.ts";

/** The settings of a user who never set any: today's behaviour (and WhatsApp's default). */
export const DEFAULT_PRIVACY: Privacy = { find_by_phone: "everyone", add_to_groups: "everyone" };

// ---- reads ----

export async function readPrivacy(db: Exec, user: string): Promise<Privacy> {
  const row = await db.get<Privacy>("SELECT find_by_phone, add_to_groups FROM privacy WHERE user_id = ?", user);
  return row ? { find_by_phone: row.find_by_phone, add_to_groups: row.add_to_groups } : { ...DEFAULT_PRIVACY };
}

/** True if `user` sent at least one message in `channel` (the messages_client index answers it). */
export async function hasSent(db: Exec, channel: string, user: string): Promise<boolean> {
  return !!(await db.get("SELECT 1 FROM messages WHERE channel_id = ? AND sender = ? LIMIT 1", channel, user));
}

// ---- writes (named operations, see write-ops.ts) ----

export const privacyWrites = {
  /** Sets the given settings (the others keep their value); returns them all. */
  async setPrivacy(c: WriteCtx, a: { user: string; find_by_phone?: PrivacyAudience; add_to_groups?: PrivacyAudience }): Promise<Privacy> {
    const now = await readPrivacy(c.db, a.user);
    const next: Privacy = { find_by_phone: a.find_by_phone ?? now.find_by_phone, add_to_groups: a.add_to_groups ?? now.add_to_groups };
    await c.db.run(
      "INSERT INTO privacy (user_id, find_by_phone, add_to_groups) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET find_by_phone = excluded.find_by_phone, add_to_groups = excluded.add_to_groups",
      a.user,
      next.find_by_phone,
      next.add_to_groups,
    );
    return next;
  },

  /**
   * Records that `user` creates group `channel` at `at`, unless they created `max` groups in the
   * window (at - windowMs, at]. Returns 0 when recorded (or when this channel was recorded before:
   * a retry takes no second slot), else the ms until a slot frees. Rows that left the window go.
   */
  async takeGroupSlot(c: WriteCtx, a: { user: string; channel: string; at: number; windowMs: number; max: number }): Promise<number> {
    await c.db.run("DELETE FROM group_creations WHERE user_id = ? AND created_at <= ?", a.user, a.at - a.windowMs);
    if (await c.db.get("SELECT 1 FROM group_creations WHERE user_id = ? AND channel_id = ?", a.user, a.channel)) return 0;
    const n = (await c.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM group_creations WHERE user_id = ?", a.user))?.n ?? 0;
    if (n >= a.max) {
      // A slot frees when the (n - max + 1)-th oldest leaves the window (n > max if the cap was lowered).
      const row = await c.db.get<{ created_at: number }>(
        "SELECT created_at FROM group_creations WHERE user_id = ? ORDER BY created_at LIMIT 1 OFFSET ?",
        a.user,
        n - a.max,
      );
      return Math.max(1, (row?.created_at ?? a.at) + a.windowMs - a.at);
    }
    await c.db.run("INSERT INTO group_creations (user_id, channel_id, created_at) VALUES (?, ?, ?)", a.user, a.channel, a.at);
    return 0;
  },
};
