// natter admin groups create|list|show|add|remove|invite|invites|invite-revoke
import type { Command } from "commander";
import type { AdminGroup as Group, AdminResults } from "../../protocol/index.ts";
import { table, time } from "../table.ts";
import { adminAction } from "./index.ts";

const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);
const enc = encodeURIComponent;
/** A number option as the server should see it: digits as a number, anything else as given (the server refuses it). */
const int = (v?: string) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v);

function showGroup({ group: g }: { group: Group }): string {
  return (
    `${g.name} (${g.id})\njoin: ${g.join}  created: ${time(g.created_at)}  messages: ${g.last_seq}\n` +
    `admins: ${g.admins.join(", ") || "-"}\nmembers (${g.members.length}): ${g.members.join(", ")}\n`
  );
}

export function registerGroups(admin: Command): void {
  const groups = admin.command("groups").description("manage groups");
  adminAction(
    groups
      .command("create")
      .description("create a group owned (administered) by a user")
      .requiredOption("--name <name>", "group name")
      .requiredOption("--owner <user-id>", "the group's first admin")
      .option("--members <ids>", "comma-separated user ids", "")
      .option("--description <text>", "description")
      .option("--open", "anyone may join without an invite"),
    (c, _a, o) =>
      c.call<{ group: Group }>("POST", "/admin/groups", {
        name: o.name,
        owner: o.owner,
        members: list(o.members),
        description: o.description,
        join: o.open ? "open" : "invite",
      }),
    showGroup,
  );
  adminAction(
    groups.command("list").description("list groups"),
    (c) => c.call<{ groups: Group[] }>("GET", "/admin/groups"),
    (r) => table(["ID", "NAME", "MEMBERS", "MESSAGES", "JOIN"], r.groups.map((g) => [g.id, g.name, g.members.length, g.last_seq, g.join])),
  );
  adminAction(
    groups.command("show <group-id>").description("show a group"),
    (c, [id]) => c.call<{ group: Group }>("GET", `/admin/groups/${enc(id!)}`),
    showGroup,
  );
  adminAction(
    groups.command("add <group-id> <user-ids...>").description("add members"),
    (c, [id, ...users]) => c.call<{ group: Group }>("POST", `/admin/groups/${enc(id!)}/members`, { members: users }),
    showGroup,
  );
  adminAction(
    groups.command("remove <group-id> <user-id>").description("remove a member"),
    (c, [id, user]) => c.call<{ group: Group }>("DELETE", `/admin/groups/${enc(id!)}/members/${enc(user!)}`),
    showGroup,
  );
  adminAction(
    groups
      .command("invite <group-id>")
      .description("create an invite code for a group")
      .option("--max-uses <n>", "joins it admits (default and most: the server's --invite-max-uses)")
      .option("--expires-in-ms <ms>", "lifetime (default and most: the server's --invite-ttl-ms)"),
    (c, [id], o) =>
      c.call<AdminResults["createInvite"]>("POST", `/admin/groups/${enc(id!)}/invite`, { max_uses: int(o.maxUses), expires_in_ms: int(o.expiresInMs) }),
    (r) => `invite: ${r.invite}\nexpires: ${time(r.expires_at)}  uses: up to ${r.max_uses}\n`,
  );
  adminAction(
    groups.command("invites <group-id>").description("list a group's invites that still admit someone"),
    (c, [id]) => c.call<AdminResults["listInvites"]>("GET", `/admin/groups/${enc(id!)}/invites`),
    (r) =>
      table(
        ["INVITE", "CREATED BY", "CREATED", "EXPIRES", "USES"],
        r.invites.map((i) => [i.invite, i.created_by, time(i.created_at), time(i.expires_at), `${i.uses}/${i.max_uses}`]),
      ),
  );
  adminAction(
    groups.command("invite-revoke <group-id> <invite>").description("revoke an invite: it admits no one from now on"),
    (c, [id, code]) => c.call<AdminResults["revokeInvite"]>("DELETE", `/admin/groups/${enc(id!)}/invites/${enc(code!)}`),
    () => "invite revoked\n",
  );
}
