// Slash commands, first half: what was typed in the composer becomes a
// message, a command, or a usage error (run.ts runs the command). Text that
// does not start with "/" is a message; "//x" sends "/x".
import { groupPhoneWords, looksLikePhone } from "../../protocol/phone.ts";
import { DEVICE_COMMAND_HELP, parseDeviceCommand, type DeviceCommand } from "./devices.ts";

export type ChatCommand =
  | { kind: "new"; phone: string }
  | { kind: "group"; name: string; phones: string[] }
  | { kind: "add"; phones: string[] }
  | { kind: "kick"; phone: string }
  | { kind: "leave" }
  | { kind: "invite" }
  | { kind: "join"; channel: string; invite?: string }
  | { kind: "retry" }
  /** `path` is the first (possibly quoted) word; `whole` all of the arguments, for a path with unquoted spaces. */
  | { kind: "file"; path: string; caption: string; whole: string }
  /** media null: the newest file in the open chat; path null: the current directory. */
  | { kind: "save"; media: string | null; path: string | null }
  | { kind: "help" }
  | { kind: "quit" }
  | DeviceCommand;

export type Parsed =
  | { kind: "message"; text: string }
  | { kind: "command"; command: ChatCommand }
  | { kind: "error"; message: string };

/** One line per command, for /help and the docs. */
export const COMMAND_HELP: ReadonlyArray<readonly [string, string]> = [
  ["/new PHONE", "open a direct chat with someone"],
  ["/group NAME PHONE...", "create a group with these people"],
  ["/add PHONE...", "add people to this group (admins)"],
  ["/kick PHONE", "remove someone from this group (admins)"],
  ["/leave", "leave this group"],
  ["/invite", "create an invite code for this group (admins)"],
  ["/join GROUP_ID [CODE]", "join a group with an invite code"],
  ["/file PATH [CAPTION]", "send a file (photo, video, audio, any file)"],
  ["/save [MEDIA] [PATH]", "save a file from this chat (default: the newest)"],
  ["/retry", "reconnect now; resend failed messages (Ctrl-R)"],
  ...DEVICE_COMMAND_HELP,
  ["/help", "show commands and keys"],
  ["/quit", "leave natter chat (also Ctrl-C)"],
];

/** Splits on spaces, honouring "double quoted words". */
export function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2]!);
  return out;
}

/** A media id as the server makes them (`m_` and lowercase letters and digits). */
export const MEDIA_ID = /^m_[a-z0-9]{1,64}$/;

/**
 * Splits off the first path word: "double" or 'single' quoted (as terminals paste dropped
 * files), or unquoted with backslash escapes (`my\ file.png`). Returns it unquoted, and the rest.
 */
export function splitPath(s: string): [path: string, rest: string] {
  const t = s.trimStart();
  const q = t[0];
  if (q === '"' || q === "'") {
    const end = t.indexOf(q, 1);
    if (end > 0) return [t.slice(1, end), t.slice(end + 1).trim()];
  }
  let path = "";
  let i = 0;
  for (; i < t.length && !/\s/.test(t[i]!); i++) {
    if (t[i] === "\\" && i + 1 < t.length) i++;
    path += t[i];
  }
  return [path, t.slice(i).trim()];
}

/** A whole argument string as one path: unquoted if it is one quoted word, backslash escapes undone. */
export function wholePath(s: string): string {
  const [first, rest] = splitPath(s);
  if (rest === "" && first !== "") return first;
  return s.trim().replace(/\\(.)/g, "$1");
}

export function parseInput(raw: string): Parsed {
  const text = raw.replace(/\s+$/, "");
  if (!text.startsWith("/")) return { kind: "message", text };
  if (text.startsWith("//")) return { kind: "message", text: text.slice(1) };
  const [head, ...args] = tokenize(text.slice(1));
  const name = (head ?? "").toLowerCase();
  const err = (message: string): Parsed => ({ kind: "error", message });
  const cmd = (command: ChatCommand): Parsed => ({ kind: "command", command });
  // Phones go to the server as typed (it normalises them); a single one is the whole rest of the line.
  const phones = (xs: string[]) => xs.every(looksLikePhone);
  const onePhone = text.slice(1 + (head ?? "").length).trim().replace(/^(["'])(.*)\1$/, "$2");
  switch (name) {
    case "new":
    case "chat":
      if (!looksLikePhone(onePhone)) return err("usage: /new PHONE");
      return cmd({ kind: "new", phone: onePhone });
    case "group": {
      const i = args.findIndex(looksLikePhone);
      const nameParts = i === -1 ? args : args.slice(0, i);
      const ps = i === -1 ? [] : groupPhoneWords(args.slice(i));
      if (nameParts.length === 0 || ps.length === 0 || !phones(ps)) return err("usage: /group NAME PHONE...");
      return cmd({ kind: "group", name: nameParts.join(" "), phones: ps });
    }
    case "add": {
      const ps = groupPhoneWords(args);
      if (ps.length === 0 || !phones(ps)) return err("usage: /add PHONE...");
      return cmd({ kind: "add", phones: ps });
    }
    case "kick":
    case "remove":
      if (!looksLikePhone(onePhone)) return err("usage: /kick PHONE");
      return cmd({ kind: "kick", phone: onePhone });
    case "leave":
      if (args.length > 0) return err("usage: /leave (leaves the open group; it asks first)");
      return cmd({ kind: "leave" });
    case "invite":
      if (args.length > 0) return err("usage: /invite (for the open group)");
      return cmd({ kind: "invite" });
    case "join":
      if (args.length < 1 || args.length > 2) return err("usage: /join GROUP_ID [CODE]");
      return cmd({ kind: "join", channel: args[0]!, invite: args[1] });
    case "retry":
      if (args.length > 0) return err("usage: /retry (this chat's failed messages)");
      return cmd({ kind: "retry" });
    case "help":
    case "?":
      if (args.length > 0) return err("usage: /help");
      return cmd({ kind: "help" });
    case "quit":
    case "exit":
    case "q":
      if (args.length > 0) return err("usage: /quit");
      return cmd({ kind: "quit" });
    case "file": {
      const argText = text.slice(1 + (head ?? "").length).trim();
      const [path, caption] = splitPath(argText);
      if (!path) return err("usage: /file PATH [CAPTION]");
      return cmd({ kind: "file", path, caption, whole: wholePath(argText) });
    }
    case "save":
    case "download": {
      const argText = text.slice(1 + (head ?? "").length).trim();
      if (!argText) return cmd({ kind: "save", media: null, path: null });
      const [first, rest] = splitPath(argText);
      if (MEDIA_ID.test(first)) return cmd({ kind: "save", media: first, path: rest ? wholePath(rest) : null });
      if (/^m_[\w-]*$/.test(first)) return err(`not a media id: ${first} (usage: /save [MEDIA] [PATH])`);
      return cmd({ kind: "save", media: null, path: wholePath(argText) });
    }
    default:
      return parseDeviceCommand(name, args) ?? err(`unknown command /${head ?? ""}; /help lists them`);
  }
}
