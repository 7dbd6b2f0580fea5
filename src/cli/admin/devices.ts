// natter admin devices list|revoke
import type { Command } from "commander";
import type { Device } from "../../protocol/index.ts";
import { runCommand } from "../run.ts";
import { table, time } from "../table.ts";
import { adminClient } from "./client.ts";
import { adminOpts } from "./index.ts";

const out = (s: string) => process.stdout.write(s);

export function registerDevices(admin: Command): void {
  const devices = admin.command("devices").description("manage a user's devices");
  devices
    .command("list <user-id>")
    .description("list a user's logged-in devices")
    .option("--json", "print JSON")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<{ devices: Device[] }>("GET", `/admin/users/${encodeURIComponent(user)}/devices`);
        if (opts.json) out(JSON.stringify(r) + "\n");
        else out(table(["ID", "NAME", "CREATED"], r.devices.map((d) => [d.id, d.name, time(d.created_at)])));
      });
    });
  devices
    .command("revoke <device-id>")
    .description("log a device out now (its token dies, its connections close); other devices are untouched")
    .option("--json", "print JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call("DELETE", `/admin/devices/${encodeURIComponent(id)}`);
        out(opts.json ? JSON.stringify(r) + "\n" : `revoked ${id}\n`);
      });
    });
}
