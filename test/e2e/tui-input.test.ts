// Keys and pastes in `natter chat`, in tmux against a real server: keys that
// arrive in one burst (a slow link, a busy program) act one by one, a
// bracketed paste never sends, and nothing typed is dropped without a word.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Channel, Message } from "../../src/protocol/index.ts";
import { api, tempDir, type TestServer, type TestUser } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, savedToken, stepsFor, tearDown, twoPeople } from "./tui-helpers.ts";

const T = 60_000;

describe.skipIf(!haveTmux())("natter chat input in tmux", () => {
  const tmux = new Tmux("natter-tui-input");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let alice: Pane;
  let aliceCfg = "";
  let bob: TestUser;
  let aliceId = "";
  let team = "";
  let direct = "";
  let png = "";
  const step = stepsFor(tmux, () => server);
  const contents = async (channel: string) =>
    ((await api(server!, savedToken(aliceCfg), "getMessages", { channel })).body.messages as Message[]).map((m) => m.content);
  const channels = async () => (await api(server!, savedToken(aliceCfg), "getAll")).body.channels as Channel[];

  beforeAll(async () => {
    const people = await twoPeople("natter-tui-input-", dirs);
    ({ aliceCfg, bob } = people);
    server = people.server;
    aliceId = people.alice.id;
    const g = await api(people.server, people.aliceToken, "createGroup", { name: "team", members: [bob.user.id] });
    team = g.body.channel.id;
    const d = await api(people.server, bob.token, "sendMessage", { to: aliceId, client_id: "d1", type: "text", content: "hi alice" });
    direct = d.body.message.channel;
    const files = tempDir("natter-tui-input-files-");
    dirs.push(files);
    mkdirSync(files, { recursive: true });
    png = join(files, "cat.png");
    writeFileSync(png, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64"));
    alice = chatPane(tmux, "alice", aliceCfg);
    await alice.waitFor("alice · 127.0.0.1", 15_000);
    await alice.waitFor("team");
  }, 30_000); // a server and `natter login` processes: slow on a busy machine

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "Ctrl-K, a name and Enter in one burst open that chat; the rest of the burst is typed and sent there",
    step(async () => {
      alice.type("\x0bteam\rhi team\r");
      await alice.waitFor(/\d\d:\d\d you: hi team/, 10_000, "the message in the team chat");
      expect(alice.capture()).not.toContain("Jump to chat");
      expect(alice.capture()).toContain("2 members: you, bob");
      expect(await contents(team)).toEqual(["hi team"]);
    }),
    T,
  );

  test(
    "/file typed in one burst uploads and sends; a missing file says so",
    step(async () => {
      alice.type(`/file ${png} a cat\r`);
      await alice.waitFor("sent cat.png", 10_000, "the upload notice");
      await alice.waitFor(/you: \[image: cat\.png, \d+ B\] a cat/);
      alice.type("/file /no/such/dir/x.png\r");
      await alice.waitFor("no such file", 10_000, "the error for a missing file");
      expect(await contents(team)).toEqual(["hi team", "a cat"]);
    }),
    T,
  );

  test(
    "Enter in the jump box with no match keeps it open and says so: what follows is not typed into another chat",
    step(async () => {
      alice.keys("C-u");
      alice.type("\x0bzzz\rhello\r");
      await alice.waitFor('no chat matches "zzz', 10_000, "the no-match notice");
      await alice.waitFor("› zzzhello");
      alice.keys("Escape");
      await alice.waitGone("Jump to chat");
      expect(await contents(team)).toEqual(["hi team", "a cat"]);
    }),
    T,
  );

  test(
    "a bracketed paste with newlines stays in the composer until Enter, then goes as one message",
    step(async () => {
      alice.paste("line one\nline two\n");
      await alice.waitFor((s) => s.includes("› line one") && s.includes("  line two"), 5_000, "the pasted lines in the composer");
      alice.keys("Enter");
      await alice.waitFor((s) => /you: line one\n.*line two/.test(s), 10_000, "the pasted message");
      expect((await contents(team)).at(-1)).toBe("line one\nline two");
    }),
    T,
  );

  test(
    "/leave with extra words is a usage error; /leave asks first: n stays, y leaves",
    step(async () => {
      alice.type("/leave now\r");
      await alice.waitFor("usage: /leave", 5_000, "the usage error");
      expect(alice.capture()).toContain("› /leave now");
      alice.keys("C-u");
      alice.type("/leave\r");
      await alice.waitFor("Leave team?", 5_000, "the question");
      alice.type("n");
      await alice.waitGone("Leave team?");
      const member = async () => (await channels()).find((c) => c.id === team)?.members.includes(aliceId) ?? false;
      expect(await member()).toBe(true);
      alice.type("/leave\r");
      await alice.waitFor("Leave team?", 5_000, "the question again");
      alice.type("y");
      await alice.waitFor("you left team", 10_000, "the notice");
      expect(await member()).toBe(false);
    }),
    T,
  );

  test(
    "s on a selected text message says there is no file to save and types nothing",
    step(async () => {
      alice.keys("C-k");
      await alice.waitFor("Jump to chat");
      alice.type("bob\r");
      await alice.waitFor(/\d\d:\d\d bob: hi alice/, 10_000, "the chat with bob");
      alice.keys("Tab"); // messages pane: the newest is selected
      await alice.waitFor("│  Message bob", 5_000, "the composer without focus");
      alice.type("s");
      await alice.waitFor("no file to save", 5_000, "the explanation");
      expect(alice.capture()).not.toContain("› s");
      expect(await contents(direct)).toEqual(["hi alice"]);
    }),
    T,
  );

  test(
    "a paste over 64 KiB is refused on Enter with the reason, and the draft stays",
    step(async () => {
      const big = `${`${"x".repeat(99)}\n`.repeat(720)}END-OF-DRAFT`; // 70.3 KiB
      alice.paste(big);
      await alice.waitFor("  END-OF-DRAFT", 10_000, "the end of the pasted text in the composer");
      alice.keys("Enter");
      await alice.waitFor("not sent: 70.3 KiB is over the 64 KiB limit", 10_000, "the reason");
      expect(alice.capture()).toContain("  END-OF-DRAFT");
      expect(await contents(direct)).toEqual(["hi alice"]);
    }),
    T,
  );
});
