// Crash-repair paths of the SQLite store: a cross-shard write interrupted
// half-way must be repaired by retrying, never leave a dead end.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "./sqlite-store.ts";

const dirs: string[] = [];
const open = (dir = mkdtempSync(join(tmpdir(), "natter-store-"))) => {
  dirs.push(dir);
  return new SqliteStore({ dir, shards: 4, synchronous: "normal" });
};
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
  const dir = mkdtempSync(join(tmpdir(), "natter-store-"));
  const a = open(dir);
  expect(a.shards.length).toBe(4);
  await a.close();
  const b = new SqliteStore({ dir, shards: 32, synchronous: "normal" });
  expect(b.shards.length).toBe(4);
  await b.close();
});

test("seq is dense and client_id idempotent under one group commit", async () => {
  const s = open();
  await s.createUser(user("u_a", "+1"));
  await s.createChannel(
    { id: "g_1", kind: "group", name: "g", description: "", avatar_url: "", join: "invite", created_at: 1, created_by: "u_a", last_seq: 0 },
    [{ user: "u_a", role: "admin" }],
  );
  const send = (cid: string) =>
    s.appendMessage({ channel: "g_1", sender: "u_a", client_id: cid, type: "text", content: cid, media: null, reply_to: null, sent_at: 1 });
  const r = await Promise.all([send("a"), send("b"), send("a"), send("c")]);
  expect(r.map((x) => [x.message.seq, x.duplicate])).toEqual([
    [1, false],
    [2, false],
    [1, true],
    [3, false],
  ]);
  const stranger = s.appendMessage({ channel: "g_1", sender: "u_stranger", client_id: "x", type: "text", content: "x", media: null, reply_to: null, sent_at: 1 });
  expect(await failure(stranger)).toMatchObject({ code: "forbidden" });
  expect((await s.getChannel("g_1"))!.channel.last_seq).toBe(3);
  await s.close();
});

test("a member added in the same commit as sends joins at the seq those sends reached", async () => {
  const s = open();
  for (const u of ["u_a", "u_b"]) await s.createUser(user(u, "+" + u));
  await s.createChannel(
    { id: "g_1", kind: "group", name: "g", description: "", avatar_url: "", join: "invite", created_at: 1, created_by: "u_a", last_seq: 0 },
    [{ user: "u_a", role: "admin" }],
  );
  const send = (cid: string) =>
    s.appendMessage({ channel: "g_1", sender: "u_a", client_id: cid, type: "text", content: cid, media: null, reply_to: null, sent_at: 1 });
  // One loop turn: two sends, an add, a third send: the writer keeps last_seq in memory between them.
  const [, , added, third] = await Promise.all([
    send("a"),
    send("b"),
    s.changeMembers("g_1", { kind: "add", users: ["u_b"], role: "member", at: 2, max: 100 }),
    send("c"),
  ]);
  expect(added.members.find((m) => m.user_id === "u_b")!.joined_seq).toBe(2);
  expect(third.message.seq).toBe(3);
  // The row says so too (read through the main thread's own connection).
  const row = s.shards.map((sh) => sh.db.query("SELECT last_seq FROM channels WHERE id = 'g_1'").get()).find(Boolean);
  expect(row).toEqual({ last_seq: 3 });
  await s.close();
  const again = open(s.shards[0]!.path.replace(/\/shards\/.*$/, ""));
  expect((await again.getChannel("g_1"))!.channel.last_seq).toBe(3);
  expect((await again.appendMessage({ channel: "g_1", sender: "u_b", client_id: "d", type: "text", content: "d", media: null, reply_to: null, sent_at: 1 })).message.seq).toBe(4);
  await again.close();
});

test("the main thread cannot write: its connections are query-only", () => {
  const s = open();
  expect(() => s.shards[0]!.db.run("INSERT INTO phones (phone, user_id) VALUES ('p', 'u')")).toThrow(/readonly|query_only|read-only/i);
  return s.close();
});

test("if the writer thread dies, pending and later writes fail with a clear error and the owner is told", async () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-store-"));
  dirs.push(dir);
  const deaths: string[] = [];
  const s = new SqliteStore({ dir, shards: 2, synchronous: "full", onWriterDeath: (r) => deaths.push(r) });
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
  const dir = mkdtempSync(join(tmpdir(), "natter-store-"));
  dirs.push(dir);
  const s = new SqliteStore({ dir, shards: 2, synchronous: "full" });
  await s.createUser(user("u_a", "+1"));
  const first = s.setLastSeen("u_a", 10);
  await new Promise((r) => setImmediate(r)); // the first round is now on the writer thread
  const second = s.setLastSeen("u_a", 20); // waits for the next round
  await s.close();
  expect(await Promise.all([first, second])).toEqual([undefined, undefined]);
  const again = new SqliteStore({ dir, shards: 2, synchronous: "full" });
  expect((await again.getUser("u_a"))?.last_seen).toBe(20);
  await again.close();
});
