// natter admin devices list|revoke
import type { Command } from "commander";
import type { Device } from "../../protocol/index.ts";
import { table, time } from "../table.ts";
import { adminAction } from "./index.ts";

export function registerDevices(admin: Command): void {
  const devices = admin.command("devices").description("manage a user's devices");
  adminAction(
    devices.command("list <user-id>").description("list a user's logged-in devices"),
    (c, [user]) => c.call<{ devices: Device[] }>("GET", `/admin/users/${encodeURIComponent(user!)}/devices`),
    (r) => table(["ID", "NAME", "CREATED"], r.devices.map((d) => [d.id, d.name, time(d.created_at)])),
  );
  adminAction(
    devices.command("revoke <device-id>").description("log a device out now (its token dies, its connections close); other devices are untouched"),
    async (c, [id]) => ({ ...(await c.call<object>("DELETE", `/admin/devices/${encodeURIComponent(id!)}`)), id: id! }),
    (r) => `revoked ${r.id}\n`,
  );
}
