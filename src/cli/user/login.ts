// natter login --server URL[,URL...] --code CODE [--device NAME]
import { Option, type Command } from "commander";
import { hostname } from "node:os";
import { DEFAULT_PROFILE, login, saveCredentials } from "../../client/index.ts";
import { CliError, EXIT, runCommand } from "../run.ts";
import { serverUrls } from "../server-url.ts";
import { processIo, type Io } from "./common.ts";

export interface LoginOptions {
  /** The server URLs given (one, or several nodes of a cluster). */
  servers: string[];
  code: string;
  device: string;
  profile: string;
  json: boolean;
}

export function parseLoginOptions(raw: Record<string, unknown>): LoginOptions {
  const server = typeof raw.server === "string" ? raw.server : "";
  const code = typeof raw.code === "string" ? raw.code.trim() : "";
  if (!server) throw new CliError("--server URL is required (or set NATTER_SERVER)", EXIT.usage);
  if (!code) throw new CliError("--code CODE is required (run `natter devices link` on a device already logged in, or ask your admin for a login code)", EXIT.usage);
  const device = typeof raw.device === "string" && raw.device.trim() ? raw.device.trim() : hostname() || "device";
  const profile = typeof raw.profile === "string" && raw.profile ? raw.profile : DEFAULT_PROFILE;
  return { servers: serverUrls(server), code, device, profile, json: raw.json === true };
}

/** Exchanges the code for a device token (at the first server that answers) and saves it with every server given (mode 0600). */
export async function runLogin(o: LoginOptions, io: Io = processIo): Promise<void> {
  const { servers } = o;
  const r = await login(servers, o.code, o.device);
  const path = saveCredentials({ server: servers[0]!, servers, token: r.token, user: r.user, device: r.device }, o.profile);
  if (o.json) io.out(JSON.stringify({ user: r.user, device: r.device, server: servers[0], servers, profile: o.profile, path }) + "\n");
  else io.out(`Logged in as ${r.user.name} (${r.user.phone}, ${r.user.id}) on device "${r.device.name}".\nCredentials saved to ${path}\n`);
}

export function registerLogin(program: Command, run: (o: LoginOptions) => Promise<void> = runLogin): void {
  program
    .command("login")
    .description("log this device in with a one-time code (from `natter devices link` on another of your devices, or from your admin) and save its credentials")
    .addOption(new Option("--server <url>", "server URL, e.g. https://chat.example.org; several nodes of a cluster comma-separated").env("NATTER_SERVER"))
    .option("--code <code>", "one-time login code (required)")
    .option("--device <name>", "name of this device (default: the hostname)")
    .addOption(new Option("--profile <name>", "save under this profile").env("NATTER_PROFILE").default(DEFAULT_PROFILE))
    .option("--json", "print JSON", false)
    .action(async (raw: Record<string, unknown>) => {
      await runCommand(raw.json === true, async () => run(parseLoginOptions(raw)));
    });
}
