// The whole chat screen over the in-memory client: keys in, frames out.
import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, render } from "ink-testing-library";
import { ChatController } from "../controller.ts";
import { ALICE, BOB, CAROL, channel, FakeClient, FakeMedia, msg } from "../../../test/support/fake-chat-client.ts";
import { until } from "../../../test/support/until.ts";
import { App } from "./app.tsx";
import { Setup, validateSetup } from "./setup.tsx";

afterEach(cleanup);
const tmp = mkdtempSync(join(tmpdir(), "natter-tui-app-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const KEY = { enter: "\r", tab: "\t", ctrlK: "\x0b", ctrlR: "\x12", esc: "\x1b", up: "\x1b[A", down: "\x1b[B", pgUp: "\x1b[5~", pgDn: "\x1b[6~", altEnter: "\x1b\r", backspace: "\x7f", pasteStart: "\x1b[200~", pasteEnd: "\x1b[201~" };

async function mount(
  opts: { channels?: ReturnType<typeof channel>[]; size?: { columns: number; rows: number }; setup?: (client: FakeClient) => void; now?: () => number } = {},
) {
  const client = new FakeClient(ALICE);
  const channels = opts.channels ?? [
    channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id], last_seq: 1, unread: 1, last_message: msg("d1", 1, BOB.id, "hi alice") }),
    channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id, CAROL.id], created_at: 0 }),
  ];
  client.handlers.getAll = () => ({ channels });
  for (const ch of channels) client.setSeq(ch.id, ch.last_seq);
  client.handlers.getMessages = (p) => ({ messages: p.channel === "d1" && !p.before_seq ? [msg("d1", 1, BOB.id, "hi alice")] : [], has_more: false });
  opts.setup?.(client);
  const media = new FakeMedia();
  const cwd = mkdtempSync(join(tmp, "cwd-"));
  const c = new ChatController(client, { media, places: { cwd, home: cwd }, now: opts.now });
  let quit = 0;
  const r = render(<App controller={c} server="http://chat.test:8080" onQuit={() => quit++} size={opts.size ?? { columns: 80, rows: 24 }} now={opts.now} />);
  c.start();
  client.open();
  const frame = () => r.lastFrame()!;
  /** Waits until the frame shows every text or pattern (frames are painted a moment after a key or an event). */
  const see = (...what: Array<string | RegExp>) =>
    until(() => {
      for (const w of what) typeof w === "string" ? expect(frame()).toContain(w) : expect(frame()).toMatch(w);
    }, what.join(" and "));
  /** Waits until the frame shows none of these (frames are painted a moment after a key or an event). */
  const gone = (...what: Array<string | RegExp>) =>
    until(() => {
      for (const w of what) typeof w === "string" ? expect(frame()).not.toContain(w) : expect(frame()).not.toMatch(w);
    }, `${what.join(" and ")} to go`);
  await see(channels.length > 0 ? `Chats (${channels.length})` : "No chats yet");
  /** Types chunks; a lone Esc is told apart from a key that follows once ink's input parser has had its turn. */
  const type = async (...chunks: string[]) => {
    for (const ch of chunks) {
      r.stdin.write(ch);
      await new Promise((done) => setImmediate(done));
    }
  };
  const resize = (size: { columns: number; rows: number }) => r.rerender(<App controller={c} server="http://chat.test:8080" onQuit={() => quit++} size={size} now={opts.now} />);
  return { client, c, r, type, see, gone, media, cwd, resize, frame, quits: () => quit };
}

test("starts on the chat list; Enter opens the selected chat and marks it seen", async () => {
  const { frame, type, client, see } = await mount();
  await see("Chats (2)");
  await see(/○ bob +\S+│/);
  await type(KEY.enter);
  await see("bob: hi alice", "1 unread message");
  await until(() => expect(client.ops("markSeen")).toEqual([{ channel: "d1", seq: 1 }]));
});

test("typing and Enter sends; the tick appears; a bracketed paste does not send", async () => {
  const { frame, type, client, see } = await mount();
  await type(KEY.enter, "h", "e", "y", KEY.enter);
  expect(client.sent.map((s) => s.content)).toEqual(["hey"]);
  await see(/you: hey ✓/);
  await type(`${KEY.pasteStart}line one\rline two\r${KEY.pasteEnd}`);
  expect(client.sent).toHaveLength(1);
  await see("› line one");
  await see("  line two");
  await type(KEY.enter);
  expect(client.sent.at(-1)!.content).toBe("line one\nline two");
});

test("keys in one burst act one by one: Ctrl-K, a name, Enter, then text and Enter send there", async () => {
  const { frame, type, client, see, gone } = await mount();
  await type(`${KEY.ctrlK}club${KEY.enter}hi club${KEY.enter}`);
  await gone("Jump to chat");
  expect(client.sent.map((s) => [s.channel, s.content])).toEqual([["g1", "hi club"]]);
  await type(`${KEY.ctrlK}zzz${KEY.enter}more`);
  await see('no chat matches "zzz" (Esc closes)');
  await see("› zzzmore");
  expect(client.sent).toHaveLength(1);
});

test("a paste over 64 KiB is refused on Enter, saying why, and stays in the composer", async () => {
  const { frame, type, client, see } = await mount();
  await type(KEY.enter, `${KEY.pasteStart}${"x".repeat(64 * 1024)}END${KEY.pasteEnd}`, KEY.enter);
  expect(client.sent).toEqual([]);
  await see("not sent: 64.0 KiB is over the 64 KiB limit");
  await see("xxxEND");
});

test("/leave asks first (n stays, y leaves); /leave with more words is a usage error", async () => {
  const { frame, type, client, see, gone } = await mount();
  client.handlers.leaveGroup = () => ({});
  await type(KEY.ctrlK, "club", KEY.enter);
  await type("/leave now", KEY.enter);
  await see("usage: /leave");
  await see("› /leave now");
  await type(...Array(4).fill(KEY.backspace), KEY.enter);
  await see("Leave club? y: leave · n: stay (coming back needs an i…");
  await type("n");
  await gone("Leave club?");
  await until(() => expect(client.ops("leaveGroup")).toEqual([]));
  await type("/leave", KEY.enter, "y");
  await until(() => expect(client.ops("leaveGroup")).toEqual([{ channel: "g1" }]));
  await see("you left club");
});

test("Alt-Enter makes a new line; Up recalls history where there is no message of ours to edit", async () => {
  const { type, client, see } = await mount();
  await type(KEY.ctrlK, "club", KEY.enter); // a chat where we have sent nothing yet
  await type("a", KEY.altEnter, "b", KEY.enter);
  expect(client.sent.at(-1)!.content).toBe("a\nb");
  await type(KEY.ctrlK, "bob", KEY.enter); // alice has no message in bob's chat
  await type(KEY.up);
  await see("› a");
});

test("Up in an empty composer edits our last message; e, d and digits act on the selected message", async () => {
  const { type, client, see, gone } = await mount();
  const asked: Array<[string, unknown]> = [];
  for (const op of ["editMessage", "deleteMessage", "react"] as const) client.handlers[op] = ((p: unknown) => (asked.push([op, p]), op === "editMessage" ? { message: msg("d1", 2, ALICE.id, "x") } : {})) as never;
  await type(KEY.enter, "helo", KEY.enter);
  await see("you: helo");
  await type(KEY.up);
  await see("Editing your message", "› helo");
  await type(KEY.backspace.repeat(4), "hello", KEY.enter);
  await until(() => expect(asked).toContainEqual(["editMessage", { channel: "d1", seq: 2, content: "hello" }]));
  await gone("Editing your message");
  await type(KEY.tab); // messages: ours, the newest, is selected
  await see("d: delete");
  await type("2");
  await until(() => expect(asked).toContainEqual(["react", { channel: "d1", seq: 2, emoji: "❤️" }]));
  await type("d");
  await see("Delete this message? e: for everyone");
  await type("e");
  await until(() => expect(asked).toContainEqual(["deleteMessage", { channel: "d1", seq: 2, scope: "everyone" }]));
  await type(KEY.tab, KEY.up, "d"); // bob's message: only for us
  await see("Delete this message for you? m: for me");
  await type("e"); // not offered: nothing happens
  await type(KEY.esc);
  await gone("Delete this message");
  expect(asked.filter(([op]) => op === "deleteMessage")).toHaveLength(1);
});

test("Ctrl-K jumps to a chat by fuzzy name; Esc cancels", async () => {
  const { frame, type, see, gone } = await mount();
  await type(KEY.ctrlK);
  await see("Jump to chat");
  await type(KEY.esc);
  await gone("Jump to chat");
  await type(KEY.ctrlK, "cl", KEY.enter);
  await see(/club\s*\n.*3 members: you, bob, /);
});

test("Tab cycles list, composer and messages; r replies to the selected message", async () => {
  const { frame, type, client, see } = await mount();
  await type(KEY.enter); // open bob, focus composer
  await type(KEY.tab); // messages
  await see("r: reply");
  await type("r");
  await see("Replying to bob: hi alice");
  await type("sure", KEY.enter);
  expect(client.sent.at(-1)).toMatchObject({ content: "sure", reply_to: "d1:1" });
  await see("↳ bob: hi alice");
  await type(KEY.tab); // messages
  await type(KEY.tab); // list
  await see("Enter: open");
});

test("live messages, typing, presence and receipts update the screen", async () => {
  const { frame, type, client, see, gone } = await mount();
  await type(KEY.enter, "ping", KEY.enter);
  await see(/you: ping ✓(?!✓)/);
  client.emit("event", { ev: "presence", user: BOB.id, online: true, last_seen: null });
  client.emit("event", { ev: "typing", channel: "d1", user: BOB.id, state: "start" });
  await see("typing…");
  await see("● bob");
  client.emit("event", { ev: "receipt", channel: "d1", user: BOB.id, delivered_seq: 2, seen_seq: 0, at: 1 });
  await see(/you: ping ✓✓/);
  client.emit("event", { ev: "receipt", channel: "d1", user: BOB.id, delivered_seq: 2, seen_seq: 2, at: 2 });
  client.push(msg("d1", 3, BOB.id, "pong"));
  await see(/you: ping ✔✔/);
  await see("bob: pong");
  await gone("typing…");
});

test("offline: banner with countdown, sends queue and show as pending", async () => {
  const t = Date.now();
  const { frame, type, client, see } = await mount({ now: () => t }); // a clock that stands still: the countdown shows 3 s
  await type(KEY.enter);
  client.setState("reconnecting", t + 3000);
  await see("Connection lost · reconnecting in 3 s (Ctrl-R: now)");
  await type("later", KEY.enter);
  await see("you: later ◷");
  await see("1 message queued");
  await type(KEY.ctrlR); // retry now
  expect(client.reconnects).toBe(1);
  await see("Connection lost · reconnecting… · 1 message queued");
  await see("reconnecting now…");
  client.setState("open");
  await until(() => expect(frame()).not.toContain("Connection lost"), "the banner to go");
});

test("a failed send shows as failed and Ctrl-R retries it", async () => {
  const { frame, type, client, see, gone } = await mount();
  await type(KEY.enter);
  client.failSends = new (await import("../../protocol/index.ts")).NatterError("forbidden", "not allowed");
  await type("nope", KEY.enter);
  await see(/you: nope[\s│]+✗ not sent: not allowed/);
  client.failSends = null;
  await type(KEY.ctrlR);
  await see(/you: nope ✓/);
  await gone("not sent");
});

test("/help opens help, Esc closes; unknown commands and text without a chat explain themselves", async () => {
  const { frame, type, see, gone } = await mount();
  await type("/help", KEY.enter);
  await see("commands and keys");
  await type(KEY.esc);
  await gone("commands and keys");
  await type("/bogus", KEY.enter);
  await see("unknown command /bogus");
  await see("› /bogus"); // kept for fixing
  await type(...Array(6).fill(KEY.backspace), "hello", KEY.enter);
  await see("Open a chat first");
});

test("/new with a new person opens a draft; the first send creates the chat", async () => {
  const { frame, type, client, see } = await mount();
  client.handlers.findUser = () => ({ user: CAROL });
  await type("/new +15550003", KEY.enter);
  await see(/carol\s*\n/);
  await see("No messages yet");
  await type("hi carol", KEY.enter);
  expect(client.sent.at(-1)).toMatchObject({ to: CAROL.id, content: "hi carol" });
});

test("/quit and Ctrl-C quit", async () => {
  const { type, quits } = await mount();
  await type("/quit", KEY.enter);
  expect(quits()).toBe(1);
  await type("\x03");
  expect(quits()).toBe(2);
});

test("PageUp scrolls and loads older history", async () => {
  const many = Array.from({ length: 60 }, (_, i) => msg("d1", i + 41, BOB.id, `m${i + 41}`));
  const { frame, type, client, see } = await mount({
    channels: [channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id], last_seq: 100, last_message: many.at(-1)! })],
  });
  client.handlers.getMessages = (p) =>
    p.before_seq ? { messages: Array.from({ length: 40 }, (_, i) => msg("d1", i + 1, BOB.id, `m${i + 1}`)), has_more: false } : { messages: many, has_more: true };
  await type(KEY.enter);
  await see("bob: m100");
  // PgUp until the top: each press scrolls by the screen as last painted, so press and look.
  const olderAsked = () => client.ops("getMessages").some((p) => (p as { before_seq?: number }).before_seq === 41);
  for (let i = 0; i < 100 && !frame().includes("bob: m1\n"); i++) {
    await type(KEY.pgUp);
    await Bun.sleep(5);
  }
  await see("bob: m1\n");
  expect(olderAsked()).toBe(true);
});

