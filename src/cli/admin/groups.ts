// natter admin groups create|list|show|add|remove|invite
import type { Command } from "commander";
import type { Channel } from "../../protocol/index.ts";
import { runCommand } from "../run.ts";
import { table, time } from "../table.ts";
import { adminClient } from "./client.ts";
import { adminOpts } from "./index.ts";

const out = (s: string) => process.stdout.write(s);
const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);
type Group = Channel & { created_by: string };

function showGroup(g: Group): string {
  return (
    `${g.name} (${g.id})\njoin: ${g.join}  created: ${time(g.created_at)}  messages: ${g.last_seq}\n` +
    `admins: ${g.admins.join(", ") || "-"}\nmembers (${g.members.length}): ${g.members.join(", ")}\n`
  );
}

export function registerGroups(admin: Command): void {
  const groups = admin.command("groups").description("manage groups");
  groups
    .command("create")
    .description("create a group owned (administered) by a user")
    .requiredOption("--name <name>", "group name")
    .requiredOption("--owner <user-id>", "the group's first admin")
    .option("--members <ids>", "comma-separated user ids", "")
    .option("--description <text>", "description")
    .option("--open", "anyone may join without an invite")
    .option("--json", "print JSON")
    .action(async (o: { name: string; owner: string; members: string; description?: string; open?: boolean }, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ group: Group }>("POST", "/admin/groups", {
          name: o.name,
          owner: o.owner,
          members: list(o.members),
          description: o.description,
          join: o.open ? "open" : "invite",
        });
        out(opts.json ? JSON.stringify(r) + "\n" : showGroup(r.group));
      });
    });
  groups
    .command("list")
    .description("list groups")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ groups: Group[] }>("GET", "/admin/groups");
        if (opts.json) out(JSON.stringify(r) + "\n");
        else out(table(["ID", "NAME", "MEMBERS", "MESSAGES", "JOIN"], r.groups.map((g) => [g.id, g.name, g.members.length, g.last_seq, g.join])));
      });
    });
  groups
    .command("show <group-id>")
    .description("show a group")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ group: Group }>("GET", `/admin/groups/${encodeURIComponent(id)}`);
        out(opts.json ? JSON.stringify(r) + "\n" : showGroup(r.group));
      });
    });
  groups
    .command("add <group-id> <user-ids...>")
    .description("add members")
    .option("--json", "print JSON")
    .action(async (id: string, users: string[], _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ group: Group }>("POST", `/admin/groups/${encodeURIComponent(id)}/members`, { members: users });
        out(opts.json ? JSON.stringify(r) + "\n" : showGroup(r.group));
      });
    });
  groups
    .command("remove <group-id> <user-id>")
    .description("remove a member")
    .option("--json", "print JSON")
    .action(async (id: string, user: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ group: Group }>(
          "DELETE",
          `/admin/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(user)}`,
        );
        out(opts.json ? JSON.stringify(r) + "\n" : showGroup(r.group));
      });
    });
  groups
    .command("invite <group-id>")
    .description("create an invite code for a group")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ invite: string }>("POST", `/admin/groups/${encodeURIComponent(id)}/invite`);
        out(opts.json ? JSON.stringify(r) + "\n" : `invite: ${r.invite}\n`);
      });
    });
}
