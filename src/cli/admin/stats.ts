// natter admin stats
import type { Command } from "commander";
import type { AdminStats } from "../../protocol/index.ts";
import { table } from "../table.ts";
import { adminAction } from "./index.ts";

export function registerStats(admin: Command): void {
  adminAction(
    admin.command("stats").description("users, channels, messages, connections"),
    (c) => c.call<AdminStats>("GET", "/admin/stats"),
    (r) => table(["STAT", "VALUE"], Object.entries(r)),
  );
}
