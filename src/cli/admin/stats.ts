// natter admin stats
import type { Command } from "commander";
import { table } from "../table.ts";
import { adminAction } from "./index.ts";

export function registerStats(admin: Command): void {
  adminAction(
    admin.command("stats").description("users, channels, messages, connections"),
    (c) => c.call<Record<string, number>>("GET", "/admin/stats"),
    (r) => table(["STAT", "VALUE"], Object.entries(r)),
  );
}
