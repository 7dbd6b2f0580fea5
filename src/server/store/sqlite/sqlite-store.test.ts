// What the SQLite store adds to the shared suite: crash-repair paths (a
// cross-shard write interrupted half-way is repaired by retrying, never a dead
// end), the fixed shard count, the writer thread and its answers.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardOf } from "../layout.ts";
import type { CommitStat } from "../types.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.ts";

const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-store-"));
  dirs.push(dir);
  return dir;
};
const open = (dir = tmp(), opts: Partial<SqliteStoreOptions> = {}) => new SqliteStore({ dir, shards: 4, synchronous: "normal", ...opts });
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// Not `expect(p).rejects`: bun test waits for a pending promise there without
// delivering worker messages, and the store's answers come from its writer thread.
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

const user = (id: string, phone: string) => ({ id, name: id, phone, created_at: 1, last_seen: null });

test("a phone claim left by a crash before the user row is taken over", async () => {
  const s = open();
  // Simulate the crash: the claim committed, the user row never did.
  await s.exec("+1555", "INSERT INTO phones (phone, user_id) VALUES ('+1555', 'u_ghost')");
  await s.createUser(user("u_real", "+1555"));
  expect((await s.userByPhone("+1555"))?.id).toBe("u_real");
  expect(await failure(s.createUser(user("u_other", "+1555")))).toMatchObject({ code: "conflict" });
  await s.close();
});

test("a token is dead once its device row is gone, even if the token row lingers", async () => {
  const s = open();
  await s.createUser(user("u_a", "+1"));
  await s.createDevice({ id: "dv_1", user_id: "u_a", name: "laptop", created_at: 1 }, "hash1");
  expect(await s.deviceByToken("hash1")).toEqual({ user_id: "u_a", device_id: "dv_1" });
  await s.exec("u_a", "DELETE FROM devices WHERE id = 'dv_1'"); // crash after this, before the token delete
  expect(await s.deviceByToken("hash1")).toBeNull();
  await s.close();
});

test("the shard count is fixed by layout.json for the directory's life", async () => {
  const dir = tmp();
  const a = open(dir);
  expect(a.shards.length).toBe(4);
  await a.close();
  const b = open(dir, { shards: 32 });
  expect(b.shards.length).toBe(4);
  await b.close();
});

test("the main thread cannot write: its connections are query-only", () => {
  const s = open();
  expect(() => s.shards[0]!.db.run("INSERT INTO phones (phone, user_id) VALUES ('p', 'u')")).toThrow(/readonly|query_only|read-only/i);
  return s.close();
});

test("if the writer thread dies, pending and later writes fail with a clear error and the owner is told", async () => {
  const deaths: string[] = [];
  const s = open(tmp(), { shards: 2, synchronous: "full", onWriterDeath: (r) => deaths.push(r) });
  await s.createUser(user("u_a", "+1"));
  (s as unknown as { writer: { worker: Worker } }).writer.worker.terminate();
  const deadline = Date.now() + 5_000;
  while (deaths.length === 0 && Date.now() < deadline) await Bun.sleep(10);
  expect(deaths).toEqual(["writer thread exited"]);
  expect(String(await failure(s.setLastSeen("u_a", 5)))).toContain("writer thread exited");
  expect((await s.getUser("u_a"))?.id).toBe("u_a"); // reads still work
  await s.close();
});

test("close commits the writes still queued behind a round in flight", async () => {
  const dir = tmp();
  const s = open(dir, { shards: 2, synchronous: "full" });
  await s.createUser(user("u_a", "+1"));
  const first = s.setLastSeen("u_a", 10);
  await new Promise((r) => setImmediate(r)); // the first round is now on the writer thread
  const second = s.setLastSeen("u_a", 20); // waits for the next round
  await s.close();
  expect(await Promise.all([first, second])).toEqual([undefined, undefined]);
  const again = open(dir, { shards: 2, synchronous: "full" });
  expect((await again.getUser("u_a"))?.last_seen).toBe(20);
  await again.close();
});

test("each commit is reported with its shard and size before its writes resolve", async () => {
  const commits: CommitStat[] = [];
  const s = open(tmp(), { onCommit: (c) => commits.push(c) });
  await s.createChannel(
    { id: "g_1", kind: "group", name: "g", description: "", avatar_url: "", join: "invite", created_at: 1, created_by: "u_a", last_seq: 0 },
    [{ user: "u_a", role: "admin" }],
  );
  const send = (cid: string) =>
    s.appendMessage({ channel: "g_1", sender: "u_a", client_id: cid, type: "text", content: cid, media: null, reply_to: null, sent_at: 1 });
  const seen = await Promise.all([send("a"), send("b"), send("c")].map((p) => p.then(() => commits.length)));
  const home = shardOf("g_1", 4);
  expect(commits.map((c) => [c.shard, c.writes])).toEqual([
    [home, 1],
    [home, 3],
  ]);
  expect(seen).toEqual([2, 2, 2]);
  expect(commits.every((c) => c.ms >= 0)).toBe(true);
  await s.close();
});
