// natter edit CHANNEL SEQ TEXT|-        edit your own text message (within the server's window)
// natter delete CHANNEL SEQ [--for-me]  delete for everyone (yours in the window, or as group admin) or only for you
// natter react CHANNEL SEQ EMOJI        set your one reaction; natter react CHANNEL SEQ --remove takes it back
// Each exits 0 once the server has committed the change; --json prints the reply.
import type { Command } from "commander";
import { HttpApi, knownServers } from "../../client/index.ts";
import { isSingleEmoji, type DeleteScope } from "../../protocol/index.ts";
import { CliError, EXIT } from "../run.ts";
import { intOption, parseSession, processIo, requireSession, runClientCommand, sessionOptions, type Io, type SessionOptions } from "./common.ts";
import { stdinText } from "./send.ts";

export interface TargetOptions extends SessionOptions {
  channel: string;
  seq: number;
}
export interface EditOptions extends TargetOptions {
  /** The new text, or "-" to read it from stdin. */
  text: string;
}
export interface DeleteOptions extends TargetOptions {
  scope: DeleteScope;
}
export interface ReactOptions extends TargetOptions {
  /** "" removes your reaction. */
  emoji: string;
}

function parseTarget(raw: Record<string, unknown>, channel: string | undefined, seq: string | undefined): TargetOptions {
  if (!channel) throw new CliError("missing CHANNEL (see natter chats)", EXIT.usage);
  const n = intOption("SEQ", seq, 1);
  if (n === undefined) throw new CliError("missing SEQ (see natter history)", EXIT.usage);
  return { ...parseSession(raw), channel, seq: n };
}

export function parseEditOptions(raw: Record<string, unknown>, channel?: string, seq?: string, text?: string): EditOptions {
  const t = parseTarget(raw, channel, seq);
  if (text === undefined || text === "") throw new CliError("missing TEXT (use - to read it from stdin)", EXIT.usage);
  return { ...t, text };
}

export function parseDeleteOptions(raw: Record<string, unknown>, channel?: string, seq?: string): DeleteOptions {
  return { ...parseTarget(raw, channel, seq), scope: raw.forMe === true ? "me" : "everyone" };
}

export function parseReactOptions(raw: Record<string, unknown>, channel?: string, seq?: string, emoji?: string): ReactOptions {
  const t = parseTarget(raw, channel, seq);
  if (raw.remove === true) {
    if (emoji !== undefined) throw new CliError("give EMOJI or --remove, not both", EXIT.usage);
    return { ...t, emoji: "" };
  }
  if (emoji === undefined) throw new CliError("missing EMOJI (or --remove)", EXIT.usage);
  if (!isSingleEmoji(emoji)) throw new CliError("EMOJI must be exactly one emoji", EXIT.usage);
  return { ...t, emoji };
}

const apiOf = (o: SessionOptions) => {
  const s = requireSession(o);
  return new HttpApi(knownServers(s), s.token);
};

export async function runEdit(o: EditOptions, io: Io = processIo): Promise<void> {
  const content = o.text === "-" ? stdinText(await io.stdin()) : o.text;
  const { message } = await apiOf(o).call("editMessage", { channel: o.channel, seq: o.seq, content });
  io.out(o.json ? JSON.stringify({ message }) + "\n" : `edited ${message.id}\n`);
}

export async function runDelete(o: DeleteOptions, io: Io = processIo): Promise<void> {
  await apiOf(o).call("deleteMessage", { channel: o.channel, seq: o.seq, scope: o.scope });
  const id = `${o.channel}:${o.seq}`;
  io.out(o.json ? JSON.stringify({ deleted: id, scope: o.scope }) + "\n" : `deleted ${id}${o.scope === "me" ? " for you" : " for everyone"}\n`);
}

export async function runReact(o: ReactOptions, io: Io = processIo): Promise<void> {
  await apiOf(o).call("react", { channel: o.channel, seq: o.seq, emoji: o.emoji });
  const id = `${o.channel}:${o.seq}`;
  io.out(o.json ? JSON.stringify({ message: id, emoji: o.emoji }) + "\n" : o.emoji ? `reacted ${o.emoji} to ${id}\n` : `removed your reaction to ${id}\n`);
}

export function registerEdit(program: Command, run: (o: EditOptions) => Promise<void> = runEdit): void {
  const cmd = program
    .command("edit")
    .description("edit your own text message (within the server's edit window, 15 minutes by default)")
    .argument("[channel]", "channel id (see natter chats)")
    .argument("[seq]", "the message's seq (see natter history)")
    .argument("[text]", "the new text, or - to read it from stdin");
  sessionOptions(cmd).action(async (channel: string | undefined, seq: string | undefined, text: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseEditOptions(raw, channel, seq, text)));
  });
}

export function registerDelete(program: Command, run: (o: DeleteOptions) => Promise<void> = runDelete): void {
  const cmd = program
    .command("delete")
    .description("delete a message for everyone (yours within the edit window, anyone's as group admin), or --for-me")
    .argument("[channel]", "channel id (see natter chats)")
    .argument("[seq]", "the message's seq (see natter history)")
    .option("--for-me", "hide it only for you (on all your devices)");
  sessionOptions(cmd).action(async (channel: string | undefined, seq: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseDeleteOptions(raw, channel, seq)));
  });
}

export function registerReact(program: Command, run: (o: ReactOptions) => Promise<void> = runReact): void {
  const cmd = program
    .command("react")
    .description("react to a message with one emoji (replaces your earlier one), or --remove yours")
    .argument("[channel]", "channel id (see natter chats)")
    .argument("[seq]", "the message's seq (see natter history)")
    .argument("[emoji]", "exactly one emoji")
    .option("--remove", "take your reaction back");
  sessionOptions(cmd).action(async (channel: string | undefined, seq: string | undefined, emoji: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseReactOptions(raw, channel, seq, emoji)));
  });
}