test("fits 80x24 and follows a bigger terminal", async () => {
  const { frame } = await mount({ size: { columns: 80, rows: 24 } });
  const rows = frame().split("\n");
  expect(rows.length).toBeLessThanOrEqual(23);
  for (const r of rows) expect(Bun.stringWidth(r)).toBeLessThanOrEqual(80);
});

test("setup: validates, then logs in", async () => {
  expect(validateSetup("chat.example.org:8080/", "C", "d")).toEqual({ server: "http://chat.example.org:8080", code: "C", device: "d" });
  expect(validateSetup("ftp://x", "C", "d")).toContain("http");
  expect(validateSetup("http://x", " ", "d")).toContain("login code");
  const calls: string[][] = [];
  const r = render(
    <Setup server="" defaultServer="http://localhost:8080" device="laptop" onLogin={async (...a) => void calls.push(a)} onQuit={() => {}} />,
  );
  expect(r.lastFrame()).toContain("Server URL");
  for (const key of ["http://127.0.0.1:9", "\r", "ABCD-EFGH", "\r", "\r"]) r.stdin.write(key);
  expect(calls).toEqual([["http://127.0.0.1:9", "ABCD-EFGH", "laptop"]]);
});

test("setup: keys typed in one burst fill the fields and log in", async () => {
  const calls: string[][] = [];
  const r = render(<Setup server="" defaultServer="http://localhost:8080" device="laptop" onLogin={async (...a) => void calls.push(a)} onQuit={() => {}} />);
  r.stdin.write("http://127.0.0.1:9\rABCD-EFGH\r\r");
  expect(calls).toEqual([["http://127.0.0.1:9", "ABCD-EFGH", "laptop"]]);
});

