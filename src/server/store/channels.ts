// Channels: the channel row and its members (with receipt cursors), in
// shard(channel id), invites beside them (invites.ts); and each user's
// channel list, in shard(user id).
// The membership rules (who is added, who may be removed, at which seq, an
// admin always remains) live here once.

import { NatterError } from "../../protocol/index.ts";
import type { Exec, WriteCtx } from "./exec.ts";
import type { ChannelRow, ChannelState, MemberChange, MemberRow } from "./types.ts";

const CHANNEL = "SELECT id, kind, name, description, avatar_url, join_policy AS [join], created_at, created_by, last_seq FROM channels";
const MEMBERS = "SELECT user_id, role, joined_seq, left_seq, earlier, delivered_seq, seen_seq FROM members WHERE channel_id = ? ORDER BY joined_seq, user_id";

// ---- reads ----

/** The channel row and every member row (past members included), or null. */
export async function readChannel(db: Exec, id: string): Promise<ChannelState | null> {
  const channel = await db.get<ChannelRow>(`${CHANNEL} WHERE id = ?`, id);
  if (!channel) return null;
  const members = await db.all<MemberRow & { earlier: string }>(MEMBERS, id);
  return { channel, members: members.map((m) => ({ ...m, earlier: JSON.parse(m.earlier) })) };
}

export const readChannels = (db: Exec) => db.all<ChannelRow>(CHANNEL);

export async function readUserChannels(db: Exec, user: string): Promise<string[]> {
  return (await db.all<{ channel_id: string }>("SELECT channel_id FROM user_channels WHERE user_id = ?", user)).map((r) => r.channel_id);
}

// ---- rules ----

/** What `change` does to `state` (null = no such channel): the seq it happens at and the users it adds. Throws on a broken rule. */
export function planMemberChange(state: ChannelState | null, change: MemberChange): { last: number; fresh: string[] } {
  if (!state) throw new NatterError("not_found", "no such channel");
  const current = new Set(state.members.filter((m) => m.left_seq === null).map((m) => m.user_id));
  if (change.kind === "remove") {
    if (!current.has(change.user)) throw new NatterError("not_found", "not a member of this group");
    return { last: state.channel.last_seq, fresh: [] };
  }
  const fresh = [...new Set(change.users)].filter((u) => !current.has(u));
  if (current.size + fresh.length > change.max)
    throw new NatterError("group_full", `a group holds at most ${change.max} members (it has ${current.size})`);
  return { last: state.channel.last_seq, fresh };
}

// ---- writes (named operations, see write-ops.ts) ----

export const channelWrites = {
  /** Creates the channel with its first members unless it exists; the state either way. */
  async createChannel(c: WriteCtx, a: { c: ChannelRow; members: { user: string; role: "admin" | "member" }[] }): Promise<ChannelState> {
    const existing = await readChannel(c.db, a.c.id);
    if (existing) return existing;
    const ch = a.c;
    await c.db.run(
      "INSERT INTO channels (id, kind, name, description, avatar_url, join_policy, created_at, created_by, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
      ch.id, ch.kind, ch.name, ch.description, ch.avatar_url, ch.join, ch.created_at, ch.created_by,
    );
    for (const m of a.members)
      await c.db.run("INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq) VALUES (?, ?, ?, 0, NULL, 0, 0)", ch.id, m.user, m.role);
    return (await readChannel(c.db, ch.id))!;
  },

  /**
   * Adds (at the channel's last seq, cursors starting there) or removes members; the new state.
   * A past member who is added again keeps their last period in `earlier`.
   */
  async changeMembers(c: WriteCtx, a: { channel: string; change: MemberChange }): Promise<ChannelState> {
    const { db } = c;
    const { channel, change } = a;
    const { last, fresh } = planMemberChange(await readChannel(db, channel), change);
    if (change.kind === "add") {
      for (const u of fresh)
        await db.run(
          `INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq) VALUES (?1, ?2, ?3, ?4, NULL, ?4, ?4)
           ON CONFLICT (channel_id, user_id) DO UPDATE SET role = ?3, joined_seq = ?4, left_seq = NULL, delivered_seq = ?4, seen_seq = ?4,
             earlier = CASE WHEN left_seq > joined_seq THEN json_insert(earlier, '$[#]', json_array(joined_seq, left_seq)) ELSE earlier END`,
          channel, u, change.role, last,
        );
    } else {
      await db.run("UPDATE members SET left_seq = ?, role = 'member' WHERE channel_id = ? AND user_id = ?", last, channel, change.user);
      // A group never stays without an admin: promote the longest-standing member.
      if (!(await db.get("SELECT 1 FROM members WHERE channel_id = ? AND left_seq IS NULL AND role = 'admin'", channel)))
        await db.run(
          `UPDATE members SET role = 'admin' WHERE channel_id = ?1 AND user_id = (
           SELECT user_id FROM members WHERE channel_id = ?1 AND left_seq IS NULL ORDER BY joined_seq, user_id LIMIT 1)`,
          channel,
        );
    }
    return (await readChannel(db, channel))!;
  },

  /** In shard(user): idempotent adds to the user's channel list. */
  async addUserChannels(c: WriteCtx, a: { user: string; channels: string[] }): Promise<void> {
    for (const ch of a.channels) await c.db.run("INSERT OR IGNORE INTO user_channels (user_id, channel_id) VALUES (?, ?)", a.user, ch);
  },
};
