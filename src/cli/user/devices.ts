// natter devices [list] [--json]: this user's devices; `link` and `revoke`
// are subcommands (devices-link.ts, devices-revoke.ts).
import type { Command } from "commander";
import { HttpApi, knownServers } from "../../client/index.ts";
import type { OwnDevice } from "../../protocol/index.ts";
import { formatTime, parseSession, processIo, requireSession, runClientCommand, sessionOptions, table, type Io, type SessionOptions } from "./common.ts";
import { registerDevicesLink } from "./devices-link.ts";
import { registerDevicesRevoke } from "./devices-revoke.ts";

export type DevicesOptions = SessionOptions;

export function parseDevicesOptions(raw: Record<string, unknown>): DevicesOptions {
  return parseSession(raw);
}

/** Rows of the devices table (header first), oldest first as the server lists them. */
export function devicesTable(devices: OwnDevice[]): string[][] {
  return [["ID", "NAME", "LINKED", ""], ...devices.map((d) => [d.id, d.name, formatTime(d.created_at), d.current ? "(this device)" : ""])];
}

export async function runDevices(o: DevicesOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const devices = await new HttpApi(knownServers(s), s.token).devices.list();
  if (o.json) return io.out(JSON.stringify({ devices }) + "\n");
  io.out(table(devicesTable(devices)));
}

/** Registers `natter devices` (list, the default), `devices link` and `devices revoke`. */
export function registerDevices(program: Command, run: (o: DevicesOptions) => Promise<void> = runDevices): Command {
  const devices = program.command("devices").description("your devices: list them, link a new one, revoke one");
  const list = devices.command("list", { isDefault: true }).description("list your devices (the default)");
  sessionOptions(list).action(async (raw: Record<string, unknown>) => {
    await runClientCommand(raw.json === true, async () => run(parseDevicesOptions(raw)));
  });
  registerDevicesLink(devices);
  registerDevicesRevoke(devices);
  return devices;
}
