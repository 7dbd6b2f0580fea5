#!/usr/bin/env bun
// natter's one command line: server, admin, scriptable client and TUI.
// Each command group registers itself; errors map to exit codes in run.ts.
import { Command } from "commander";
import { registerServe } from "./serve.ts";
import { registerAdmin } from "./admin/index.ts";
import { registerClientCommands } from "./user/index.ts";
import { registerDevices } from "./user/devices.ts";
import { registerChat } from "../tui/register-chat.ts";
import { VERSION } from "../version.ts";

export function buildProgram(): Command {
  const program = new Command("natter")
    .description("Self-hosted messenger: server, terminal chat client and admin CLI")
    .version(VERSION)
    .showHelpAfterError();
  registerServe(program);
  registerAdmin(program);
  registerClientCommands(program);
  registerDevices(program);
  registerChat(program);
  return program;
}

if (import.meta.main) {
  const program = buildProgram();
  // Usage errors (unknown option, missing argument) exit 2; --help and --version exit 0.
  const usageExits = (c: Command): void => {
    c.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
    c.commands.forEach(usageExits);
  };
  usageExits(program);
  await program.parseAsync(process.argv);
}
