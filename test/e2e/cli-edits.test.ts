// Edits, deletes and reactions through the client library and the CLI against the real server:
// NatterClient catching up on changes made while it was away (and folding them into what it
// holds), `natter edit / delete [--for-me] / react [--remove]` with --json, and the changes shown
// by `natter watch` (live, in order) and `natter history`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { foldChange, NatterClient, type ChangeNote } from "../../src/client/index.ts";
import type { Message } from "../../src/protocol/index.ts";
import { adminFetch, api, login, makeUser, NATTER, runCli, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";

const T = 60_000;

describe("edits in the client library and the CLI", () => {
  let server: TestServer;
  let cfg: string;
  let alice: TestUser;
  let bob: TestUser;
  let direct: string;
  const env = () => ({ NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" });
  const cli = (args: string[], stdin?: string) => runCli(args, { env: env(), stdin });
  const aliceSend = async (content: string) =>
    (await api(server, alice.token, "sendMessage", { channel: direct, client_id: crypto.randomUUID(), type: "text", content })).body.message as Message;

  beforeAll(async () => {
    server = await startServer();
    cfg = tempDir("natter-cfg-");
    bob = await makeUser(server, "Bob");
    const res = await adminFetch(server, "POST", "/admin/users", { name: "Alice", phone: "+15557770009" });
    const made = (await res.json()) as { user: { id: string }; code: string };
    const r = await runCli(["login", "--server", server.url, "--code", made.code, "--device", "cli"], { env: env() });
    expect(r.code).toBe(0);
    const { code } = (await (await adminFetch(server, "POST", `/admin/users/${made.user.id}/code`)).json()) as { code: string };
    const second = await login(server, code, "script");
    alice = { user: second.user, token: second.token, deviceId: second.device.id };
    direct = (await api(server, bob.token, "sendMessage", { to: alice.user.id, client_id: "hi", type: "text", content: "hi alice" })).body.message.channel;
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    if (cfg) rmSync(cfg, { recursive: true, force: true });
  });

  test("NatterClient: changes made while it was away arrive as 'change' in seq order; folding them gives the server's state", async () => {
    const client = new NatterClient({ server: server.url, token: bob.token });
    const held = new Map<number, Message>();
    const changes: ChangeNote[] = [];
    client.on("message", (m) => held.set(m.seq, m));
    client.on("change", (c) => {
      changes.push(c);
      const t = held.get(c.target);
      if (!t) return;
      const next = foldChange(t, c.entry);
      if (next) held.set(c.target, next);
      else held.delete(c.target);
    });
    try {
      client.connect();
      await client.waitOpen();
      const m1 = await aliceSend("one");
      const m2 = await aliceSend("two");
      await until(() => held.has(m2.seq), 10_000, "live messages");
      client.close();
      await api(server, alice.token, "editMessage", { channel: direct, seq: m1.seq, content: "ONE" });
      await api(server, alice.token, "react", { channel: direct, seq: m1.seq, emoji: "👍" });
      await api(server, alice.token, "deleteMessage", { channel: direct, seq: m2.seq, scope: "everyone" });
      client.connect();
      await until(() => changes.length === 3, 10_000, "three changes after catch-up");
      expect(changes.map((c) => [c.record.op, c.target])).toEqual([["edit", m1.seq], ["react", m1.seq], ["delete", m2.seq]]);
      // Live too, own actions included; delete-for-me drops it.
      await client.react(direct, m1.seq, "🎉");
      expect(await client.editMessage(direct, m1.seq, "mine").catch((e) => e.code)).toBe("forbidden"); // Alice's
      await client.deleteMessage(direct, m1.seq, "me");
      await until(() => changes.length === 5, 10_000, "own changes live");
      const server1 = (await api(server, bob.token, "getMessages", { channel: direct })).body.messages as Message[];
      for (const s of [m1.seq, m2.seq]) expect(held.get(s)).toEqual(server1.find((m) => m.seq === s));
      expect(held.has(m1.seq)).toBe(false);
      expect(held.get(m2.seq)).toMatchObject({ content: "", deleted_at: expect.any(Number) });
    } finally {
      client.close();
    }
  }, T);

  test("natter edit / react / delete with --json and text; errors exit non-zero with the code; watch and history show them", async () => {
    const proc = Bun.spawn([NATTER, "watch", "--json"], { env: { ...process.env, ...env() }, stdout: "pipe", stderr: "pipe" });
    let out = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    const lines = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    try {
      await until(() => lines().find((e) => e.ev === "hello"), 15_000, "hello from watch");
      const sent = await runCli(["send", "--channel", direct, "--json", "teh typo"], { env: env() });
      const m = JSON.parse(sent.stdout) as Message;
      const e1 = await cli(["edit", direct, String(m.seq), "--json", "-"], "the typo, fixed\n");
      expect(e1.code).toBe(0);
      expect(JSON.parse(e1.stdout).message).toMatchObject({ seq: m.seq, content: "the typo, fixed", edited_at: expect.any(Number) });
      expect((await cli(["react", direct, String(m.seq), "👍"])).stdout).toBe(`reacted 👍 to ${m.id}\n`);
      await api(server, bob.token, "react", { channel: direct, seq: m.seq, emoji: "😂" });
      // Text history: edited, reactions with who.
      const h = await cli(["history", direct]);
      expect(h.stdout).toMatch(new RegExp(`^${m.seq}  .*  Alice  the typo, fixed \\(edited\\) \\[👍 1: Alice\\] \\[😂 1: Bob\\]$`, "m"));
      expect(h.stdout).toMatch(new RegExp(`^${m.seq + 1}  .*  Alice  \\(edited #${m.seq}\\)$`, "m"));
      expect((await cli(["react", direct, String(m.seq), "--remove"])).stdout).toBe(`removed your reaction to ${m.id}\n`);
      const d = await cli(["delete", direct, String(m.seq), "--json"]);
      expect(JSON.parse(d.stdout)).toEqual({ deleted: m.id, scope: "everyone" });
      expect((await cli(["history", direct])).stdout).toMatch(new RegExp(`^${m.seq}  .*  Alice  \\(message deleted\\)$`, "m"));
      // watch printed each change once, in seq order, as JSON lines.
      await until(() => lines().filter((e) => ["edit", "reaction", "delete"].includes(e.ev)).length >= 5, 10_000, "change lines");
      const got = lines().filter((e) => ["edit", "reaction", "delete"].includes(e.ev));
      expect(got.map((e) => [e.ev, e.seq, e.change_seq, e.emoji ?? e.content ?? e.scope])).toEqual([
        ["edit", m.seq, m.seq + 1, "the typo, fixed"],
        ["reaction", m.seq, m.seq + 2, "👍"],
        ["reaction", m.seq, m.seq + 3, "😂"],
        ["reaction", m.seq, m.seq + 4, ""],
        ["delete", m.seq, m.seq + 5, "everyone"],
      ]);
      // Refusals: someone else's message, a bad emoji (usage, before any request), a missing seq.
      const other = await cli(["edit", direct, "1", "mine now"]);
      expect([other.code, other.stderr]).toEqual([1, expect.stringContaining("(forbidden)")]);
      expect((await cli(["react", direct, "1", "ok"])).code).toBe(2);
      expect((await cli(["delete", direct, "999"])).stderr).toContain("(not_found)");
      // Delete for me: gone from my history only.
      expect((await cli(["delete", direct, "1", "--for-me"])).stdout).toBe(`deleted ${direct}:1 for you\n`);
      expect((await cli(["history", direct])).stdout).not.toMatch(/hi alice/);
      const bobs = (await api(server, bob.token, "getMessages", { channel: direct })).body.messages as Message[];
      expect(bobs[0]!.content).toBe("hi alice");
    } finally {
      proc.kill("SIGINT");
    }
    expect(await proc.exited).toBe(0);
  }, T);
});
