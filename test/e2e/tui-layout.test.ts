// `natter chat` at many terminal sizes, in tmux: every size from 40x12 up
// draws a whole frame (header, conversation, composer, status line) with no
// line wider than the terminal, and a resize round trip leaves no trace.
import { afterAll, beforeAll, describe, test } from "bun:test";
import { api, type TestServer } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, frameProblems, stepsFor, tearDown, twoPeople } from "./tui-helpers.ts";

const T = 60_000;

describe.skipIf(!haveTmux())("natter chat layout in tmux", () => {
  const tmux = new Tmux("natter-tui-layout");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let alice: Pane;
  let host = "";
  const step = stepsFor(tmux, () => server);

  /** Resizes and waits until the frame is whole for that size (the open chat with bob, composer focused). */
  const resizeTo = async (w: number, h: number) => {
    const problems = (s: string) => frameProblems(s, { width: w, height: h, title: "bob", who: "alice · ", text: "are you there?" });
    alice.resize(w, h);
    await alice.waitFor((s) => problems(s).length === 0, 10_000, `a clean ${w}x${h} frame`).catch((e: Error) => {
      throw new Error(`${problems(alice.capture()).join("; ")}\n${e.message}`);
    });
  };

  beforeAll(async () => {
    const people = await twoPeople("natter-tui-layout-", dirs);
    server = people.server;
    const sent = await api(people.server, people.bob.token, "sendMessage", { to: people.alice.id, client_id: "l1", type: "text", content: "are you there?" });
    if (sent.status !== 200) throw new Error(`send failed: ${JSON.stringify(sent.body)}`);
    host = new URL(people.server.url).host;
    alice = chatPane(tmux, "alice", people.aliceCfg, { width: 100, height: 30 });
  }, 30_000); // a server and `natter login` processes: slow on a busy machine

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "every size from 40x12 up draws a whole frame, and recovers from a resize round trip",
    step(async () => {
      await alice.waitFor(`alice · ${host}`, 15_000);
      alice.keys("Enter"); // open the only chat
      await alice.waitFor(/\d\d:\d\d bob: are you there\?/);
      await resizeTo(100, 30);
      for (const [w, h] of [
        [50, 20],
        [40, 12],
        [59, 16],
        [60, 16],
        [80, 24],
        [45, 14],
        [132, 43],
        [100, 30],
        [90, 30],
        [70, 30],
        [60, 30],
        [59, 30],
      ] as const)
        await resizeTo(w, h);
    }),
    T,
  );

  test(
    "at 40x12 the chat list, the jump box and /help each take the screen, one row per line",
    step(async () => {
      const fits = (s: string) => s.replace(/\n$/, "").split("\n").length <= 12 && s.split("\n").every((r) => Bun.stringWidth(r) <= 40);
      await resizeTo(40, 12);
      alice.keys("BTab"); // composer -> chat list
      await alice.waitFor((s) => s.startsWith("Chats (1) ◂") && s.includes("▌ are you there?") && fits(s), 5_000, "the chat list alone");
      alice.keys("C-k");
      await alice.waitFor((s) => s.startsWith("Jump to chat") && s.includes("  bob") && fits(s), 5_000, "the jump box over the list");
      alice.keys("Escape");
      await alice.waitFor((s) => s.startsWith("Chats (1) ◂"), 5_000, "the list again");
      alice.type("/help");
      await alice.waitFor("› /help");
      alice.keys("Enter");
      await alice.waitFor((s) => s.startsWith("natter chat: commands and keys") && s.split("\n")[1]!.startsWith("/new PHONE") && fits(s), 5_000, "/help, its title on one row");
      alice.keys("Escape");
      await alice.waitGone("natter chat: commands and keys");
    }),
    T,
  );
});
