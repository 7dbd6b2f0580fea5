// `natter chat` over two server URLs (tmux, real server): the status line
// names the node in use; when it dies and the same data comes back on the
// other listed port, the chat moves there and a message typed meanwhile is
// stored once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, makeUser, runCli, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, newUser, send, stepsFor, tearDown } from "./tui-helpers.ts";

/** A loopback port where nothing listens (bound once, then closed). */
function closedPort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

describe.skipIf(!haveTmux())("natter chat over several servers in tmux", () => {
  const tmux = new Tmux("natter-tui-failover");
  let server: TestServer | null = null;
  const dataDir = tempDir("natter-tui-failover-");
  const dirs: string[] = [dataDir];
  let alice: Pane;
  let bob: TestUser;
  const otherPort = closedPort();
  const step = stepsFor(tmux, () => server);

  beforeAll(async () => {
    server = await startServer({ dataDir });
    const a = await newUser(server, "alice");
    bob = await makeUser(server, "bob");
    const cfg = tempDir("natter-tui-cfg-");
    dirs.push(cfg);
    const r = await runCli(["login", "--server", `${server.url},127.0.0.1:${otherPort}`, "--code", a.code, "--device", "tmux"], { env: { NATTER_CONFIG_DIR: cfg } });
    if (r.code !== 0) throw new Error(`natter login failed (${r.code}): ${r.stderr}${r.stdout}`);
    alice = chatPane(tmux, "alice", cfg);
  }, 30_000);

  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "the status line names the node; the chat moves to the other one and sends what was typed during the outage",
    step(async () => {
      await alice.waitFor(`alice · 127.0.0.1:${server!.port} (one of 2 nodes)`, 15_000, "the status line on the first node");
      alice.type(`/new ${bob.user.phone}`);
      alice.keys("Enter");
      await alice.waitFor("Message bob", 5_000);
      await server!.kill();
      server = null;
      await alice.waitFor(/Connection lost · reconnecting/, 10_000, "the banner");
      await send(alice, "typed while down");
      server = await startServer({ dataDir, args: ["--port", String(otherPort)] });
      await alice.waitFor(`alice · 127.0.0.1:${otherPort} (one of 2 nodes)`, 15_000, "the status line on the other node");
      await alice.waitGone(/Connection lost|reconnecting/, 10_000);
      const s = server;
      const stored = await until(async () => {
        const { body } = await api(s, bob.token, "getAll");
        const ch = (body.channels as Array<{ id: string; last_seq: number }>)[0];
        return ch && ch.last_seq >= 1 ? ch : null;
      }, 10_000, "the message stored");
      const { body } = await api(s, bob.token, "getMessages", { channel: stored.id });
      expect(body.messages.map((m: { content: string }) => m.content)).toEqual(["typed while down"]);
    }),
    60_000,
  );
});
