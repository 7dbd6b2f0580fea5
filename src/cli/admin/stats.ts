// natter admin stats
import type { Command } from "commander";
import { runCommand } from "../run.ts";
import { table } from "../table.ts";
import { adminClient } from "./client.ts";
import { adminOpts } from "./index.ts";

export function registerStats(admin: Command): void {
  admin
    .command("stats")
    .description("users, channels, messages, connections")
    .option("--json", "print JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const opts = adminOpts(cmd);
      await runCommand(opts.json, async () => {
        const r = await adminClient(opts).call<Record<string, number>>("GET", "/admin/stats");
        process.stdout.write(opts.json ? JSON.stringify(r) + "\n" : table(["STAT", "VALUE"], Object.entries(r)));
      });
    });
}
