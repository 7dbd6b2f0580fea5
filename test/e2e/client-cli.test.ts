// The client library and the scriptable client commands against the real
// server: login, send, chats, history, watch through bin/natter; reconnect,
// catch-up, outbox and rate-limit retry through NatterClient.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { NatterClient, type OutgoingEntry } from "../../src/client/index.ts";
import type { Message, ServerEvent, User } from "../../src/protocol/index.ts";
import { addDevice, adminFetch, api, makeUser, NATTER, runCli, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";

const T = 60_000;

/** A user created by the admin API, with a fresh login code not yet used. */
async function userWithCode(server: TestServer, name: string, phone: string): Promise<{ user: User; code: string }> {
  const res = await adminFetch(server, "POST", "/admin/users", { name, phone });
  expect([200, 201]).toContain(res.status);
  return (await res.json()) as { user: User; code: string };
}

describe("client commands", () => {
  let server: TestServer;
  let cfg: string;
  let alice: User;
  let bob: TestUser;
  const env = () => ({ NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" });
  const cli = (args: string[], stdin?: string) => runCli(args, { env: env(), stdin });

  beforeAll(async () => {
    server = await startServer();
    cfg = tempDir("natter-cfg-");
    bob = await makeUser(server, "Bob");
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    if (cfg) rmSync(cfg, { recursive: true, force: true });
  });

  test("without credentials every command exits 4 and says to log in", async () => {
    for (const args of [["chats"], ["history", "d_x"], ["send", "--to", "+1555", "hi"], ["watch"]]) {
      const r = await cli(args);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("natter login");
    }
  }, T);

  test("login exchanges the code and saves credentials with mode 0600", async () => {
    const made = await userWithCode(server, "Alice", "+15557770001");
    alice = made.user;
    const r = await cli(["login", "--server", server.url + "/", "--code", made.code, "--device", "laptop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Alice");
    const path = join(cfg, "profiles", "default.json");
    expect(r.stdout).toContain(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const saved = await Bun.file(path).json();
    expect(saved).toMatchObject({ server: server.url, user: { id: alice.id }, device: { name: "laptop" } });
    // A code works once.
    const again = await cli(["login", "--server", server.url, "--code", made.code, "--profile", "again"]);
    expect(again.code).not.toBe(0);
  }, T);

  let direct: string;
  test("send --to PHONE resolves the user, waits for the ack and prints the stored message", async () => {
    const r = await cli(["send", "--to", bob.user.phone, "--json", "hello bob"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Message;
    expect(m).toMatchObject({ sender: alice.id, content: "hello bob", seq: 1, type: "text" });
    direct = m.channel;
    // Bob sees it in his history.
    const h = await api(server, bob.token, "getMessages", { channel: direct });
    expect(h.status).toBe(200);
    expect(h.body.messages.map((x: Message) => x.content)).toEqual(["hello bob"]);
  }, T);

  test("send reads the text from stdin with -, and to a channel, as a reply", async () => {
    const r = await cli(["send", "--channel", direct, "--reply-to", `${direct}:1`, "-"], "line one\nline two\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`sent ${direct}:2\n`);
    const h = await api(server, bob.token, "getMessages", { channel: direct });
    expect(h.body.messages[1]).toMatchObject({ content: "line one\nline two", reply_to: `${direct}:1` });
  }, T);

  test("send to an unknown phone fails with not_found and exit 1", async () => {
    const r = await cli(["send", "--to", "+19999999999", "nobody"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not_found");
  }, T);

  test("chats lists the direct chat by the other person's name, with unread and preview", async () => {
    await api(server, bob.token, "sendMessage", { channel: direct, client_id: "b1", type: "text", content: "hi alice" });
    const r = await cli(["chats"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+KIND\s+NAME\s+UNREAD\s+LAST MESSAGE$/);
    expect(lines[1]).toMatch(new RegExp(`^${direct}\\s+direct\\s+Bob\\s+1\\s+Bob: hi alice$`));
    const j = await cli(["chats", "--json"]);
    const { channels } = JSON.parse(j.stdout);
    expect(channels).toHaveLength(1);
    expect(channels[0]).toMatchObject({ id: direct, kind: "direct", name: "Bob", unread: 1, last_seq: 3 });
  }, T);

  test("history prints seq, time, sender name and text, oldest first, with cursors", async () => {
    const r = await cli(["history", direct]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Alice  hello bob$/);
    expect(lines[3]).toMatch(/^3  .*  Bob  hi alice$/);
    const after = JSON.parse((await cli(["history", direct, "--after", "1", "--limit", "1", "--json"])).stdout);
    expect(after.messages.map((m: Message) => m.seq)).toEqual([2]);
    expect(after.has_more).toBe(true);
    const before = JSON.parse((await cli(["history", direct, "--before", "3", "--json"])).stdout);
    expect(before.messages.map((m: Message) => m.seq)).toEqual([1, 2]);
    const foreign = await cli(["history", "g_doesnotexist"]);
    expect(foreign.code).toBe(1);
  }, T);

  test("--server overrides the saved server (unreachable: exit 3)", async () => {
    const r = await cli(["chats", "--server", "http://127.0.0.1:1"]);
    expect(r.code).toBe(3);
  }, T);

  test("--server host:port (no scheme) means http://, as in natter chat; another scheme is a usage error (exit 2)", async () => {
    const hostPort = `127.0.0.1:${server.port}`;
    const r = await cli(["chats", "--server", hostPort, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).channels).toHaveLength(1);
    for (const bad of ["ftp://127.0.0.1:21", "http://", "127.0.0.1:8080?x=1"]) {
      const b = await cli(["chats", "--server", bad]);
      expect(b.code).toBe(2);
      expect(b.stderr).toContain("must look like http://127.0.0.1:8080");
    }
    const badLogin = await cli(["login", "--server", "ws://127.0.0.1:1", "--code", "x"]);
    expect(badLogin.code).toBe(2);
  }, T);

  test("refused, an unknown host and a failed TLS handshake or certificate are unreachable (exit 3), not failures (exit 1)", async () => {
    for (const [url, says] of [
      ["http://127.0.0.1:1", "cannot reach the server at http://127.0.0.1:1: connection refused"],
      ["http://nonexistent.invalid:8080", "unknown host nonexistent.invalid"],
      // natter speaks plain HTTP: https:// to it fails in the TLS handshake.
      [`https://127.0.0.1:${server.port}`, "TLS failed"],
    ]) {
      const r = await cli(["chats", "--server", url!]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(says!);
    }
    // A TLS terminator with a certificate nobody signed.
    const dir = tempDir("natter-tls-");
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    const tls = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert: Bun.file(join(dir, "cert.pem")), key: Bun.file(join(dir, "key.pem")) }, fetch: () => new Response("{}") });
    try {
      for (const args of [["chats"], ["login", "--code", "x"]]) {
        const r = await cli([...args, "--server", `https://127.0.0.1:${tls.port}`]);
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("TLS failed: self signed certificate");
      }
    } finally {
      tls.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  }, T);

  test("watch that never connects says it cannot reach the server and exits 3 (no 'connection lost')", async () => {
    const proc = Bun.spawn([NATTER, "watch", "--server", "http://127.0.0.1:1"], { env: { ...process.env, ...env() }, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const stderr = new Response(proc.stderr as ReadableStream).text();
    try {
      expect(await proc.exited).toBe(3);
    } finally {
      clearTimeout(timer);
    }
    const err = await stderr;
    expect(err).toContain("cannot reach the server at http://127.0.0.1:1");
    expect(err).not.toContain("connection lost");
  }, T);

  test("hints print commands that work for the profile: history's next page, and log in again", async () => {
    // Only the profile "second" exists in this config dir: a hint without --profile would not work.
    const cfg2 = tempDir("natter-cfg2-");
    const env2 = { NATTER_CONFIG_DIR: cfg2, NATTER_SERVER: "", NATTER_PROFILE: "" };
    try {
      const { code } = (await (await adminFetch(server, "POST", `/admin/users/${alice.id}/code`)).json()) as { code: string };
      expect((await runCli(["login", "--server", server.url, "--code", code, "--profile", "second"], { env: env2 })).code).toBe(0);
      const r = await runCli(["history", direct, "--limit", "1", "--profile", "second"], { env: env2 });
      expect(r.code).toBe(0);
      const hint = /^\(more: natter (.*)\)$/m.exec(r.stderr)?.[1];
      expect(hint).toBe(`history ${direct} --before 3 --limit 1 --profile second`);
      const next = await runCli(hint!.split(" "), { env: env2 });
      expect(next.code).toBe(0);
      expect(next.stdout).toMatch(/^2  .*  Alice  line one/);

      const saved = await Bun.file(join(cfg2, "profiles", "second.json")).json();
      expect((await adminFetch(server, "DELETE", `/admin/devices/${saved.device.id}`)).status).toBeLessThan(300);
      const refused = await runCli(["chats", "--profile", "second"], { env: env2 });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain(`log in again: natter login --server ${server.url} --code CODE --profile second`);
    } finally {
      rmSync(cfg2, { recursive: true, force: true });
    }
  }, T);

  test("watch prints each event as a JSON line, receives Bob's message once, and exits 0 on SIGINT", async () => {
    const proc = Bun.spawn([NATTER, "watch", "--json"], { env: { ...process.env, ...env() }, stdout: "pipe", stderr: "pipe" });
    let out = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    const events = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as ServerEvent);
    try {
      await until(() => events().find((e) => e.ev === "hello"), 15_000, "hello from watch");
      const sent = await api(server, bob.token, "sendMessage", { channel: direct, client_id: "b2", type: "text", content: "are you watching?" });
      expect(sent.status).toBe(200);
      const ev = await until(() => events().find((e) => e.ev === "message" && e.message.content === "are you watching?"), 10_000, "message line");
      expect(ev).toEqual({ ev: "message", message: sent.body.message });
      await Bun.sleep(300);
      expect(events().filter((e) => e.ev === "message").length).toBe(1);
    } finally {
      proc.kill("SIGINT");
    }
    expect(await proc.exited).toBe(0);
  }, T);

  test("a device revoked while watching ends watch with exit 4; later commands exit 4 with a login hint", async () => {
    const proc = Bun.spawn([NATTER, "watch", "--json"], { env: { ...process.env, ...env() }, stdout: "pipe", stderr: "pipe" });
    let out = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    const stderr = new Response(proc.stderr as ReadableStream).text();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    try {
      await until(() => out.includes('"ev":"hello"'), 20_000, "hello from watch");
      const saved = await Bun.file(join(cfg, "profiles", "default.json")).json();
      const del = await adminFetch(server, "DELETE", `/admin/devices/${saved.device.id}`);
      expect(del.status).toBeLessThan(300);
      expect(await proc.exited).toBe(4);
    } finally {
      clearTimeout(timer);
    }
    expect(JSON.parse((await stderr).trim().split("\n").at(-1)!)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    const r = await cli(["chats"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("unauthorized");
    expect(r.stderr).toContain("natter login");
  }, T);
});

describe("client library against the real server", () => {
  const servers: TestServer[] = [];
  const clients: NatterClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.cleanup();
  });
  const client = (server: TestServer, token: string) => {
    const c = new NatterClient({ server: server.url, token, backoff: { baseMs: 50, maxMs: 400 }, requestTimeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  const collect = (c: NatterClient) => {
    const got: Message[] = [];
    c.on("message", (m) => got.push(m));
    return got;
  };
  const send = async (server: TestServer, token: string, channel: string, content: string) => {
    const r = await api(server, token, "sendMessage", { channel, client_id: crypto.randomUUID(), type: "text", content });
    if (r.status !== 200) throw new Error(`send failed: ${JSON.stringify(r.body)}`);
    return r.body.message as Message;
  };

  test("catches up on what was sent while it was disconnected: once each, in order", async () => {
    const server = await startServer();
    servers.push(server);
    const a = await makeUser(server, "A");
    const b = await makeUser(server, "B");
    const opening = (await api(server, b.token, "sendMessage", { to: a.user.id, client_id: "o", type: "text", content: "before" })).body.message as Message;
    const c = client(server, a.token);
    const got = collect(c);
    c.connect();
    await c.waitOpen();
    expect(c.me?.id).toBe(a.user.id);
    expect(c.lastSeq(opening.channel)).toBe(1);
    await send(server, b.token, opening.channel, "live");
    await until(() => got.length === 1, 10_000, "live message");
    c.close();
    for (let i = 0; i < 5; i++) await send(server, b.token, opening.channel, `missed ${i}`);
    c.connect();
    await c.waitOpen();
    await until(() => got.length === 6, 10_000, "catch-up");
    await Bun.sleep(200);
    expect(got.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(got.map((m) => m.content)).toEqual(["live", "missed 0", "missed 1", "missed 2", "missed 3", "missed 4"]);
  }, T);

  test("reconnects after the server is killed and restarted on the same data dir and port; the outbox sends once", async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir });
    servers.push(server);
    const a = await makeUser(server, "A");
    const b = await makeUser(server, "B");
    const opening = (await api(server, b.token, "sendMessage", { to: a.user.id, client_id: "o", type: "text", content: "hi" })).body.message as Message;
    const c = client(server, a.token);
    const got = collect(c);
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    c.connect();
    await c.waitOpen();

    await server.kill();
    await until(() => c.state === "reconnecting" && c.nextRetryAt !== null, 10_000, "reconnecting with a retry time");
    // Sent while the server is down: waits in the outbox.
    const pending = c.sendMessage({ channel: opening.channel, content: "written offline" });
    await Bun.sleep(300);
    expect(c.outbox().map((e) => [e.content, e.status])).toEqual([["written offline", "queued"]]);

    server = await startServer({ dataDir, args: ["--port", String(server.port)] });
    servers.push(server);
    const mine = await pending;
    expect(mine).toMatchObject({ sender: a.user.id, content: "written offline", seq: 2 });
    for (let i = 0; i < 3; i++) await send(server, b.token, opening.channel, `after restart ${i}`);
    await until(() => got.length === 4, 15_000, "messages after restart");
    expect(got.map((m) => m.content)).toEqual(["written offline", "after restart 0", "after restart 1", "after restart 2"]);
    expect(states).toContain("reconnecting");
    expect(c.state).toBe("open");
    expect(c.outbox()).toEqual([]);
    const h = await api(server, b.token, "getMessages", { channel: opening.channel });
    expect(h.body.messages.filter((m: Message) => m.content === "written offline")).toHaveLength(1);
    rmSync(dataDir, { recursive: true, force: true });
  }, T);

  test("rate_limited sends are retried after retry_after_ms with the same client_id; all arrive once, in order", async () => {
    const server = await startServer({ args: ["--rate-burst", "5", "--rate-per-sec", "5"] });
    servers.push(server);
    const a = await makeUser(server, "A");
    const b = await makeUser(server, "B");
    const c = client(server, a.token);
    const limited = new Set<string>();
    c.on("outbox", (es: OutgoingEntry[]) => es.forEach((e) => e.error?.code === "rate_limited" && limited.add(e.client_id)));
    c.connect();
    await c.waitOpen();
    const n = 12;
    const sent = await Promise.all(Array.from({ length: n }, (_, i) => c.sendMessage({ to: b.user.id, content: `m${i}` })));
    expect(limited.size).toBeGreaterThan(0);
    expect(sent.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 1));
    const h = await api(server, b.token, "getMessages", { channel: sent[0]!.channel, limit: 50 });
    expect(h.body.messages.map((m: Message) => m.content)).toEqual(sent.map((_, i) => `m${i}`));
  }, T);

  test("own sends and the user's other devices: each device emits each message once", async () => {
    const server = await startServer();
    servers.push(server);
    const a = await makeUser(server, "A", "phone");
    const a2 = await addDevice(server, a.user.id, "laptop");
    const b = await makeUser(server, "B");
    const c1 = client(server, a.token);
    const c2 = client(server, a2.token);
    const got1 = collect(c1);
    const got2 = collect(c2);
    c1.connect();
    c2.connect();
    await Promise.all([c1.waitOpen(), c2.waitOpen()]);
    const m1 = await c1.sendMessage({ to: b.user.id, content: "from phone" });
    const m2 = await c2.sendMessage({ channel: m1.channel, content: "from laptop", reply_to: m1.id });
    await send(server, b.token, m1.channel, "from b");
    await until(() => got1.length === 3 && got2.length === 3, 10_000, "both devices");
    await Bun.sleep(200);
    for (const got of [got1, got2]) expect(got.map((m) => m.id)).toEqual([m1.id, m2.id, `${m1.channel}:3`]);
    expect(got2[1]!.reply_to).toBe(m1.id);
    expect(c1.lastSeq(m1.channel)).toBe(3);
  }, T);

  test("an unknown token goes offline with unauthorized instead of retrying", async () => {
    const server = await startServer();
    servers.push(server);
    const c = client(server, "not-a-token");
    c.connect();
    const err = await c.waitOpen(5000).catch((e) => e);
    expect(err.code).toBe("unauthorized");
    expect(c.state).toBe("offline");
  }, T);
});
