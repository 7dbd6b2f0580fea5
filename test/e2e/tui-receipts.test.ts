// Seen receipts from `natter chat` in tmux, against a real server: a chat
// opened with the other side's message on screen is marked seen, even when
// our own newer message (sent from another device) is the last one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Channel, Message } from "../../src/protocol/index.ts";
import { api, runCli, until, type TestServer, type TestUser } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, savedToken, stepsFor, tearDown, twoPeople } from "./tui-helpers.ts";

const T = 60_000;

describe.skipIf(!haveTmux())("natter chat receipts in tmux", () => {
  const tmux = new Tmux("natter-tui-receipts");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let alice: Pane;
  let aliceCfg = "";
  let bob: TestUser;
  let aliceId = "";
  const step = stepsFor(tmux, () => server);

  beforeAll(async () => {
    const people = await twoPeople("natter-tui-receipts-", dirs);
    ({ aliceCfg, bob } = people);
    server = people.server;
    aliceId = people.alice.id;
    const g = await api(people.server, people.aliceToken, "createGroup", { name: "team", members: [bob.user.id] });
    if (g.status !== 200) throw new Error(`createGroup failed: ${JSON.stringify(g.body)}`);
  }, 30_000); // a server and `natter login` processes: slow on a busy machine

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "bob asks, alice answers from the CLI, alice opens the chat: both are seen, nothing stays unread",
    step(async () => {
      alice = chatPane(tmux, "alice", aliceCfg);
      await alice.waitFor("alice · 127.0.0.1", 15_000);
      alice.keys("Enter"); // the only chat: team
      await alice.waitFor("2 members: you, bob");
      const asked = await api(server!, bob.token, "sendMessage", { to: aliceId, client_id: "q1", type: "text", content: "q" });
      expect(asked.status).toBe(200);
      const direct = (asked.body.message as Message).channel;
      const cli = await runCli(["send", "--to", bob.user.phone, "a"], { env: { NATTER_CONFIG_DIR: aliceCfg } });
      expect(cli.code).toBe(0);
      await alice.waitFor("you: a", 10_000, "alice's own answer in the list preview");
      alice.keys("C-k");
      await alice.waitFor("Jump to chat");
      alice.type("bob");
      await alice.waitFor("› bob");
      alice.keys("Enter");
      await alice.waitFor((s) => /\d\d:\d\d bob: q\n/.test(s) && /\d\d:\d\d you: a/.test(s), 10_000, "both messages on alice's screen");
      const mine = await until(
        async () => ((await api(server!, savedToken(aliceCfg), "getAll")).body.channels as Channel[]).find((c) => c.id === direct && c.unread === 0 && c.seen_seq === 2),
        10_000,
        "alice's seen cursor at 2 on the server",
      );
      expect(mine.unread).toBe(0);
      const bobs = await until(
        async () => {
          const ms = (await api(server!, bob.token, "getMessages", { channel: direct })).body.messages as Message[];
          return ms[0]?.seen_at != null && ms;
        },
        10_000,
        "bob's question seen",
      );
      expect(bobs.map((m) => m.content)).toEqual(["q", "a"]);
    }),
    T,
  );
});
