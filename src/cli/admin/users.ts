// natter admin users add|list|show|remove|code
import type { Command } from "commander";
import type { Device, User } from "../../protocol/index.ts";
import { runCommand } from "../run.ts";
import { table, time } from "../table.ts";
import { adminClient } from "./client.ts";
import { adminOpts } from "./index.ts";

const out = (s: string) => process.stdout.write(s);

export function registerUsers(admin: Command): void {
  const users = admin.command("users").description("manage users");

  users
    .command("add")
    .description("create a user and print a one-time login code")
    .requiredOption("--name <name>", "display name")
    .requiredOption("--phone <phone>", "phone number (unique)")
    .option("--json", "print JSON")
    .action(async (o: { name: string; phone: string }, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const admin = adminClient(opts);
        const r = await admin.call<{ user: User; code: string }>("POST", "/admin/users", { name: o.name, phone: o.phone });
        if (opts.json) out(JSON.stringify(r) + "\n");
        else out(`created ${r.user.name} (${r.user.id}, ${r.user.phone})\nlogin code: ${r.code}\n  natter login --server ${admin.server} --code ${r.code}\n`);
      });
    });

  users
    .command("list")
    .description("list users")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ users: User[] }>("GET", "/admin/users");
        if (opts.json) out(JSON.stringify(r) + "\n");
        else out(table(["ID", "NAME", "PHONE", "LAST SEEN"], r.users.map((u) => [u.id, u.name, u.phone, time(u.last_seen)])));
      });
    });

  users
    .command("show <user-id>")
    .description("show a user, their devices and channels")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ user: User; devices: Device[]; channels: string[]; online: boolean }>(
          "GET",
          `/admin/users/${encodeURIComponent(id)}`,
        );
        if (opts.json) {
          out(JSON.stringify(r) + "\n");
          return;
        }
        out(`${r.user.name} (${r.user.id})\nphone: ${r.user.phone}\nonline: ${r.online ? "yes" : "no"}  last seen: ${time(r.user.last_seen)}\n`);
        out(`channels: ${r.channels.length}\ndevices:\n`);
        out(table(["ID", "NAME", "CREATED"], r.devices.map((d) => [d.id, d.name, time(d.created_at)])));
      });
    });

  users
    .command("remove <user-id>")
    .description("delete a user: their devices are logged out, they leave their groups; history stays")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call("DELETE", `/admin/users/${encodeURIComponent(id)}`);
        out(opts.json ? JSON.stringify(r) + "\n" : `removed ${id}\n`);
      });
    });

  users
    .command("code <user-id>")
    .description("print a fresh one-time login code (for another device)")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ code: string }>("POST", `/admin/users/${encodeURIComponent(id)}/code`);
        out(opts.json ? JSON.stringify(r) + "\n" : `login code: ${r.code}\n`);
      });
    });
}
