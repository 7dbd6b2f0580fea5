// /link and /devices: link a new device of this user, list the user's
// devices and revoke one (after a confirmation in the panel). Parsed and run
// here; the panel they open is drawn by components/device-panel.tsx.
import { NatterError, type DeviceEvent, type OwnDevice } from "../../protocol/index.ts";
import type { Parsed } from "./parse.ts";
import type { CommandContext, CommandOutcome } from "./run.ts";

export type DeviceCommand = { kind: "link" } | { kind: "devices"; revoke: string | null };

/** /help lines of the device commands. */
export const DEVICE_COMMAND_HELP: ReadonlyArray<readonly [string, string]> = [
  ["/link", "link a new device: a one-time code (and QR) for natter login"],
  ["/devices [revoke ID]", "your devices; revoke one (asks first)"],
];

/**
 * What the device panel shows: a link code until it expires, or the
 * device list with a selection and, once asked, a pending confirmation.
 */
export type DevicePanel =
  | { kind: "link"; code: string; expiresAt: number }
  | { kind: "devices"; devices: OwnDevice[]; index: number; confirm: boolean; busy?: boolean };

export function isDevicePanel(o: { kind: string } | null): o is DevicePanel {
  return o?.kind === "link" || o?.kind === "devices";
}

/** Parses /link and /devices [revoke ID] (name already lower-cased); null for other names. */
export function parseDeviceCommand(name: string, args: string[]): Parsed | null {
  if (name === "link") {
    if (args.length > 0) return { kind: "error", message: "usage: /link" };
    return { kind: "command", command: { kind: "link" } };
  }
  if (name !== "devices") return null;
  if (args.length === 0) return { kind: "command", command: { kind: "devices", revoke: null } };
  if (args.length === 2 && args[0]!.toLowerCase() === "revoke") return { kind: "command", command: { kind: "devices", revoke: args[1]! } };
  return { kind: "error", message: "usage: /devices [revoke ID]" };
}

/** Runs a device command: asks the server, then opens the panel. */
export async function runDeviceCommand(ctx: CommandContext, cmd: DeviceCommand): Promise<CommandOutcome> {
  if (cmd.kind === "link") {
    const { code, expires_at } = await ctx.client.request("linkDevice", {});
    return { panel: { kind: "link", code, expiresAt: expires_at } };
  }
  const { devices } = await ctx.client.request("listDevices", {});
  if (cmd.revoke === null) return { panel: { kind: "devices", devices, index: Math.max(0, devices.findIndex((d) => d.current)), confirm: false } };
  const index = devices.findIndex((d) => d.id === cmd.revoke);
  if (index === -1) throw new NatterError("not_found", `you have no device ${cmd.revoke} (see /devices)`);
  return { panel: { kind: "devices", devices, index, confirm: true } };
}

/**
 * Revokes the selected device of a confirmed panel; resolves with the panel
 * to show next (the list without it), or null when this device revoked
 * itself (it is logged out, and the client goes offline).
 */
export async function revokeSelected(ctx: Pick<CommandContext, "client" | "notify">, panel: Extract<DevicePanel, { kind: "devices" }>): Promise<DevicePanel | null> {
  const d = panel.devices[panel.index];
  if (!d) return { ...panel, confirm: false };
  await ctx.client.request("revokeDevice", { device: d.id });
  if (d.current) {
    ctx.notify(`revoked this device (${d.name}); you are logged out`);
    return null;
  }
  ctx.notify(`revoked ${d.name}; it is logged out`);
  const { devices } = await ctx.client.request("listDevices", {});
  return { kind: "devices", devices, index: Math.min(panel.index, Math.max(0, devices.length - 1)), confirm: false };
}

/** The notice line for a device event (another device of this user was linked or revoked). */
export function deviceNotice(e: DeviceEvent): string {
  return e.action === "linked" ? `New device linked: ${e.device.name}` : `Device revoked: ${e.device.name}`;
}
