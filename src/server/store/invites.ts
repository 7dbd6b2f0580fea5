// Invites, in shard(channel id) beside their channel: each has an expiry, a
// use limit and may be revoked; a member removed by an admin is barred from
// every invite committed before the removal (invite_bars). The rule that says
// whether an invite admits a user lives here once, checked inside the commit
// that adds the member and counts the use.
//
// Bars and invites are ordered by commit, not by the clock: an invite's
// created_at is past every bar of its channel, and a bar's barred_at is at
// least every invite's created_at, so "created_at <= barred_at" means
// "committed before the removal" even within one millisecond.

import { NatterError } from "../../protocol/index.ts";
import { channelWrites } from "./channels.ts";
import type { Exec, WriteCtx } from "./exec.ts";
import type { ChannelState, InviteRow, NewInvite } from "./types.ts";

const INVITE = "SELECT code, channel_id, created_by, created_at, expires_at, max_uses, uses, revoked_at FROM invites";

// ---- reads ----

export async function readInvite(db: Exec, channel: string, code: string): Promise<InviteRow | null> {
  return (await db.get<InviteRow>(`${INVITE} WHERE code = ? AND channel_id = ?`, code, channel)) ?? null;
}

/** The channel's invites that still admit someone at `now` (not revoked, expired or used up), oldest first. */
export async function readLiveInvites(db: Exec, channel: string, now: number): Promise<InviteRow[]> {
  return db.all<InviteRow>(`${INVITE} WHERE channel_id = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses ORDER BY created_at, code`, channel, now);
}

// ---- rules ----

/** Why `invite` does not admit a user barred at `barredAt` (null: never barred) at `now`; null if it does. */
export function inviteRefusal(invite: InviteRow | null, barredAt: number | null, now: number): string | null {
  if (!invite) return "not an invite of this group";
  if (invite.revoked_at !== null) return "this invite was revoked";
  if (now >= invite.expires_at) return "this invite has expired";
  if (invite.uses >= invite.max_uses) return `this invite is used up (${invite.max_uses} of ${invite.max_uses} uses)`;
  if (barredAt !== null && invite.created_at <= barredAt)
    return "you were removed from this group: an admin can add you back or give you a new invite";
  return null;
}

// ---- writes (named operations, see write-ops.ts) ----

export const inviteWrites = {
  async createInvite(c: WriteCtx, a: NewInvite): Promise<void> {
    await c.db.run(
      `INSERT INTO invites (code, channel_id, created_by, created_at, expires_at, max_uses, uses)
       VALUES (?1, ?2, ?3, MAX(?4, COALESCE((SELECT MAX(barred_at) + 1 FROM invite_bars WHERE channel_id = ?2), 0)), ?5, ?6, 0)`,
      a.code, a.channel, a.by, a.at, a.expires_at, a.max_uses,
    );
  },

  /**
   * Adds `user` to the channel through invite `code` and counts one use, in one commit; a user
   * already a member is answered with the state and no use. Throws forbidden (saying why) if the
   * invite does not admit the user, group_full past `max`; nothing changes then.
   */
  async joinByInvite(c: WriteCtx, a: { channel: string; code: string; user: string; at: number; max: number }): Promise<ChannelState> {
    const bar = await c.db.get<{ barred_at: number }>("SELECT barred_at FROM invite_bars WHERE channel_id = ? AND user_id = ?", a.channel, a.user);
    const why = inviteRefusal(await readInvite(c.db, a.channel, a.code), bar?.barred_at ?? null, a.at);
    if (why) throw new NatterError("forbidden", why);
    const member = await c.db.get("SELECT 1 FROM members WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL", a.channel, a.user);
    const state = await channelWrites.changeMembers(c, { channel: a.channel, change: { kind: "add", users: [a.user], role: "member", at: a.at, max: a.max } });
    if (!member) await c.db.run("UPDATE invites SET uses = uses + 1 WHERE code = ? AND channel_id = ?", a.code, a.channel);
    return state;
  },

  /** Revokes the channel's invite `code` (again: no change); false if the channel has no such invite. */
  async revokeInvite(c: WriteCtx, a: { channel: string; code: string; at: number }): Promise<boolean> {
    if (!(await readInvite(c.db, a.channel, a.code))) return false;
    await c.db.run("UPDATE invites SET revoked_at = ? WHERE code = ? AND channel_id = ? AND revoked_at IS NULL", a.at, a.code, a.channel);
    return true;
  },

  /**
   * Removes `user` (as changeMembers does) and closes their way back in, in one commit: the
   * invites they created in the channel are revoked and no invite committed before this one admits
   * them. Throws not_found if they are not a current member.
   */
  async removeAndBar(c: WriteCtx, a: { channel: string; user: string; at: number }): Promise<ChannelState> {
    const state = await channelWrites.changeMembers(c, { channel: a.channel, change: { kind: "remove", user: a.user, at: a.at } });
    await c.db.run("UPDATE invites SET revoked_at = ? WHERE channel_id = ? AND created_by = ? AND revoked_at IS NULL", a.at, a.channel, a.user);
    await c.db.run(
      `INSERT INTO invite_bars (channel_id, user_id, barred_at)
       VALUES (?1, ?2, MAX(?3, COALESCE((SELECT MAX(created_at) FROM invites WHERE channel_id = ?1), 0)))
       ON CONFLICT (channel_id, user_id) DO UPDATE SET barred_at = excluded.barred_at`,
      a.channel, a.user, a.at,
    );
    return state;
  },
};
