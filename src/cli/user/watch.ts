// natter watch [--json]: stays connected and prints every event as it
// happens, one per line. A server it cannot reach at the start is an error
// (exit 3); once connected it reconnects and catches up through the client
// library, so no message is lost or printed twice. SIGINT/SIGTERM exit 0.
// Media messages name their media id, for `natter download`.
import type { Command } from "commander";
import { HttpApi, knownServers, NatterClient, saveLearnedNodes, type ChangeNote, type ConnState } from "../../client/index.ts";
import { NatterError, type Message, type ServerEvent } from "../../protocol/index.ts";
import { unreachable } from "../run.ts";
import { formatTime, parseSession, processIo, runClientCommand, requireSession, sessionOptions, type Io, type SessionOptions } from "./common.ts";
import { Names, peopleIn } from "./names.ts";

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
    case "device":
      return `${e.action === "linked" ? "new device linked" : "device revoked"}: ${e.device.name} (${e.device.id})`;
    case "resync":
      return "the server says events may have been missed: catching up";
    case "edit":
    case "delete":
    case "reaction":
      return formatChange({ entry: e.change, record: JSON.parse(e.change.content), channel: e.channel, target: e.seq }, names);
  }
}

/** A change entry as one line: `[time] channel#seq: NAME edited #3: "text"` (deleted / reacted / removed their reaction). */
export function formatChange(c: ChangeNote, names: Names): string {
  const r = c.record;
  const what =
    r.op === "edit"
      ? `edited #${c.target}: ${r.content === "" ? "(text removed)" : JSON.stringify(r.content)}`
      : r.op === "delete"
        ? `deleted #${c.target}`
        : r.op === "hide"
          ? `deleted #${c.target} for themselves`
          : r.emoji
            ? `reacted ${r.emoji} to #${c.target}`
            : `removed their reaction to #${c.target}`;
  return `[${formatTime(c.entry.sent_at)}] ${c.channel}#${c.entry.seq} ${names.of(c.entry.sender)} ${what}`;
}

/** The JSON line of a change entry: `{"ev":"edit"|"delete"|"reaction", channel, seq (target), change_seq, user, at, ...}`. */
export function changeJson(c: ChangeNote): object {
  const r = c.record;
  const base = { channel: c.channel, seq: c.target, change_seq: c.entry.seq, user: c.entry.sender, at: c.entry.sent_at };
  if (r.op === "edit") return { ev: "edit", ...base, content: r.content };
  if (r.op === "react") return { ev: "reaction", ...base, emoji: r.emoji };
  return { ev: "delete", ...base, scope: r.op === "hide" ? "me" : "everyone" };
}

/** `[time] channel#seq sender: text`; media as `caption [image m_...]` (the id `natter download` takes). */
export function formatMessage(m: Message, names: Names): string {
  const body =
    m.deleted_at !== null
      ? "(message deleted)"
      : (m.type === "text" ? m.content : `${m.content ? `${m.content} ` : ""}[${m.type}${m.media ? ` ${m.media}` : ""}]`) + (m.edited_at !== null ? " (edited)" : "");
  return `[${formatTime(m.sent_at)}] ${m.channel}#${m.seq} ${names.of(m.sender)}: ${body}`;
}

function stateNote(s: ConnState, c: NatterClient, wasOpen: boolean): string | null {
  if (s === "reconnecting") {
    const at = c.nextRetryAt;
    const retry = at ? ` in ${Math.max(0, (at - Date.now()) / 1000).toFixed(1)}s` : "";
    return wasOpen ? `natter: connection lost; reconnecting${retry}` : `natter: could not connect yet; retrying${retry}`;
  }
  if (s === "open") return c.servers.length > 1 ? `natter: connected to ${c.server}` : "natter: connected";
  return null;
}

/** Runs until `stop` aborts (resolves) or the token is refused (rejects with unauthorized). */
export async function runWatch(o: WatchOptions, io: Io = processIo, stop: AbortSignal = exitSignal()): Promise<void> {
  const s = requireSession(o);
  const client = new NatterClient({ servers: knownServers(s), token: s.token });
  // Nodes learned from hello are kept in the profile (not for a run with its own --server).
  if (!o.servers)
    client.on("servers", () => {
      try {
        saveLearnedNodes(o.profile, s.token, client.learnedServers);
      } catch {}
    });
  const names = new Names(s.user);
  const api = new HttpApi(knownServers(s), s.token);
  const getUsers = (ids: string[]) => api.call("getUsers", { ids });
  // Names for the first events. A refused token or a server that cannot be
  // reached at all (refused, unknown host, TLS) fails here at once; a server
  // that answers with an error (overloaded) is retried by the client below.
  try {
    const { channels } = await api.call("getAll", {});
    names.learn(channels, s.user.id);
    if (!o.json) await names.fill(getUsers, peopleIn(channels));
  } catch (e) {
    if ((e instanceof NatterError && e.code === "unauthorized") || unreachable(e)) throw e;
  }
  const line = (v: string) => io.out(v + "\n");
  // Text lines wait for the names they print (someone new to us), in arrival order.
  let queue = Promise.resolve();
  const print = (ids: string[], text: () => string) => {
    queue = queue.then(() => names.fill(getUsers, ids)).then(() => line(text()));
  };
  client.on("event", (e) => {
    // Messages and changes are printed once each, in order, by the "message" and "change" listeners.
    if (e.ev === "message" || e.ev === "edit" || e.ev === "delete" || e.ev === "reaction") return;
    if (o.json) return line(JSON.stringify(e));
    const who = e.ev === "hello" || e.ev === "resync" ? [] : e.ev === "member" ? [e.user, e.by].filter((x) => x !== "admin") : [e.user];
    print(who, () => formatEvent(e, names));
  });
  client.on("message", (m) => (o.json ? line(JSON.stringify({ ev: "message", message: m })) : print([m.sender], () => formatMessage(m, names))));
  client.on("change", (c) => (o.json ? line(JSON.stringify(changeJson(c))) : print([c.entry.sender], () => formatChange(c, names))));
  let wasOpen = false;
  client.on("state", (st) => {
    const note = stateNote(st, client, wasOpen);
    if (st === "open") wasOpen = true;
    if (note) io.err(note + "\n");
    if (st === "open" && !o.json)
      client.request("getAll", {}).then(
        (r) => {
          names.learn(r.channels, s.user.id);
          return names.fill(getUsers, peopleIn(r.channels));
        },
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
    await runClientCommand(raw, async () => run(parseWatchOptions(raw)));
  });
}
