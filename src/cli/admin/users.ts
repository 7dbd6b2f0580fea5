// natter admin users add|list|show|remove|code
import type { Command } from "commander";
import type { Device, ListedUser, User } from "../../protocol/index.ts";
import { table, time } from "../table.ts";
import { adminAction } from "./index.ts";

const enc = encodeURIComponent;


const listedPhone = (u: ListedUser) => (u.phone_ok ? u.phone : `${u.phone} (not E.164: ${u.phone_e164 ?? "invalid"})`);

export function registerUsers(admin: Command): void {
  const users = admin.command("users").description("manage users");

  adminAction(
    users
      .command("add")
      .description("create a user and print a one-time login code")
      .requiredOption("--name <name>", "display name")
      .requiredOption("--phone <phone>", "phone number (unique)"),
    (c, _a, o) => c.call<{ user: User; code: string }>("POST", "/admin/users", { name: o.name, phone: o.phone }),
    (r, c) =>
      `created ${r.user.name} (${r.user.id}, ${r.user.phone})\nlogin code: ${r.code}\n  natter login --server ${c.server} --code ${r.code}\n`,
  );

  adminAction(
    users.command("list").description("list users (phones stored before E.164 normalisation are marked)"),
    (c) => c.call<{ users: ListedUser[] }>("GET", "/admin/users"),
    (r) => {
      const legacy = r.users.filter((u) => u.phone_ok === false).length;
      const note = legacy ? `\n${legacy} phone(s) stored before E.164 normalisation; see docs/operations.md, "Upgrading: phone numbers"\n` : "";
      return table(["ID", "NAME", "PHONE", "LAST SEEN"], r.users.map((u) => [u.id, u.name, listedPhone(u), time(u.last_seen)])) + note;
    },
  );

  adminAction(
    users.command("show <user-id>").description("show a user, their devices and channels"),
    (c, [id]) => c.call<{ user: User; devices: Device[]; channels: string[]; online: boolean }>("GET", `/admin/users/${enc(id!)}`),
    (r) =>
      `${r.user.name} (${r.user.id})\nphone: ${r.user.phone}\nonline: ${r.online ? "yes" : "no"}  last seen: ${time(r.user.last_seen)}\n` +
      `channels: ${r.channels.length}\ndevices:\n` +
      table(["ID", "NAME", "CREATED"], r.devices.map((d) => [d.id, d.name, time(d.created_at)])),
  );

  adminAction(
    users.command("remove <user-id>").description("delete a user: their devices are logged out, they leave their groups; history stays"),
    async (c, [id]) => ({ ...(await c.call<object>("DELETE", `/admin/users/${enc(id!)}`)), id: id! }),
    (r) => `removed ${r.id}\n`,
  );

  adminAction(
    users.command("code <user-id>").description("print a fresh one-time login code (for another device)"),
    (c, [id]) => c.call<{ code: string }>("POST", `/admin/users/${enc(id!)}/code`),
    (r) => `login code: ${r.code}\n`,
  );
}
