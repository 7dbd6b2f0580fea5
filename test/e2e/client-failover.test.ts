// Several server URLs against real servers: a dead URL first in the list is
// passed over (library and CLI), and when the server a client is on dies and
// the same data comes back on ANOTHER port that is in the list, the client
// moves there, resends its outbox with the same client ids, and nothing is
// lost or doubled. (Two separate single-node servers would hold separate
// data, so the second "node" is the same data dir on another port: the data
// dir lock lets one process hold it at a time.)
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { NatterClient } from "../../src/client/index.ts";
import type { Message } from "../../src/protocol/index.ts";
import { adminFetch, api, makeUser, runCli, startServer, tempDir, until, type TestServer } from "../harness.ts";

const T = 60_000;

/** A loopback port where nothing listens (bound once, then closed). */
function closedPort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

describe("several servers", () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  test("a dead URL first in the list: the library and the CLI reach the live server", async () => {
    const server = await startServer();
    cleanup.push(() => server.cleanup());
    const dead = `http://127.0.0.1:${closedPort()}`;
    const alice = await makeUser(server, "Alice");
    const bob = await makeUser(server, "Bob");

    // The library, with the order pinned so the dead URL is tried first.
    const c = new NatterClient({ servers: [dead, server.url], token: alice.token, random: () => 0.99, requestTimeoutMs: 10_000 });
    cleanup.push(() => c.close());
    const tried: string[] = [];
    c.on("state", () => tried.push(c.server));
    c.connect();
    await c.waitOpen();
    expect(tried[0]).toBe(dead);
    expect(c.server).toBe(server.url);
    const m = await c.sendMessage({ to: bob.user.id, content: "through the second URL" });
    expect(m.seq).toBe(1);

    // The CLI: login saves both; every command works whichever it tries first.
    const cfg = tempDir("natter-cfg-");
    cleanup.push(() => rmSync(cfg, { recursive: true, force: true }));
    const env = { NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" };
    const res = await adminFetch(server, "POST", `/admin/users/${bob.user.id}/code`);
    const { code } = (await res.json()) as { code: string };
    const list = `${dead},${server.url.replace("http://", "")}`;
    const login = await runCli(["login", "--server", list, "--code", code, "--json"], { env });
    expect(login.stderr).toBe("");
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ server: dead, servers: [dead, server.url] });
    expect(await Bun.file(join(cfg, "profiles", "default.json")).json()).toMatchObject({ server: dead, servers: [dead, server.url] });
    const send = await runCli(["send", "--to", alice.user.id, "--json", "hi from the CLI"], { env });
    expect(send.code).toBe(0);
    expect(JSON.parse(send.stdout)).toMatchObject({ seq: 2, content: "hi from the CLI" });
    const chats = await runCli(["chats", "--json"], { env });
    expect(chats.code).toBe(0);
    expect(JSON.parse(chats.stdout).channels[0].last_seq).toBe(2);
    // --server overrides the saved list for one run, in the same form.
    const hist = await runCli(["history", m.channel, "--json", "--server", `${dead},${server.url}`], { env });
    expect(hist.code).toBe(0);
    expect(JSON.parse(hist.stdout).messages.map((x: Message) => x.content)).toEqual(["through the second URL", "hi from the CLI"]);
    // Only dead servers: still "cannot reach" (exit 3).
    const none = await runCli(["chats", "--server", `${dead},http://127.0.0.1:${closedPort()}`], { env });
    expect(none.code).toBe(3);
  }, T);

  test("the server dies; the same data comes back on another port in the list: the client moves, resends its outbox, nothing lost or doubled", async () => {
    const dataDir = tempDir("natter-failover-");
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let first: TestServer | null = await startServer({ dataDir });
    cleanup.push(() => first?.cleanup());
    const secondUrl = `http://127.0.0.1:${closedPort()}`;
    const alice = await makeUser(first, "Alice");
    const bob = await makeUser(first, "Bob");

    const c = new NatterClient({ servers: [first.url, secondUrl], token: alice.token, random: () => 0.99, requestTimeoutMs: 30_000 });
    cleanup.push(() => c.close());
    const got: Message[] = [];
    c.on("message", (m) => got.push(m));
    c.connect();
    await c.waitOpen();
    expect(c.server).toBe(first.url);
    const before = await Promise.all([1, 2, 3].map((i) => c.sendMessage({ to: bob.user.id, content: `m${i}` })));
    const channel = before[0]!.channel;

    // Sends in flight at the kill, and more while no server is up: all go to the outbox.
    const later = [4, 5, 6, 7, 8].map((i) => c.sendMessage({ to: bob.user.id, content: `m${i}` }));
    await first.kill();
    first = null;
    await until(() => c.state === "reconnecting", 10_000, "the client to see the drop");
    const outage = [9, 10].map((i) => c.sendMessage({ to: bob.user.id, content: `m${i}` }));

    const port = Number(new URL(secondUrl).port);
    const second = await startServer({ dataDir, args: ["--port", String(port)] });
    cleanup.push(() => second.cleanup());
    // Bob writes on the new node while Alice is still away: she gets it by catch-up.
    const fromBob = await api(second, bob.token, "sendMessage", { channel, client_id: crypto.randomUUID(), type: "text", content: "from bob" });
    expect(fromBob.status).toBe(200);

    const sent = await Promise.all([...later, ...outage]);
    expect(c.server).toBe(secondUrl);
    expect(sent.map((m) => m.content)).toEqual(["m4", "m5", "m6", "m7", "m8", "m9", "m10"]);
    await until(() => got.some((m) => m.content === "from bob"), 10_000, "bob's message by catch-up");

    const hist = await api(second, bob.token, "getMessages", { channel, limit: 200 });
    const messages = hist.body.messages as Message[];
    const mine = messages.filter((m) => m.sender === alice.user.id).map((m) => m.content);
    expect(mine.sort()).toEqual(["m1", "m10", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"].sort());
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect(new Set(messages.map((m) => m.client_id)).size).toBe(messages.length);
  }, T);
});
