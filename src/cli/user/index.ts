// The scriptable client commands: login, chats, send, history, watch, download, privacy, edit, delete, react.
// One file per command: options, parse (tested apart) and run.
import type { Command } from "commander";
import { registerDelete, registerEdit, registerReact } from "./changes.ts";
import { registerChats } from "./chats.ts";
import { registerDownload } from "./download.ts";
import { registerHistory } from "./history.ts";
import { registerLogin } from "./login.ts";
import { registerPrivacy } from "./privacy.ts";
import { registerSend } from "./send.ts";
import { registerWatch } from "./watch.ts";

/** Registers every client command on the root program. */
export function registerClientCommands(program: Command): void {
  registerLogin(program);
  registerChats(program);
  registerSend(program);
  registerHistory(program);
  registerWatch(program);
  registerDownload(program);
  registerPrivacy(program);
  registerEdit(program);
  registerDelete(program);
  registerReact(program);
}
