// natter devices link [--json] [--no-qr]: a single-use code that logs a new
// device in as you, with the exact `natter login` line to run there and the
// same line as a QR code.
import type { Command } from "commander";
import { HttpApi, knownServers, loginCommand, terminalQr } from "../../client/index.ts";
import { formatTime, parseSession, processIo, requireSession, runClientCommand, sessionOptions, type Io, type SessionOptions } from "./common.ts";

export interface DevicesLinkOptions extends SessionOptions {
  qr: boolean;
}

export function parseDevicesLinkOptions(raw: Record<string, unknown>): DevicesLinkOptions {
  return { ...parseSession(raw), qr: raw.qr !== false };
}

/** "5 minutes", "1 minute", "40 seconds". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  return `${m} minute${m === 1 ? "" : "s"}`;
}

export async function runDevicesLink(o: DevicesLinkOptions, io: Io = processIo, now: () => number = Date.now): Promise<void> {
  const s = requireSession(o);
  const { code, expires_at } = await new HttpApi(knownServers(s), s.token).devices.link();
  // The new device gets the servers this one was given; it learns the other nodes from hello.
  const servers = s.servers;
  const command = loginCommand(servers, code);
  if (o.json) return io.out(JSON.stringify({ code, expires_at, server: servers[0], servers, command }) + "\n");
  io.out(
    `Link code: ${code} (works once, expires ${formatTime(expires_at)}, in ${duration(expires_at - now())})\n` +
      `On the new device, run:\n\n  ${command}\n\n`,
  );
  if (o.qr) io.out(`${await terminalQr(command)}\nThe QR code holds the same command.\n`);
}

export function registerDevicesLink(devices: Command, run: (o: DevicesLinkOptions) => Promise<void> = runDevicesLink): void {
  const cmd = devices.command("link").description("make a single-use code that logs a new device in as you (printed with a QR code)");
  sessionOptions(cmd)
    .option("--no-qr", "do not print the QR code")
    .action(async (raw: Record<string, unknown>) => {
      await runClientCommand(raw.json === true, async () => run(parseDevicesLinkOptions(raw)));
    });
}