test("setup shows a failed login and stays", async () => {
  const r = render(
    <Setup server="http://h:1" defaultServer="http://localhost:8080" device="d" onLogin={async () => Promise.reject(new Error("code already used"))} onQuit={() => {}} />,
  );
  r.stdin.write("X\r\r");
  await until(() => expect(r.lastFrame()).toContain("Login failed: code already used"), "the error");
});

test("the list selection follows the chat when chats reorder", async () => {
  const { frame, type, client, see } = await mount();
  await type(KEY.down); // club
  client.push(msg("g1", 1, CAROL.id, "news", { sent_at: Date.now() }));
  await until(() => expect(frame().split("\n")[1]).toContain("club"), "club first"); // the newest chat first
  await type(KEY.enter);
  await see(/club\s*\n.*3 members/);
});

test("/file: progress in the status line, then the labelled message; Esc cancels an upload", async () => {
  const { frame, type, client, media, cwd, see } = await mount();
  writeFileSync(join(cwd, "cat.png"), new Uint8Array(2048));
  writeFileSync(join(cwd, "big.iso"), new Uint8Array(4096));
  await type(KEY.enter); // open bob
  media.hold = true;
  await type("/file cat.png the cat", KEY.enter);
  await see("uploading cat.png 41% of 2.0 KiB · Esc cancels");
  media.release();
  await see(/you: \[image: cat\.png, 2\.0 KiB\] the cat ✓/);
  await see("sent cat.png (2.0 KiB)");
  expect(client.sent.at(-1)).toMatchObject({ channel: "d1", type: "image", content: "the cat" });
  await type("/file big.iso", KEY.enter);
  await see(/uploading big.iso \d+% of 4.0 KiB/);
  await type(KEY.esc);
  await see("upload of big.iso cancelled; nothing was sent");
  expect(client.sent).toHaveLength(1);
  await type("/file nothing.png", KEY.enter);
  await see("/file: no such file:");
});

