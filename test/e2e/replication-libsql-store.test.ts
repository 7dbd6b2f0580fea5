// The libSQL backend end to end: `natter serve --store file:PATH` keeps every
// row in that one libSQL database (none in the data dir's shards), survives a
// restart, and bad --store values are refused at start.
import { afterAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startTestHranaServer } from "../support/hrana-server.ts";
import { adminFetch, api, makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("serve --store file:PATH: messages and accounts live in the libSQL file and survive a restart", async () => {
  const data = tempDir("natter-libsql-data-");
  const dbDir = tempDir("natter-libsql-db-");
  dirs.push(data, dbDir);
  const url = "file:" + join(dbDir, "natter.db");
  const s1 = await startServer({ dataDir: data, args: ["--store", url] });
  servers.push(s1);
  const alice = await makeUser(s1, "Alice");
  const bob = await makeUser(s1, "Bob");
  const bobWs = await WsClient.connect(s1, bob.token);
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: `c${i}`, type: "text", content: `hi ${i}` });
    expect(r.status).toBe(200);
    sent.push(r.body.message.seq);
  }
  expect(sent).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  await bobWs.until(() => bobWs.events.filter((e) => e.ev === "message").length === 20, 10_000, "20 live messages");
  bobWs.close();
  const stats: any = await (await adminFetch(s1, "GET", "/admin/stats")).json();
  expect([stats.shards, stats.users, stats.messages]).toEqual([1, 2, 20]);
  expect(await s1.stop()).toBe(0);
  expect(existsSync(join(dbDir, "natter.db"))).toBe(true);
  expect(existsSync(join(data, "shards", "00.db"))).toBe(false);

  const s2 = await startServer({ dataDir: data, args: ["--store", url] });
  servers.push(s2);
  const h = await api(s2, bob.token, "getMessages", { channel: (await api(s2, bob.token, "getAll", {})).body.channels[0].id, limit: 50 });
  expect(h.status).toBe(200);
  expect(h.body.messages.map((m: any) => m.content)).toEqual(Array.from({ length: 20 }, (_, i) => `hi ${i}`));
  await s2.stop();
}, 60_000);

test("serve --store http://... with NATTER_STORE_AUTH_TOKEN: rows go over the network to the libSQL server", async () => {
  const data = tempDir("natter-libsql-net-");
  dirs.push(data);
  const remote = startTestHranaServer(join(data, "remote-side.db"), { token: "s3cret-token" });
  try {
    const env = { NATTER_STORE_AUTH_TOKEN: "s3cret-token" };
    const s1 = await startServer({ dataDir: join(data, "node"), args: ["--store", remote.url], env });
    servers.push(s1);
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    const r = await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: "n1", type: "text", content: "over the wire" });
    expect(r.status).toBe(200);
    const before = remote.requests();
    expect(before).toBeGreaterThan(10);
    expect(await s1.stop()).toBe(0);
    // A second node with no local state sees the same rows (storage lives off the node).
    const s2 = await startServer({ dataDir: join(data, "other-node"), args: ["--store", remote.url], env });
    servers.push(s2);
    const h = await api(s2, bob.token, "getMessages", { channel: r.body.message.channel, limit: 10 });
    expect(h.body.messages.map((m: any) => m.content)).toEqual(["over the wire"]);
    await s2.stop();
    const denied = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", join(data, "n3"), "--store", remote.url], {
      env: { NATTER_STORE_AUTH_TOKEN: "wrong" },
    });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr + denied.stdout).toMatch(/401|nauthorized/);
  } finally {
    remote.stop();
  }
}, 60_000);

test("a bad --store or --replica, or an sftp replica with --store, stops the server at start with a clear message", async () => {
  const data = tempDir("natter-libsql-bad-");
  dirs.push(data);
  const bad = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--store", "postgres://x"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("natter serve: --store must be libsql://");
  const both = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--store", "file:" + join(data, "x.db"), "--replica", "sftp://h/x"]);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain("with --store, --replica keeps media blobs only and must be a directory or s3:// replica");
  const badReplica = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--replica", "ftp://host/x"]);
  expect(badReplica.code).toBe(2);
  expect(badReplica.stderr).toContain("unsupported replica scheme ftp://");
}, 30_000);

test("--store with --replica: media blobs go to the replica and come back with restore; rows stay in the libSQL store", async () => {
  const data = tempDir("natter-libsql-media-");
  const dbDir = tempDir("natter-libsql-media-db-");
  const rep = join(tempDir("natter-libsql-media-rep-"), "replica");
  dirs.push(data, dbDir);
  const url = "file:" + join(dbDir, "natter.db");
  const s1 = await startServer({ dataDir: data, args: ["--store", url, "--replica", rep] });
  servers.push(s1);
  const alice = await makeUser(s1, "Alice");
  const bob = await makeUser(s1, "Bob");
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const up = await fetch(s1.url + "/api/media", {
    method: "POST",
    headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/octet-stream" },
    body: bytes,
  });
  const media = ((await up.json()) as { media: { id: string } }).media;
  expect((await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: "m", type: "file", content: "", media: media.id })).status).toBe(200);
  const status: any = await (await adminFetch(s1, "GET", "/admin/backup")).json();
  expect([status.media_only, status.shards.length]).toEqual([true, 0]);
  expect(await s1.stop()).toBe(0);

  rmSync(data, { recursive: true, force: true });
  const r = await runCli(["admin", "restore", "--replica", rep, "--data", data]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain("restoring media blobs only");
  expect(r.stderr).toContain("media blobs 1/1");
  expect(existsSync(join(data, "layout.json"))).toBe(false);

  const s2 = await startServer({ dataDir: data, args: ["--store", url] });
  servers.push(s2);
  const dl = await fetch(`${s2.url}/api/media/${media.id}`, { headers: { authorization: `Bearer ${bob.token}` } });
  expect(dl.status).toBe(200);
  expect(Buffer.compare(Buffer.from(await dl.arrayBuffer()), Buffer.from(bytes))).toBe(0);
  await s2.stop();
}, 60_000);
