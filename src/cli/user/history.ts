// natter history CHANNEL [--limit N] [--before SEQ] [--after SEQ] [--json]
import type { Command } from "commander";
import { HttpApi, knownServers } from "../../client/index.ts";
import { changeRecord, changeTarget, type Message, type OpParams } from "../../protocol/index.ts";
import { CliError, EXIT } from "../run.ts";
import { formatTime, intOption, parseSession, runClientCommand, processIo, requireSession, sessionFlags, sessionOptions, type Io, type SessionOptions } from "./common.ts";
import { Names } from "./names.ts";

export interface HistoryOptions extends SessionOptions {
  channel: string;
  limit?: number;
  before?: number;
  after?: number;
}

export function parseHistoryOptions(raw: Record<string, unknown>, channel: string | undefined): HistoryOptions {
  if (!channel) throw new CliError("missing CHANNEL (see natter chats)", EXIT.usage);
  const limit = intOption("--limit", raw.limit, 1);
  if (limit !== undefined && limit > 200) throw new CliError("--limit must be at most 200", EXIT.usage);
  const before = intOption("--before", raw.before, 0);
  const after = intOption("--after", raw.after, 0);
  if (before !== undefined && after !== undefined) throw new CliError("give at most one of --before and --after", EXIT.usage);
  return { ...parseSession(raw), channel, limit, before, after };
}

/**
 * `seq  time  sender  text`, one message per line, oldest first, in its current state: "(edited)",
 * "(message deleted)", reactions as `[👍 2: Ann, Ben]`. A change entry is a line of its own
 * (`seq  time  sender  edited #3`), so the seqs a page covers all show.
 */
export function historyLines(messages: Message[], names: Names): string {
  return messages
    .map((m) => {
      const record = changeRecord(m);
      if (m.type === "change") {
        const t = changeTarget(m);
        const what = !record ? "changed" : record.op === "edit" ? "edited" : record.op === "delete" ? "deleted" : record.op === "hide" ? "deleted for themselves" : record.emoji ? `reacted ${record.emoji} to` : "removed their reaction to";
        return `${m.seq}  ${formatTime(m.sent_at)}  ${names.of(m.sender)}  (${what} #${t})\n`;
      }
      const body =
        m.deleted_at !== null
          ? "(message deleted)"
          : m.content + (m.type !== "text" ? ` [${m.type}${m.media ? ` ${m.media}` : ""}]` : "") + (m.reply_to ? ` (reply to ${m.reply_to})` : "") + (m.edited_at !== null ? " (edited)" : "");
      const reactions = m.reactions.map((r) => ` [${r.emoji} ${r.users.length}: ${r.users.map((u) => names.of(u)).join(", ")}]`).join("");
      return `${m.seq}  ${formatTime(m.sent_at)}  ${names.of(m.sender)}  ${(body + reactions).replace(/\n/g, "\n    ")}\n`;
    })
    .join("");
}

export async function runHistory(o: HistoryOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  const params: OpParams["getMessages"] = {
    channel: o.channel,
    ...(o.limit !== undefined && { limit: o.limit }),
    ...(o.before !== undefined && { before_seq: o.before }),
    ...(o.after !== undefined && { after_seq: o.after }),
  };
  const r = await api.call("getMessages", params);
  if (o.json) return io.out(JSON.stringify(r) + "\n");
  const { channels } = await api.call("getAll", {});
  const names = new Names(s.user, channels);
  await names.fill((ids) => api.call("getUsers", { ids }), r.messages.flatMap((m) => [m.sender, ...m.reactions.flatMap((x) => x.users)]));
  io.out(historyLines(r.messages, names));
  if (r.has_more) {
    const cursor = o.after !== undefined ? `--after ${r.messages.at(-1)?.seq ?? o.after}` : `--before ${r.messages[0]?.seq ?? o.before}`;
    const limit = o.limit !== undefined ? ` --limit ${o.limit}` : "";
    io.err(`(more: natter history ${o.channel} ${cursor}${limit}${sessionFlags(o)})\n`);
  }
}

export function registerHistory(program: Command, run: (o: HistoryOptions) => Promise<void> = runHistory): void {
  const cmd = program
    .command("history")
    .description("print a channel's messages, oldest first: seq, time, sender, text")
    .argument("[channel]", "channel id (see natter chats)")
    .option("--limit <n>", "how many messages (1-200, default 50)")
    .option("--before <seq>", "messages before this seq")
    .option("--after <seq>", "messages after this seq");
  sessionOptions(cmd).action(async (channel: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseHistoryOptions(raw, channel)));
  });
}