test("s on a selected file message saves it; /save saves the newest file", async () => {
  const { frame, type, client, media, cwd, c, see, gone } = await mount();
  const doc = media.add("minutes.txt", new TextEncoder().encode("agenda"));
  await type(KEY.enter);
  client.push(msg("d1", 2, BOB.id, "today's", { type: "file", media: doc.id }));
  await see("bob: [file: minutes.txt, 6 B] today's");
  await type(KEY.tab); // messages: the newest is selected
  await see("s: save file here");
  await type(KEY.up, "s"); // a text message: nothing to save, nothing typed
  await see("s saves a file: the selected message has no file to save");
  await gone("› s");
  await type(KEY.down, "s");
  await see(`saved ${join(cwd, "minutes.txt")}`);
  expect(readFileSync(join(cwd, "minutes.txt"), "utf8")).toBe("agenda");
  await type(KEY.esc, "/save", KEY.enter);
  await until(() => expect(c.getState().notice?.text).toStartWith(`saved ${join(cwd, "minutes (1).txt")}`), "the second save notice");
  expect(readFileSync(join(cwd, "minutes (1).txt"), "utf8")).toBe("agenda");
});

test("/help lists /file and /save and scrolls on a short screen", async () => {
  const { frame, type, see, gone } = await mount({ size: { columns: 80, rows: 24 } });
  await type("/help", KEY.enter);
  await see("/file PATH [CAPTION]");
  await see("/save [MEDIA] [PATH]");
  await see("↓ more below");
  await gone(/Ctrl-C +quit/);
  await see("leave natter chat (also Ctrl-C)"); // the whole width: nothing cut at 80 columns
  for (let i = 0; i < 3; i++) await type(KEY.down);
  await type(KEY.pgDn);
  await see(/Ctrl-C +quit/);
  await see("↑ more above");
});

