// natter admin groups create|list|show|add|remove|invite
import type { Command } from "commander";
import type { AdminGroup as Group } from "../../protocol/index.ts";
import { table, time } from "../table.ts";
import { adminAction } from "./index.ts";

const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);
const enc = encodeURIComponent;

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
    groups.command("invite <group-id>").description("create an invite code for a group"),
    (c, [id]) => c.call<{ invite: string }>("POST", `/admin/groups/${enc(id!)}/invite`),
    (r) => `invite: ${r.invite}\n`,
  );
}
