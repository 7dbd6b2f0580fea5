// The compiled binary replicates and restores with no Litestream on the
// machine: dist/natter is copied to an empty temp dir, run with a PATH that
// holds no litestream and no node_modules, so the only Litestream it can use
// is the one embedded in it (extracted to a temp dir at start).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, api, makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

const PATH = "/usr/bin:/bin";
const ENV = { PATH, NATTER_LITESTREAM: "" };
let dir: string;
let bin: string;
const servers: TestServer[] = [];

beforeAll(async () => {
  const build = Bun.spawnSync([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "scripts/build.ts")], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  dir = tempDir("natter-repbin-");
  bin = join(dir, "natter");
  copyFileSync(join(ROOT, "dist/natter"), bin);
  Bun.spawnSync(["chmod", "755", bin]);
}, 240_000);

afterAll(async () => {
  for (const s of servers) await s.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("compiled natter replicates, restores and serves the restored data with no Litestream installed", async () => {
  expect(Bun.which("litestream", { PATH })).toBeNull();
  const data = join(dir, "data");
  const replica = join(dir, "replica");
  const s1 = await startServer({ bin, dataDir: data, args: ["--replica", replica], env: ENV });
  servers.push(s1);
  const started = s1.output().match(/"msg":"replication started"[^\n]*"litestream":"([^"]+)"/);
  expect(started?.[1]).toMatch(/natter-\d+-litestream-[0-9a-z]+\/litestream$/);
  const alice = await makeUser(s1, "Alice");
  const bob = await makeUser(s1, "Bob");
  const contents: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: `b${i}`, type: "text", content: `binary ${i}` });
    expect(r.status).toBe(200);
    contents.push(`binary ${i}`);
  }
  const blob = new TextEncoder().encode("bytes from the compiled binary\n".repeat(1000));
  const up = await fetch(s1.url + "/api/media", {
    method: "POST",
    headers: { authorization: `Bearer ${alice.token}`, "content-type": "text/plain", "x-filename": "b.txt" },
    body: blob,
  });
  expect([200, 201]).toContain(up.status);
  const mediaId = ((await up.json()) as { media: { id: string } }).media.id;
  const sent = await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: "file", type: "file", content: "f", media: mediaId });
  expect(sent.status).toBe(200);
  expect(await s1.stop()).toBe(0);

  rmSync(data, { recursive: true, force: true });
  const r = await runCli(["admin", "restore", "--replica", replica, "--data", data], { bin, env: ENV });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr.match(/integrity_check: ok/g)?.length).toBe(16);
  expect(existsSync(join(data, "layout.json"))).toBe(true);

  const s2 = await startServer({ bin, dataDir: data, env: ENV });
  servers.push(s2);
  const c = await WsClient.connect(s2, bob.token);
  const all = await c.call("getMessages", { channel: sent.body.message.channel, after_seq: 0, limit: 100 });
  expect(all.messages.map((m: any) => m.content)).toEqual([...contents, "f"]);
  c.close();
  const dl = await fetch(`${s2.url}/api/media/${mediaId}`, { headers: { authorization: `Bearer ${bob.token}` } });
  expect(dl.status).toBe(200);
  expect(Buffer.compare(Buffer.from(await dl.arrayBuffer()), Buffer.from(blob))).toBe(0);
  await s2.stop();
}, 120_000);
