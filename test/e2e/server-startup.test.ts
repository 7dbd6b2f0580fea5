// `natter serve` start-up: the data dir it creates, and configuration from
// flags, NATTER_* variables and a config file (flags win over env, env over file).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

async function helloHeartbeat(server: TestServer): Promise<number> {
  const u = await makeUser(server, "Cfg");
  const c = await WsClient.connect(server, u.token);
  const hb = (c.events[0] as any).heartbeat_ms;
  c.close();
  return hb;
}

describe("first start", () => {
  test("creates the data dir with its shards and a 0600 admin.token, says where, and keeps them on restart", async () => {
    const data = join(dir(), "fresh", "data");
    let s = await startServer({ dataDir: data, args: ["--shards", "4"] });
    servers.push(s);
    expect(existsSync(data)).toBe(true);
    const shards = readdirSync(join(data, "shards")).filter((f) => /^\d+\.db$/.test(f));
    expect(shards.length).toBe(4);
    expect(statSync(join(data, "admin.token")).mode & 0o777).toBe(0o600);
    expect(s.output()).toContain(data);
    const token = s.adminToken;
    await fetch(s.url + "/healthz"); // (SIGTERM right at start-up is tested on its own below)
    expect(await s.stop()).toBe(0);

    // The shard count is fixed at creation; the admin token is kept.
    s = await startServer({ dataDir: data, args: ["--shards", "8"] });
    servers.push(s);
    expect(readdirSync(join(data, "shards")).filter((f) => /^\d+\.db$/.test(f)).length).toBe(4);
    expect(s.adminToken).toBe(token);
    const h = await fetch(s.url + "/healthz");
    expect(h.status).toBe(200);
    expect(((await h.json()) as any).ok).toBe(true);
    expect(await s.stop()).toBe(0);
  }, 30_000);

  test("the default is 16 shards", async () => {
    const data = dir();
    const s = await startServer({ dataDir: data });
    servers.push(s);
    expect(readdirSync(join(data, "shards")).filter((f) => /^\d+\.db$/.test(f)).length).toBe(16);
    await s.stop();
  }, 20_000);
});

test("SIGTERM right after the listening line still drains and exits 0", async () => {
  // An orchestrator may stop a server the moment it reports ready.
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const s = await startServer();
    servers.push(s);
    codes.push(await s.stop());
  }
  expect(codes).toEqual([0, 0, 0, 0]);
}, 30_000);

describe("configuration", () => {
  test("config file < NATTER_* env < flags", async () => {
    const d = dir();
    const file = join(d, "natter.json");
    writeFileSync(file, JSON.stringify({ heartbeatMs: 1111, maxGroupMembers: 7 }));
    let s = await startServer({ args: ["--config", file] });
    servers.push(s);
    expect(await helloHeartbeat(s)).toBe(1111);
    await s.cleanup();

    s = await startServer({ args: ["--config", file], env: { NATTER_HEARTBEAT_MS: "2222" } });
    servers.push(s);
    expect(await helloHeartbeat(s)).toBe(2222);
    await s.cleanup();

    s = await startServer({ args: ["--config", file, "--heartbeat-ms", "3333"], env: { NATTER_HEARTBEAT_MS: "2222" } });
    servers.push(s);
    expect(await helloHeartbeat(s)).toBe(3333);
    await s.cleanup();
  }, 40_000);

  test("an invalid value is refused at start with a clear message", async () => {
    const r = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", dir(), "--heartbeat-ms", "soon"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain("heartbeat-ms");
  }, 20_000);
});
