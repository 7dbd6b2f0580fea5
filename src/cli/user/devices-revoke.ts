// natter devices revoke ID [--json]: logs one of your devices out for good.
// Revoking this device also removes its saved login.
import type { Command } from "commander";
import { HttpApi, knownServers, removeCredentials } from "../../client/index.ts";
import { CliError, EXIT } from "../run.ts";
import { parseSession, processIo, requireSession, runClientCommand, sessionOptions, type Io, type SessionOptions } from "./common.ts";

export interface DevicesRevokeOptions extends SessionOptions {
  device: string;
}

export function parseDevicesRevokeOptions(raw: Record<string, unknown>, device: string | undefined): DevicesRevokeOptions {
  if (!device) throw new CliError("missing device ID (see natter devices)", EXIT.usage);
  return { ...parseSession(raw), device };
}

export async function runDevicesRevoke(o: DevicesRevokeOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  const target = (await api.devices.list()).find((d) => d.id === o.device);
  await api.devices.revoke(o.device); // not_found for an id that is not yours
  const self = target?.current === true;
  if (self) removeCredentials(o.profile);
  const device = target ?? { id: o.device };
  if (o.json) return io.out(JSON.stringify({ revoked: device, this_device: self }) + "\n");
  const name = target ? `${target.name} (${target.id})` : o.device;
  io.out(self ? `Revoked this device, ${name}; you are logged out here.\n` : `Revoked ${name}; it is logged out.\n`);
}

export function registerDevicesRevoke(devices: Command, run: (o: DevicesRevokeOptions) => Promise<void> = runDevicesRevoke): void {
  const cmd = devices.command("revoke").argument("[id]", "the device to log out (see natter devices)").description("log one of your devices out for good (this one too)");
  sessionOptions(cmd).action(async (id: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw.json === true, async () => run(parseDevicesRevokeOptions(raw, id)));
  });
}
