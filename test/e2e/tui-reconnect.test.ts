// Reconnecting, as a person sees it in `natter chat` (tmux, real server):
// during an outage the banner counts down to the next attempt, never more
// than the 5 s cap, and Ctrl-R tries at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, tempDir, type TestServer } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, loggedInConfig, newUser, stepsFor, tearDown } from "./tui-helpers.ts";

const COUNTDOWN = /reconnecting in (\d+) s \(Ctrl-R: now\)/;

describe.skipIf(!haveTmux())("natter chat reconnecting in tmux", () => {
  const tmux = new Tmux("natter-tui-reconnect");
  let server: TestServer | null = null;
  const dataDir = tempDir("natter-tui-reconnect-");
  const dirs: string[] = [dataDir];
  let alice: Pane;
  const step = stepsFor(tmux, () => server);

  beforeAll(async () => {
    server = await startServer({ dataDir });
    const a = await newUser(server, "alice");
    const cfg = await loggedInConfig(server, a.code);
    dirs.push(cfg);
    alice = chatPane(tmux, "alice", cfg);
    await alice.waitFor("alice · 127.0.0.1", 15_000);
  }, 30_000); // a server and `natter login` processes: slow on a busy machine

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "an outage: the countdown never shows more than 5 s, Ctrl-R tries at once, and the server's return is found within the cap",
    step(async () => {
      const port = server!.port;
      await server!.kill();
      server = null;
      // Watch the banner for 10 s of outage: every countdown is within the cap.
      const shown = new Set<number>();
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        const m = COUNTDOWN.exec(alice.capture());
        if (m) shown.add(Number(m[1]));
        await Bun.sleep(100);
      }
      expect(shown.size).toBeGreaterThan(0);
      expect(Math.max(...shown)).toBeLessThanOrEqual(5);
      // Ctrl-R while a retry is a second or more away: an attempt now.
      await alice.waitFor(/reconnecting in [2-5] s \(Ctrl-R: now\)/, 15_000, "a countdown of 2 s or more");
      alice.keys("C-r");
      await alice.waitFor("reconnecting now…", 5_000, "the notice for Ctrl-R");
      server = await startServer({ dataDir, args: ["--port", String(port)] });
      await alice.waitGone(/Connection lost|reconnecting/, 10_000);
    }),
    60_000,
  );
});
