// The scriptable client commands: login, chats, send, history, watch.
import type { Command } from "commander";

/** Registers every client command on the root program. */
export function registerClientCommands(program: Command): void {
  void program;
}