test("group members and senders show names the server gives (getUsers)", async () => {
  const DAVE = { id: "u_dave", name: "dave", phone: "+15550004", last_seen: null };
  const { frame, type, client, see } = await mount({
    channels: [channel("g1", { kind: "group", name: "club", members: [ALICE.id, CAROL.id], created_at: 0, last_seq: 1, last_message: msg("g1", 1, CAROL.id, "news") })],
    setup: (client) => {
      client.handlers.getUsers = ({ ids }) => ({ users: [CAROL, DAVE].filter((u) => ids.includes(u.id)) });
      client.handlers.getMessages = () => ({ messages: [msg("g1", 1, CAROL.id, "news")], has_more: false });
    },
  });
  await until(() => expect(client.ops("getUsers")).toEqual([{ ids: [CAROL.id] }])); // members and last senders, once each
  await see("carol: news"); // the list preview
  client.emit("event", { ev: "member", channel: "g1", user: DAVE.id, action: "added", by: CAROL.id });
  await until(() => expect(client.ops("getUsers")).toEqual([{ ids: [CAROL.id] }, { ids: [DAVE.id] }]));
  await type(KEY.enter);
  await see(/club\s*\n.*3 members: you, carol, dave/);
  await see("carol: news");
  await see("· dave was added by carol"); // written before dave's name was known
  client.emit("event", { ev: "member", channel: "g1", user: "u_erin", action: "added", by: "admin" });
  await see("· user u_erin was added by the admin"); // the fake server does not know erin
});

test("a contact made during the session shows online once the server's presence event arrives", async () => {
  const { frame, type, client, see, gone } = await mount();
  client.handlers.findUser = () => ({ user: CAROL });
  await type("/new +15550003", KEY.enter);
  await see(/│carol\n/);
  await gone(/│carol\n.*│online/);
  client.emit("event", { ev: "presence", user: CAROL.id, online: true, last_seen: null });
  await see(/│carol\n.*│online/);
  const d2 = channel("d2", { kind: "direct", name: "carol", members: [ALICE.id, CAROL.id], last_seq: 1 });
  client.handlers.getAll = () => ({ channels: [d2] });
  client.push(msg("d2", 1, CAROL.id, "hey", { sent_at: Date.now() }));
  await see(/● carol/);
});

test("narrow (under 60 columns): one pane at a time, the jump box over the list, the conversation from column 0", async () => {
  const { frame, type } = await mount({ size: { columns: 50, rows: 20 } });
  const top = (...rows: string[]) => until(() => expect(frame().split("\n").slice(0, rows.length)).toEqual(rows), rows.join(" / "));
  await top("Chats (2) ◂");
  await type(KEY.ctrlK);
  await top("Jump to chat (Enter opens, Esc cancels)");
  await type("bo", KEY.enter);
  await top("bob", "", "─".repeat(50));
  for (const r of frame().split("\n")) expect(Bun.stringWidth(r)).toBeLessThanOrEqual(50);
});

test("a chat resized from wide to narrow and back keeps its frame", async () => {
  const { frame, type, resize } = await mount({ size: { columns: 100, rows: 30 } });
  const wide = () => until(() => expect(frame().split("\n")[0]).toMatch(/^Chats \(2\) +│bob$/), "the wide frame");
  await type(KEY.enter);
  await wide();
  resize({ columns: 50, rows: 20 });
  await until(() => expect(frame().split("\n").slice(0, 3)).toEqual(["bob", "", "─".repeat(50)]), "the narrow frame");
  resize({ columns: 100, rows: 30 });
  await wide();
  expect(frame().split("\n").filter((r) => r.includes("│"))).toHaveLength(28);
});
