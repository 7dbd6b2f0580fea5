// Edits, deletes and reactions in `natter chat` (tmux), against a real server: Up in an empty
// composer edits alice's last message; the message picker (Tab to the messages pane) reacts with
// a digit and deletes with d; bob's edit, reaction and delete (through the API) show live as
// "edited", reactions with who, and "message deleted"; the server holds the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Message } from "../../src/protocol/index.ts";
import { api, until, type TestServer, type TestUser } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, send, stepsFor, tearDown, twoPeople } from "./tui-helpers.ts";

const T = 60_000;

describe.skipIf(!haveTmux())("natter chat edits in tmux", () => {
  const tmux = new Tmux("natter-tui-edits");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let alice: Pane;
  let aliceToken = "";
  let aliceCfg = "";
  let bob: TestUser;
  let direct = "";
  const step = stepsFor(tmux, () => server);
  const history = async () => (await api(server!, bob.token, "getMessages", { channel: direct })).body.messages as Message[];

  beforeAll(async () => {
    const people = await twoPeople("natter-tui-edits-", dirs);
    ({ bob, aliceToken, aliceCfg } = people);
    server = people.server;
    const first = await api(server, bob.token, "sendMessage", { to: people.alice.id, client_id: "b1", type: "text", content: "lunch at noon?" });
    direct = (first.body.message as Message).channel;
  }, 30_000);

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "Up edits alice's last message; bob's edit, reaction and delete show live",
    step(async () => {
      alice = chatPane(tmux, "alice", aliceCfg);
      await alice.waitFor("alice · 127.0.0.1", 15_000);
      alice.keys("Enter"); // the only chat: bob
      await alice.waitFor(/\d\d:\d\d bob: lunch at noon\?/);
      await send(alice, "yes, see you tehre");
      await alice.waitFor("you: yes, see you tehre ✓");
      alice.keys("Up");
      await alice.waitFor("Editing your message");
      await alice.waitFor("› yes, see you tehre");
      alice.keys("BSpace", "BSpace", "BSpace", "BSpace", "BSpace");
      alice.type("here");
      await alice.waitFor("› yes, see you here");
      alice.keys("Enter");
      await alice.waitFor((s) => /you: yes, see you here/.test(s) && /│\s+edited\s*$/m.test(s), 10_000, "the edited text, marked edited");
      const mine = await until(async () => (await history()).find((m) => m.content === "yes, see you here"), 10_000, "the edit on the server");
      expect(mine.edited_at).toBeNumber();

      // Bob edits, reacts and deletes through the API: alice sees each live.
      const b2 = (await api(server!, bob.token, "sendMessage", { channel: direct, client_id: "b2", type: "text", content: "bring teh map" })).body.message as Message;
      await alice.waitFor("bob: bring teh map");
      await api(server!, bob.token, "editMessage", { channel: direct, seq: b2.seq, content: "bring the map" });
      await alice.waitFor((s) => s.includes("bob: bring the map") && !s.includes("teh map"), 10_000, "bob's edit live");
      await api(server!, bob.token, "react", { channel: direct, seq: mine.seq, emoji: "🎉" });
      await alice.waitFor("edited · 🎉 bob", 10_000, "bob's reaction under alice's message");
      await api(server!, bob.token, "deleteMessage", { channel: direct, seq: b2.seq, scope: "everyone" });
      await alice.waitFor((s) => s.includes("bob: message deleted") && !s.includes("bring the map"), 10_000, "the tombstone");
    }),
    T,
  );

  test(
    "the message picker: a digit reacts, d asks and deletes for everyone or only for alice",
    step(async () => {
      alice.keys("Tab"); // the messages pane, newest selected
      await alice.waitFor("d: delete");
      alice.keys("Up"); // alice's edited message (above bob's tombstone)
      alice.type("1");
      await alice.waitFor("🎉 bob · 👍 you", 10_000, "alice's 👍 beside bob's 🎉");
      expect((await history()).find((m) => m.content === "yes, see you here")!.reactions).toHaveLength(2);
      alice.type("d");
      await alice.waitFor("Delete this message? e: for everyone · m: for me · n: keep");
      alice.type("n");
      await alice.waitGone("Delete this message?");
      alice.type("d");
      await alice.waitFor("e: for everyone");
      alice.type("e");
      await alice.waitFor((s) => s.includes("you: message deleted") && !s.includes("see you here"), 10_000, "alice's tombstone");
      const mine = await until(async () => (await history()).find((m) => m.sender !== bob.user.id && m.type === "text" && m.deleted_at !== null), 10_000, "deleted on the server");
      expect(mine).toMatchObject({ content: "", reactions: [] });
      // Bob's first message, deleted only for alice: gone from her screen, still there for bob.
      alice.keys("Tab"); // from the composer to the messages pane again: newest selected
      await alice.waitFor("d: delete");
      for (let i = 0; i < 3; i++) alice.keys("Up");
      alice.type("d");
      await alice.waitFor("Delete this message for you? m: for me · n: keep");
      alice.type("m");
      await alice.waitFor((s) => !s.includes("lunch at noon?"), 10_000, "hidden for alice");
      expect((await history()).some((m) => m.content === "lunch at noon?")).toBe(true);
      const hers = (await api(server!, aliceToken, "getMessages", { channel: direct })).body.messages as Message[];
      expect(hers.some((m) => m.content === "lunch at noon?")).toBe(false);
    }),
    T,
  );
});
