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

const user = (id: string, phone: string) => ({ id, name: id, phone, created_at: 1, last_seen: null });

test("a phone claim left by a crash before the user row is taken over", async () => {
  const s = open();
  // Simulate the crash: the claim committed, the user row never did.
  const shard = (s as unknown as { shard(k: string): { write(f: (db: any) => unknown): Promise<unknown> } }).shard("+1555");
  await shard.write((db) => db.query("INSERT INTO phones (phone, user_id) VALUES ('+1555', 'u_ghost')").run());
  await s.createUser(user("u_real", "+1555"));
  expect((await s.userByPhone("+1555"))?.id).toBe("u_real");
  await expect(s.createUser(user("u_other", "+1555"))).rejects.toMatchObject({ code: "conflict" });
  await s.close();
});

test("a token is dead once its device row is gone, even if the token row lingers", async () => {
  const s = open();
  await s.createUser(user("u_a", "+1"));
  await s.createDevice({ id: "dv_1", user_id: "u_a", name: "laptop", created_at: 1 }, "hash1");
  expect(await s.deviceByToken("hash1")).toEqual({ user_id: "u_a", device_id: "dv_1" });
  const shard = (s as unknown as { shard(k: string): { write(f: (db: any) => unknown): Promise<unknown> } }).shard("u_a");
  await shard.write((db) => db.query("DELETE FROM devices WHERE id = 'dv_1'").run()); // crash after this, before the token delete
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
  await expect(
    s.appendMessage({ channel: "g_1", sender: "u_stranger", client_id: "x", type: "text", content: "x", media: null, reply_to: null, sent_at: 1 }),
  ).rejects.toMatchObject({ code: "forbidden" });
  expect((await s.getChannel("g_1"))!.channel.last_seq).toBe(3);
  await s.close();
});
