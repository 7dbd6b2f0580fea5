// Phone numbers typed in `natter chat` (tmux): spaced and quoted numbers open
// the chat, /group takes spaced numbers, and a number the server refuses is
// reported with its reason.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Channel } from "../../src/protocol/index.ts";
import { addUser, api, login, startServer, until, type TestServer } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, loggedInConfig, newUser, send, stepsFor, tearDown } from "./tui-helpers.ts";

const T = 60_000;

/** "+17771234001" as a person writes it: "+1 777 123 4001". */
const spaced = (e164: string) => e164.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, "+1 $1 $2 $3");

describe.skipIf(!haveTmux())("phone numbers in natter chat", () => {
  const tmux = new Tmux("natter-tui-phone");
  let server: TestServer | null = null;
  let alice: Pane;
  let aliceCfg = "";
  let bob: { phone: string; token: string }, carol: { phone: string; token: string };
  const step = stepsFor(tmux, () => server);
  const chatsOf = async (token: string) => (await api(server!, token, "getAll")).body.channels as Channel[];

  beforeAll(async () => {
    server = await startServer();
    const [a, b, c] = [await newUser(server, "alice"), await newUser(server, "bob"), await newUser(server, "carol")];
    bob = { phone: b.user.phone, token: (await login(server, b.code)).token };
    carol = { phone: c.user.phone, token: (await login(server, c.code)).token };
    aliceCfg = await loggedInConfig(server, a.code);
    alice = chatPane(tmux, "alice", aliceCfg);
    await alice.waitFor("alice · 127.0.0.1", 15_000);
  }, T);

  afterAll(() => tearDown(tmux, server, aliceCfg ? [aliceCfg] : []));

  test(
    "/new with a quoted, spaced number opens the chat with that person",
    step(async () => {
      await send(alice, `/new '${spaced(bob.phone)}'`);
      await alice.waitFor("No messages yet", 10_000, "the new chat with bob");
      await send(alice, "found you by your number");
      const isIt = (c: Channel) => c.kind === "direct" && c.last_message?.content === "found you by your number";
      await until(async () => (await chatsOf(bob.token)).find(isIt), 10_000, "the message in bob's chats");
    }),
    T,
  );

  test(
    "/group takes spaced numbers without quotes",
    step(async () => {
      await send(alice, `/group Pals ${spaced(bob.phone)} ${spaced(carol.phone)}`);
      await alice.waitFor("3 members: you, bob, carol", 10_000, "the new group's header");
      expect((await chatsOf(carol.token)).map((c) => c.name)).toContain("Pals");
    }),
    T,
  );

  test(
    "a number the server refuses is reported with the reason, and nothing opens",
    step(async () => {
      await send(alice, "/new +1 555");
      await alice.waitFor('not a phone number: "+1 555" (too short for +1)', 10_000, "the refusal in the status line");
      expect(alice.capture()).toContain("3 members: you, bob, carol"); // still in the group
    }),
    T,
  );

  test(
    "/new '+1 555 0002' opens the chat with the person whose number that is (E.164 as written)",
    step(async () => {
      const dora = await addUser(server!, "dora", "+15550002");
      const doraToken = (await login(server!, dora.code)).token;
      await send(alice, "/new '+1 555 0002'");
      await alice.waitFor("dora", 10_000, "the chat with dora");
      await send(alice, "short numbers work");
      const isIt = (c: Channel) => c.kind === "direct" && c.last_message?.content === "short numbers work";
      await until(async () => (await chatsOf(doraToken)).find(isIt), 10_000, "the message in dora's chats");
    }),
    T,
  );
});
