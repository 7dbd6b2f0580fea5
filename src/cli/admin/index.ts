// `natter admin ...`: the operator's commands over the server's /admin routes.
import type { Command } from "commander";
import { registerUsers } from "./users.ts";
import { registerDevices } from "./devices.ts";
import { registerGroups } from "./groups.ts";
import { registerStats } from "./stats.ts";
import { registerRestore } from "./restore.ts";
import { registerBackup } from "./backup.ts";
import { registerCluster } from "./cluster.ts";
import { adminClient, type AdminClient, type AdminOptions } from "./admin-api.ts";
import { runCommand } from "../run.ts";

export function registerAdmin(program: Command): void {
  const admin = program
    .command("admin")
    .description("administer a natter server (needs the admin token)")
    .option("--server <url>", "server URL (env NATTER_SERVER; default http://127.0.0.1:8080)")
    .option("--data <dir>", "data directory whose admin.token to use (env NATTER_DATA; default ./data)")
    .option("--token-file <file>", "file holding the admin token (or env NATTER_ADMIN_TOKEN; both stay out of ps)")
    .option("--token <token>", "admin token (visible to other local users in ps: prefer --token-file or NATTER_ADMIN_TOKEN)");
  registerUsers(admin);
  registerDevices(admin);
  registerGroups(admin);
  registerStats(admin);
  registerBackup(admin);
  registerCluster(admin);
  registerRestore(admin);
}

/** The admin-level options merged with a subcommand's own (`--json`). */
export function adminOpts(cmd: Command): AdminOptions {
  return cmd.optsWithGlobals() as AdminOptions;
}

/**
 * Gives an admin subcommand its `--json` flag and its action: `call` asks the
 * server (with the subcommand's arguments and own options), and the answer is
 * printed as one JSON object with --json, else as `human` renders it.
 * Errors and exit codes go through runCommand.
 */
export function adminAction<R>(
  cmd: Command,
  call: (admin: AdminClient, args: string[], own: Record<string, any>) => Promise<R>,
  human: (r: R, admin: AdminClient) => string,
): Command {
  return cmd.option("--json", "print JSON").action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const own = params[params.length - 2] as Record<string, any>;
    const args = params.slice(0, -2).flat() as string[];
    const opts = adminOpts(self);
    await runCommand(opts.json, async () => {
      const admin = adminClient(opts);
      const r = await call(admin, args, own);
      process.stdout.write(opts.json ? JSON.stringify(r) + "\n" : human(r, admin));
    });
  });
}
