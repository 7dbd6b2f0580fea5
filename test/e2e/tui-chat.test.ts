// `natter chat` in real terminals: a real server, `natter chat` processes in
// tmux (alice, bob, later carol), each with its own config dir. The tests
// run in order and build on each other, like one conversation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Channel, Message } from "../../src/protocol/index.ts";
import { api, startServer, tempDir, type TestServer } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, count, loggedInConfig, newUser, savedToken, send, stepsFor, tearDown } from "./tui-helpers.ts";

const T = 60_000;
const BANNER = /Connection lost|reconnecting|Offline|Connecting/;

describe.skipIf(!haveTmux())("natter chat in tmux", () => {
  const tmux = new Tmux("natter-tui");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let alice: Pane, bob: Pane, carol: Pane;
  let aliceCfg = "", bobCfg = "", carolCfg = "";
  let bobUser: { phone: string; name: string }, carolUser: { phone: string };
  let aliceCode = "";
  let carolCode = "";
  const dataDir = tempDir("natter-tui-data-");
  const srv = () => server;
  const aliceExit = join(dataDir, "..", `${dataDir.split("/").pop()}-alice.exit`);
  const step = stepsFor(tmux, srv);

  beforeAll(async () => {
    server = await startServer({ dataDir });
    const a = await newUser(server, "alice");
    const b = await newUser(server, "bob");
    const c = await newUser(server, "carol");
    aliceCode = a.code;
    carolCode = c.code;
    bobUser = b.user;
    carolUser = c.user;
    aliceCfg = tempDir("natter-tui-cfg-");
    bobCfg = await loggedInConfig(server, b.code);
    dirs.push(aliceCfg, bobCfg, dataDir);
  }, 30_000); // a server and `natter login` processes: slow on a busy machine

  afterAll(() => tearDown(tmux, server, [...dirs, aliceExit]));

  test(
    "first run asks for the server and a login code, then opens the chat list",
    step(async () => {
      alice = chatPane(tmux, "alice", aliceCfg, { exitFile: aliceExit });
      await alice.waitFor("Welcome to natter", 15_000);
      await alice.waitFor("No saved login");
      alice.type(server!.url);
      await alice.waitFor(`Server URL: ${server!.url}`);
      alice.keys("Enter");
      await alice.waitFor("› Login code:");
      alice.type(aliceCode);
      await alice.waitFor(`Login code: ${aliceCode}`);
      alice.keys("Enter");
      await alice.waitFor("› Device name:");
      alice.keys("Enter"); // keep the default device name, log in
      await alice.waitFor("Chats", 15_000, "the chat screen");
      await alice.waitFor("alice · 127.0.0.1");
    }),
    T,
  );

  test(
    "alice types, bob sees; the tick goes delivered, then seen when bob opens the chat",
    step(async () => {
      bob = chatPane(tmux, "bob", bobCfg);
      await bob.waitFor("bob · 127.0.0.1", 15_000);
      await send(alice, `/new ${bobUser.phone}`);
      await alice.waitFor("No messages yet");
      await send(alice, "hello bob");
      // The server tells both sides of a new chat about each other's presence.
      await alice.waitFor("● bob", 10_000, "bob online in alice's list (presence for a new contact)");
      await bob.waitFor("hello bob", 10_000, "bob's chat list preview");
      await alice.waitFor("hello bob ✓✓", 10_000, "two ticks (delivered)");
      expect(alice.capture()).not.toContain("hello bob ✔✔");
      bob.keys("Enter"); // open the selected (only) chat
      await bob.waitFor(/\d\d:\d\d alice: hello bob/);
      await alice.waitFor("hello bob ✔✔", 10_000, "seen ticks");
    }),
    T,
  );

  test(
    "a multi-line paste arrives as one message",
    step(async () => {
      bob.paste("line one\nline two\nline three");
      await bob.waitFor((s) => s.includes("› line one") && s.includes("  line three"), 5_000, "the pasted lines in bob's composer");
      await Bun.sleep(300);
      expect(bob.capture()).toContain("› line one"); // still in the composer: the paste did not send
      bob.keys("Enter");
      await alice.waitFor((s) => /bob: line one\n.*line two\n.*line three/.test(s), 10_000, "the three lines at alice");
      const channels = (await api(server!, savedToken(bobCfg), "getAll")).body.channels as Channel[];
      const direct = channels.find((c) => c.kind === "direct")!;
      const msgs = (await api(server!, savedToken(bobCfg), "getMessages", { channel: direct.id })).body.messages as Message[];
      expect(msgs.map((m) => m.content)).toEqual(["hello bob", "line one\nline two\nline three"]);
    }),
    T,
  );

  test(
    "server killed and restarted: both show the banner, then chat again with nothing lost or doubled",
    step(async () => {
      const port = server!.port;
      await server!.kill();
      server = null;
      await alice.waitFor(BANNER, 15_000, "alice's connection banner");
      await bob.waitFor(BANNER, 15_000, "bob's connection banner");
      await send(alice, "sent during the outage");
      await alice.waitFor("sent during the outage ◷", 5_000, "a queued (clock) tick");
      await alice.waitFor("1 message queued");
      server = await startServer({ dataDir, args: ["--port", String(port)] });
      await alice.waitGone(BANNER, 45_000);
      await bob.waitGone(BANNER, 45_000);
      await bob.waitFor("alice: sent during the outage", 15_000);
      await alice.waitFor("sent during the outage ✔✔", 15_000);
      await send(bob, "welcome back");
      await alice.waitFor("bob: welcome back", 10_000);
      await Bun.sleep(500);
      // Each message once in each conversation (list previews do not have the "HH:MM name:" form).
      for (const p of [alice, bob]) {
        const screen = p.capture();
        for (const text of ["hello bob", "line one", "sent during the outage", "welcome back"])
          expect(screen.match(new RegExp(`\\d\\d:\\d\\d (you|alice|bob): ${text}`, "g")), `${p.name}: ${text}`).toHaveLength(1);
      }
      const token = savedToken(bobCfg);
      const direct = ((await api(server, token, "getAll")).body.channels as Channel[]).find((c) => c.kind === "direct")!;
      const msgs = (await api(server, token, "getMessages", { channel: direct.id })).body.messages as Message[];
      expect(msgs.map((m) => m.content)).toEqual(["hello bob", "line one\nline two\nline three", "sent during the outage", "welcome back"]);
      expect(msgs.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    }),
    120_000,
  );

  test(
    "a group of three",
    step(async () => {
      carolCfg = await loggedInConfig(server!, carolCode);
      dirs.push(carolCfg);
      carol = chatPane(tmux, "carol", carolCfg);
      await carol.waitFor("carol · 127.0.0.1", 15_000);
      await send(alice, `/group trio ${bobUser.phone} ${carolUser.phone}`);
      await alice.waitFor("3 members: you, bob, carol", 10_000);
      await send(alice, "hi all");
      await carol.waitFor("hi all", 10_000, "carol's list preview");
      await bob.waitFor("hi all", 10_000, "bob's list preview");
      carol.keys("Enter"); // carol's only chat
      await carol.waitFor("trio");
      // carol shares no direct chat with alice or bob: their names come from getUsers.
      await carol.waitFor("3 members: you, alice, bob", 10_000, "member names in carol's header");
      await carol.waitFor(/\d\d:\d\d alice: hi all/, 10_000, "the sender's name at carol");
      bob.keys("C-k");
      await bob.waitFor("Jump to chat");
      bob.type("trio");
      await bob.waitFor("› trio");
      bob.keys("Enter");
      await bob.waitFor("3 members: you, alice, carol", 10_000, "member names in bob's header");
      await bob.waitFor("alice: hi all");
      await alice.waitFor("hi all ✔✔", 10_000, "seen by both");
      await send(carol, "carol here");
      await alice.waitFor("carol: carol here", 10_000);
      await bob.waitFor("carol here", 10_000);
      await send(bob, "bob too");
      await alice.waitFor("bob: bob too", 10_000);
      await carol.waitFor("bob too", 10_000);
    }),
    T,
  );

  test(
    "a media message shows as a labelled line with name and size",
    step(async () => {
      const token = savedToken(aliceCfg);
      const up = await fetch(`${server!.url}/api/media`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "text/plain", "x-filename": "minutes.txt" },
        body: "hello world",
      });
      expect(up.status).toBeLessThan(300);
      const { media } = (await up.json()) as { media: { id: string } };
      const trio = ((await api(server!, token, "getAll")).body.channels as Channel[]).find((c) => c.name === "trio")!;
      const sent = await api(server!, token, "sendMessage", { channel: trio.id, client_id: "media-1", type: "file", media: media.id, content: "from today" });
      expect(sent.status).toBe(200);
      for (const p of [alice, bob, carol]) await p.waitFor("[file: minutes.txt, 11 B] from today", 10_000, `${p.name}: the media label`);
    }),
    T,
  );

  test(
    "alice sends a PNG with /file; bob sees it labelled and /saves the same bytes",
    step(async () => {
      const files = join(dataDir, "..", `${dataDir.split("/").pop()}-files`);
      dirs.push(files);
      mkdirSync(join(files, "saved"), { recursive: true });
      const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
      writeFileSync(join(files, "cat.png"), png);
      const label = `[image: cat.png, ${png.length} B]`;
      alice.keys("C-k");
      alice.type("bob");
      await alice.waitFor("› bob");
      alice.keys("Enter");
      await alice.waitFor(/\d\d:\d\d bob: welcome back/, 10_000, "alice's chat with bob");
      await send(alice, `/file ${join(files, "cat.png")} a cat`);
      await alice.waitFor("sent cat.png", 10_000, "alice's upload notice");
      await alice.waitFor(`you: ${label} a cat`, 10_000, "alice's own media line");
      bob.keys("C-k");
      bob.type("alice");
      await bob.waitFor("› alice");
      bob.keys("Enter");
      await bob.waitFor(`alice: ${label} a cat`, 10_000, "bob's media label");
      await send(bob, `/save ${join(files, "saved")}/`);
      await bob.waitFor("saved ", 10_000, "bob's save notice");
      expect(readFileSync(join(files, "saved", "cat.png")).equals(png)).toBe(true);
      // Again: never overwrites, picks a free name.
      await send(bob, `/save ${join(files, "saved")}/`);
      await bob.waitFor("cat (1).png", 10_000, "a second copy beside the first");
      expect(readFileSync(join(files, "saved", "cat (1).png")).equals(png)).toBe(true);
      // Back to the group for the next test.
      alice.keys("C-k");
      alice.type("trio");
      await alice.waitFor("› trio");
      alice.keys("Enter");
      await alice.waitFor("bob: bob too");
    }),
    T,
  );

  test(
    "NO_COLOR draws no color, the layout fits 80x24 after a resize, /quit exits 0",
    step(async () => {
      const ansi = alice.captureAnsi();
      expect(ansi).not.toMatch(/\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;5;\d+|38;2;[\d;]+)m/);
      alice.resize(80, 24);
      await alice.waitFor((s) => s.includes("Chats") && s.includes("› ") && s.split("\n").every((l) => Bun.stringWidth(l) <= 80), 10_000, "the 80x24 layout");
      await Bun.sleep(300);
      const lines = alice.capture().split("\n");
      for (const l of lines) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(80);
      expect(alice.capture()).toContain("bob: bob too");
      await send(alice, "/quit");
      const deadline = Date.now() + 10_000;
      while (!existsSync(aliceExit) && Date.now() < deadline) await Bun.sleep(100);
      expect(existsSync(aliceExit) ? readFileSync(aliceExit, "utf8").trim() : "still running").toBe("0");
    }),
    T,
  );
});
