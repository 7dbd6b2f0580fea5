// The operator's operations (the /admin routes): users, login codes, devices,
// groups and stats. Group changes go through the same rules as users' ops
// (limits hold, members are told), acting as the operator instead of a member.

import { type AdminGroup, type AdminParams, type AdminResults, type AdminStats } from "../../protocol/index.ts";
import type { Store } from "../store/types.ts";
import type { Accounts } from "./accounts.ts";
import type { Chat } from "./chat.ts";
import type { Delivery } from "./ports.ts";

/** This node's own numbers for the stats: open connections, uptime, memory. */
export type NodeStats = Pick<AdminStats, "connections" | "uptime_ms" | "rss_bytes">;

const OPERATOR = { admin: true } as const;

export class Admin {
  constructor(
    private readonly store: Store,
    private readonly accounts: Accounts,
    private readonly chat: Chat,
    private readonly delivery: Delivery,
    private readonly node: () => NodeStats,
  ) {}

  /** A new user and their first login code; conflict if the phone is taken, bad_request for a bad name or phone. */
  createUser(p: AdminParams["createUser"]): Promise<AdminResults["createUser"]> {
    return this.accounts.createUser(p.name, p.phone);
  }

  async listUsers(): Promise<AdminResults["listUsers"]> {
    return { users: await this.accounts.listUsers() };
  }

  /** The user, their devices and channels, and whether they are connected; not_found if there is no such user. */
  async showUser(id: string): Promise<AdminResults["showUser"]> {
    const user = await this.accounts.getUser(id);
    return { user, devices: await this.accounts.listDevices(id), channels: await this.store.userChannels(id), online: this.delivery.isOnline(id) };
  }

  /**
   * Deletes a user: they leave every group they are in (members are told), then
   * their account, devices and tokens go and their connections close (4401).
   * Channels and history stay. not_found if there is no such user.
   */
  async deleteUser(id: string): Promise<AdminResults["deleteUser"]> {
    const user = await this.accounts.getUser(id);
    for (const c of await this.store.userChannels(user.id)) {
      const s = await this.store.getChannel(c);
      if (s?.channel.kind === "group" && s.members.some((m) => m.user_id === user.id && m.left_seq === null))
        await this.chat.removeMember(OPERATOR, c, user.id);
    }
    await this.store.deleteUser(user.id);
    this.delivery.closeUser(user.id, 4401, "user removed");
    return { ok: true };
  }

  /** A fresh one-time login code (for another device); not_found if there is no such user. */
  async loginCode(user: string): Promise<AdminResults["loginCode"]> {
    return { code: await this.accounts.newCode(user) };
  }

  async listDevices(user: string): Promise<AdminResults["listDevices"]> {
    return { devices: await this.accounts.listDevices(user) };
  }

  /** Logs a device out now (token dead, connections closed); not_found if there is no such device. */
  async revokeDevice(device: string): Promise<AdminResults["revokeDevice"]> {
    await this.accounts.revokeDevice(device);
    return { ok: true };
  }

  /** A group whose first admin is `owner`; not_found for an unknown owner or member, group_full past the limit. */
  async createGroup(p: AdminParams["createGroup"]): Promise<AdminResults["createGroup"]> {
    const { owner, ...group } = p;
    const { channel } = await this.chat.createGroup(owner, group, "operator"); // the operator is held to no user's privacy or cap
    return { group: await this.group(channel.id) };
  }

  async listGroups(): Promise<AdminResults["listGroups"]> {
    const groups: AdminGroup[] = [];
    for (const r of await this.store.listChannels()) if (r.kind === "group") groups.push(await this.group(r.id));
    return { groups };
  }

  async showGroup(id: string): Promise<AdminResults["showGroup"]> {
    return { group: await this.group(id) };
  }

  async addMembers(id: string, p: AdminParams["addMembers"]): Promise<AdminResults["addMembers"]> {
    await this.chat.addMembers(OPERATOR, id, p.members ?? []);
    return { group: await this.group(id) };
  }

  async removeMember(id: string, user: string): Promise<AdminResults["removeMember"]> {
    await this.chat.removeMember(OPERATOR, id, user);
    return { group: await this.group(id) };
  }

  /** An invite with the given limits (the server's by default); bad_request above them. */
  createInvite(id: string, p: AdminParams["createInvite"] = {}): Promise<AdminResults["createInvite"]> {
    return this.chat.createInvite(OPERATOR, { ...p, channel: id });
  }

  async listInvites(id: string): Promise<AdminResults["listInvites"]> {
    return { invites: await this.chat.listInvites(OPERATOR, id) };
  }

  /** Revokes the invite; not_found if the group has no such invite. */
  async revokeInvite(id: string, invite: string): Promise<AdminResults["revokeInvite"]> {
    await this.chat.revokeInvite(OPERATOR, id, invite);
    return { ok: true };
  }

  async stats(): Promise<AdminResults["stats"]> {
    return { ...(await this.store.stats()), ...this.node() };
  }

  /** A channel as the operator sees it: every member, no cursors of anyone's, the whole seq range. */
  private async group(id: string): Promise<AdminGroup> {
    const s = await this.chat.channel(id);
    const v = await this.chat.view(s, "");
    return { ...v, last_seq: s.channel.last_seq, created_by: s.channel.created_by };
  }
}
