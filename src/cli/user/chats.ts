// natter chats [--json]: the caller's channels, most recent first.
import type { Command } from "commander";
import { HttpApi, knownServers } from "../../client/index.ts";
import type { Channel } from "../../protocol/index.ts";
import { parseSession, preview, processIo, runClientCommand, requireSession, sessionFlags, sessionOptions, table, type Io, type SessionOptions } from "./common.ts";
import { Names } from "./names.ts";

export type ChatsOptions = SessionOptions;

export function parseChatsOptions(raw: Record<string, unknown>): ChatsOptions {
  return parseSession(raw);
}

const recency = (c: Channel) => c.last_message?.sent_at ?? c.created_at;

/** Rows of the chats table (header first), newest activity first. */
export function chatsTable(channels: Channel[], names: Names): string[][] {
  const sorted = [...channels].sort((a, b) => recency(b) - recency(a));
  return [
    ["ID", "KIND", "NAME", "UNREAD", "LAST MESSAGE"],
    ...sorted.map((c) => [
      c.id,
      c.kind,
      c.name,
      String(c.unread),
      c.last_message ? `${names.of(c.last_message.sender)}: ${preview(c.last_message.content || `[${c.last_message.type}]`)}` : "",
    ]),
  ];
}

export async function runChats(o: ChatsOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  const { channels } = await api.call("getAll", {});
  if (o.json) return io.out(JSON.stringify({ channels }) + "\n");
  if (channels.length === 0) return io.out(`No chats yet. Start one with: natter send --to PHONE TEXT${sessionFlags(o)}\n`);
  const names = new Names(s.user, channels);
  await names.fill((ids) => api.call("getUsers", { ids }), channels.flatMap((c) => (c.last_message ? [c.last_message.sender] : [])));
  io.out(table(chatsTable(channels, names)));
}

export function registerChats(program: Command, run: (o: ChatsOptions) => Promise<void> = runChats): void {
  const cmd = program.command("chats").description("list your chats: id, kind, name, unread count, last message");
  sessionOptions(cmd).action(async (raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseChatsOptions(raw)));
  });
}
