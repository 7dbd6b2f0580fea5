import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "./sqlite-store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fill(store: SqliteStore): Promise<string> {
  await store.createUser({ id: "u_a", name: "a", phone: "+1", created_at: 1, last_seen: null });
  await store.createChannel(
    { id: "g_1", kind: "group", name: "g", description: "", avatar_url: "", join: "invite", created_at: 1, created_by: "u_a", last_seq: 0 },
    [{ user: "u_a", role: "admin" }],
  );
  const big = "x".repeat(6000);
  for (let i = 0; i < 1200; i++)
    await store.appendMessage({ channel: "g_1", sender: "u_a", client_id: `c${i}`, type: "text", content: big, media: null, reply_to: null, sent_at: 1 });
  return store.shards.find((s) => s.db.query("SELECT 1 FROM channels WHERE id = 'g_1'").get())!.path;
}

test("with the worker, WAL pages reach the database file although the shard never checkpoints itself", async () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-ckpt-"));
  dirs.push(dir);
  const store = new SqliteStore({ dir, shards: 2, synchronous: "normal", checkpointWorker: true });
  const path = await fill(store); // ~7 MB of WAL
  const deadline = Date.now() + 10_000;
  while (statSync(path).size < 4 * 1024 * 1024 && Date.now() < deadline) await Bun.sleep(50);
  expect(statSync(path).size).toBeGreaterThan(4 * 1024 * 1024);
  await store.close();
}, 30_000);

test("without it (and auto-checkpoint off, as under Litestream), the database file does not grow", async () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-ckpt-"));
  dirs.push(dir);
  const store = new SqliteStore({ dir, shards: 2, synchronous: "normal", walAutoCheckpoint: 0 });
  const path = await fill(store);
  await Bun.sleep(500);
  expect(statSync(path).size).toBeLessThan(1024 * 1024);
  await store.close();
}, 30_000);
