// natter watch [--json]: stays connected and prints every event as it
// happens, one per line. Reconnects and catches up through the client
// library, so no message is lost or printed twice. SIGINT/SIGTERM exit 0.
import type { Command } from "commander";
import { HttpApi, NatterClient, type ConnState } from "../../client/index.ts";
import { NatterError, type Message, type ServerEvent } from "../../protocol/index.ts";
import { formatTime, parseSession, processIo, runClientCommand, requireSession, sessionOptions, type Io, type SessionOptions } from "./common.ts";
import { Names } from "./names.ts";

export type WatchOptions = SessionOptions;

export function parseWatchOptions(raw: Record<string, unknown>): WatchOptions {
  return parseSession(raw);
}

/** A human line for an event (messages come through formatMessage). */
export function formatEvent(e: ServerEvent, names: Names): string {
  switch (e.ev) {
    case "hello":
      return `connected as ${e.user.name} (${e.user.id}), device ${e.device.name}`;
    case "message":
      return formatMessage(e.message, names);
    case "receipt":
      return `${e.channel}: ${names.of(e.user)} delivered up to ${e.delivered_seq}, seen up to ${e.seen_seq}`;
    case "typing":
      return `${e.channel}: ${names.of(e.user)} ${e.state === "start" ? "is typing" : "stopped typing"}`;
    case "member":
      return `${e.channel}: ${names.of(e.user)} ${e.action} (by ${names.of(e.by)})`;
    case "presence":
      return `${names.of(e.user)} is ${e.online ? "online" : `offline${e.last_seen ? `, last seen ${formatTime(e.last_seen)}` : ""}`}`;
  }
}

export function formatMessage(m: Message, names: Names): string {
  const body = m.content + (m.type !== "text" ? ` [${m.type}]` : "");
  return `[${formatTime(m.sent_at)}] ${m.channel}#${m.seq} ${names.of(m.sender)}: ${body}`;
}

function stateNote(s: ConnState, c: NatterClient): string | null {
  if (s === "reconnecting") {
    const at = c.nextRetryAt;
    return `natter: connection lost; reconnecting${at ? ` in ${Math.max(0, (at - Date.now()) / 1000).toFixed(1)}s` : ""}`;
  }
  if (s === "open") return "natter: connected";
  return null;
}

/** Runs until `stop` aborts (resolves) or the token is refused (rejects with unauthorized). */
export async function runWatch(o: WatchOptions, io: Io = processIo, stop: AbortSignal = exitSignal()): Promise<void> {
  const s = requireSession(o);
  const client = new NatterClient({ server: s.server, token: s.token });
  const names = new Names(s.user);
  // Names for the first events; a refused token fails here at once. A server
  // that is down is fine: the client below keeps trying.
  try {
    names.learn((await new HttpApi(s.server, s.token).call("getAll", {})).channels, s.user.id);
  } catch (e) {
    if (e instanceof NatterError && e.code === "unauthorized") throw e;
  }
  const line = (v: string) => io.out(v + "\n");
  client.on("event", (e) => {
    if (e.ev === "message") return; // printed once each, in order, by the "message" listener
    line(o.json ? JSON.stringify(e) : formatEvent(e, names));
  });
  client.on("message", (m) => line(o.json ? JSON.stringify({ ev: "message", message: m }) : formatMessage(m, names)));
  client.on("state", (st) => {
    const note = stateNote(st, client);
    if (note) io.err(note + "\n");
    if (st === "open")
      client.request("getAll", {}).then(
        (r) => names.learn(r.channels, s.user.id),
        () => {},
      );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      if (stop.aborted) return resolve();
      stop.addEventListener("abort", () => resolve(), { once: true });
      client.on("state", (st) => {
        if (st === "offline" && client.error) reject(client.error);
      });
      client.connect();
    });
  } finally {
    client.close();
  }
}

/** Aborts on SIGINT or SIGTERM. */
function exitSignal(): AbortSignal {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  return ac.signal;
}

export function registerWatch(program: Command, run: (o: WatchOptions) => Promise<void> = runWatch): void {
  const cmd = program.command("watch").description("stay connected and print every event as it arrives (one JSON object per line with --json)");
  sessionOptions(cmd).action(async (raw: Record<string, unknown>) => {
    await runClientCommand(raw.json === true, async () => run(parseWatchOptions(raw)));
  });
}
