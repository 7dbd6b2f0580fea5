// `natter admin ...`: the operator's commands over the server's /admin routes.
import type { Command } from "commander";
import { registerUsers } from "./users.ts";
import { registerDevices } from "./devices.ts";
import { registerGroups } from "./groups.ts";
import { registerStats } from "./stats.ts";
import { registerRestore } from "./restore.ts";
import { registerBackup } from "./backup.ts";
import type { AdminOptions } from "./client.ts";

export function registerAdmin(program: Command): void {
  const admin = program
    .command("admin")
    .description("administer a natter server (needs the admin token)")
    .option("--server <url>", "server URL (env NATTER_SERVER; default http://127.0.0.1:8080)")
    .option("--data <dir>", "data directory whose admin.token to use (env NATTER_DATA; default ./data)")
    .option("--token <token>", "admin token (env NATTER_ADMIN_TOKEN)");
  registerUsers(admin);
  registerDevices(admin);
  registerGroups(admin);
  registerStats(admin);
  registerBackup(admin);
  registerRestore(admin);
}

/** The admin-level options merged with a subcommand's own (`--json`). */
export function adminOpts(cmd: Command): AdminOptions {
  return cmd.optsWithGlobals() as AdminOptions;
}
