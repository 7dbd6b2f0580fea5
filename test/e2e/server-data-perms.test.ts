// The data dir is private whatever the umask: started under umask 022, the
// server makes every directory 0700 and every file 0600 (shards, -wal, -shm,
// layout.json, lock and pid files, media); a file or directory loosened while
// it was down is tightened at the next start, with one warning naming it; a
// world-readable admin.token refuses the start (exit 2).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, lstatSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeUser, NATTER, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";
import { bytes, uploadOk } from "./media-helpers.ts";

const root = tempDir();
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  rmSync(root, { recursive: true, force: true });
});

// bin/natter under umask 022, the common default that made shards 0644.
const UMASK_022 = join(root, "natter-umask-022");
writeFileSync(UMASK_022, `#!/bin/sh\numask 022\nexec ${NATTER} "$@"\n`, { mode: 0o755 });
const data = join(root, "data"); // created by the server itself

async function serve(): Promise<TestServer> {
  const s = await startServer({ dataDir: data, bin: UMASK_022 });
  servers.push(s);
  return s;
}

/** Every path under `dir` (and `dir` itself) whose mode lets group or others in, with its mode. */
function loose(dir: string): string[] {
  const out: string[] = [];
  const mode = (p: string) => lstatSync(p).mode & 0o777;
  if (mode(dir) & 0o077) out.push(`${dir} ${mode(dir).toString(8)}`);
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    if (!e.isSymbolicLink() && mode(p) & 0o077) out.push(`${p} ${mode(p).toString(8)}`);
  }
  return out;
}

const warnings = (s: TestServer) => s.output().split("\n").filter((l) => l.includes("data dir: removed group/world access"));

test("under umask 022 everything the server writes is 0600 / 0700, after messages and uploads too", async () => {
  const s = await serve();
  const a = await makeUser(s, "Perm A");
  const b = await makeUser(s, "Perm B");
  const c = await WsClient.connect(s, a.token);
  for (let i = 0; i < 5; i++) await c.call("sendMessage", { to: b.user.id, client_id: `p${i}`, type: "text", content: `m${i}` });
  const m = await uploadOk(s, a.token, bytes(50_000));
  await c.call("sendMessage", { to: b.user.id, client_id: "pm", type: "file", media: m.id });
  c.close();
  const names = readdirSync(data, { recursive: true }).map(String);
  // The files the rule is about are there (so the check below is not vacuous).
  for (const f of ["admin.token", "layout.json", "natter.lock", "natter.pid", "shards/00.db", "shards/00.db-wal", "shards/00.db-shm", "media"]) expect(names).toContain(f);
  expect(names.some((n) => n.startsWith("media/blobs/") && statSync(join(data, n)).isFile())).toBe(true);
  expect(statSync(data).mode & 0o777).toBe(0o700);
  expect(loose(data)).toEqual([]);
  expect(warnings(s)).toEqual([]);
  await s.stop();
}, 30_000);

test("a file or directory loosened while the server was down is tightened at start, with one warning naming each", async () => {
  const loosened = [data, join(data, "shards"), join(data, "shards/03.db"), join(data, "layout.json"), join(data, "media")];
  for (const p of loosened) chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
  chmodSync(join(data, "admin.token"), 0o640); // group-readable: tightened, not refused
  loosened.push(join(data, "admin.token"));
  const s = await serve();
  expect(loose(data)).toEqual([]);
  const w = warnings(s);
  expect(w.length).toBe(1);
  expect(JSON.parse(w[0]!).paths.sort()).toEqual(loosened.sort());
  await s.stop();
}, 30_000);

test("a world-readable admin.token refuses the start with exit 2 and a clear message; nothing is changed", async () => {
  const token = join(data, "admin.token");
  chmodSync(token, 0o644);
  chmodSync(join(data, "layout.json"), 0o644);
  const r = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data], { bin: UMASK_022 });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${token} is readable by every user (mode 0644)`);
  expect(r.stdout).not.toContain('"msg":"listening"');
  expect(statSync(token).mode & 0o777).toBe(0o644);
  expect(statSync(join(data, "layout.json")).mode & 0o777).toBe(0o644);
  // Once the operator fixes it, the server starts.
  chmodSync(token, 0o600);
  const s = await serve();
  expect(loose(data)).toEqual([]);
  await s.stop();
}, 30_000);
