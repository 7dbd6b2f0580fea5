// One server per data dir, one process per port: a second `natter serve` on a
// data dir in use exits at once (75) and changes nothing; the lock dies with
// its process (kill -9 included); a port is shared only with --reuse-port.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
async function serve(opts: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

async function sendAndCount(s: TestServer, n: number): Promise<number> {
  const a = await makeUser(s, "Lock A");
  const b = await makeUser(s, "Lock B");
  const c = await WsClient.connect(s, a.token);
  let channel = "";
  for (let i = 0; i < n; i++) channel = (await c.call("sendMessage", { to: b.user.id, client_id: `l${i}`, type: "text", content: `m${i}` })).message.channel;
  const h = await c.call("getMessages", { channel, limit: 200 });
  c.close();
  return (h.messages as unknown[]).length;
}

test("a second server on a data dir in use exits 75 at once, names the holder, and the first is untouched", async () => {
  const data = dir();
  const first = await serve({ dataDir: data });
  const r = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data]);
  expect(r.code).toBe(75);
  expect(r.stderr).toContain(`data dir ${data} is in use by another natter server (pid ${first.proc.pid}`);
  expect(r.stdout).not.toContain('"msg":"listening"');
  // The refused start left the holder's pid file and its service alone.
  expect(readFileSync(join(data, "natter.pid"), "utf8")).toContain(`pid ${first.proc.pid}`);
  expect(await sendAndCount(first, 20)).toBe(20);
}, 30_000);

test("the lock dies with its process: after kill -9 a new server starts on the same data dir", async () => {
  const data = dir();
  const first = await serve({ dataDir: data });
  await first.kill();
  const second = await serve({ dataDir: data });
  expect(readFileSync(join(data, "natter.pid"), "utf8")).toContain(`pid ${second.proc.pid}`);
  expect((await fetch(second.url + "/healthz")).status).toBe(200);
  // A clean stop releases it too (and removes the pid file).
  expect(await second.stop()).toBe(0);
  const third = await serve({ dataDir: data });
  expect((await fetch(third.url + "/healthz")).status).toBe(200);
}, 30_000);

test("a port in use is not shared: the second server fails to start unless both ask with --reuse-port", async () => {
  const first = await serve();
  const r = await runCli(["serve", "--host", "127.0.0.1", "--port", String(first.port), "--data", dir()]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/port \d+ in use/i);

  const a = await serve({ args: ["--reuse-port"] });
  const b = await serve({ args: ["--port", String(a.port), "--reuse-port"] });
  expect(b.port).toBe(a.port);
  expect((await fetch(b.url + "/healthz")).status).toBe(200);
}, 30_000);

test("admin restore --force over a running server's data dir is refused (75) and leaves it whole", async () => {
  const data = dir();
  const s = await serve({ dataDir: data });
  const replica = dir(); // exists, so the lock is what refuses
  const r = await runCli(["admin", "restore", "--replica", replica, "--data", data, "--force"]);
  expect(r.code).toBe(75);
  expect(r.stderr).toContain("in use by another natter server");
  expect(await sendAndCount(s, 3)).toBe(3);
}, 30_000);
