// `natter chat` on the command line: its options (commander); running it is run-chat.tsx.
import { Option, type Command } from "commander";

export interface ChatCommandOptions {
  server?: string;
  profile?: string;
}

/** Registers `natter chat [--server URL] [--profile NAME]`. */
export function registerChat(program: Command): void {
  program
    .command("chat")
    .description("Open the terminal chat client (asks for a server and login code on first run)")
    .option("--server <url>", "server URL, or several nodes' URLs comma-separated (overrides the saved ones; asks for a login code if none is the saved login's)")
    .addOption(new Option("--profile <name>", "credentials profile, for several accounts on one machine").env("NATTER_PROFILE"))
    .action(async (opts: ChatCommandOptions) => {
      // ink turns live rendering off when CI/CONTINUOUS_INTEGRATION is set (read once, when it loads).
      // A person at a real terminal gets the interactive client regardless.
      if (process.stdout.isTTY && process.stdin.isTTY) {
        delete process.env.CI;
        delete process.env.CONTINUOUS_INTEGRATION;
      }
      const { runChat } = await import("./run-chat.tsx");
      const code = await runChat(opts);
      // The screen is restored; do not wait for in-flight requests or timers to wind down.
      process.exit(code);
    });
}
