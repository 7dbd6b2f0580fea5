import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../migrations.ts";
import { Shard } from "./shard.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "natter-shard-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("migrations are applied once and recorded in user_version", async () => {
  const p = join(tmp(), "s.db");
  const s1 = new Shard(p, { synchronous: "normal" });
  expect((s1.db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
  expect((s1.db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
  await s1.close();
  const s2 = new Shard(p, { synchronous: "normal" }); // reopening does not re-run migration 1 (it would fail: tables exist)
  expect((s2.db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
  await s2.close();
});

test("writes queued in one turn share one commit; a failing write does not undo the others", async () => {
  const batches: number[] = [];
  const s = new Shard(join(tmp(), "s.db"), { synchronous: "normal", onCommit: (n) => batches.push(n) });
  const ins = (id: string) => s.write((db) => db.query("INSERT INTO phones (phone, user_id) VALUES (?, ?)").run(id, "u"));
  const results = await Promise.allSettled([ins("1"), ins("2"), ins("1"), ins("3")]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
  expect(batches).toEqual([4]);
  const rows = s.db.query("SELECT phone FROM phones ORDER BY phone").all() as { phone: string }[];
  expect(rows.map((r) => r.phone)).toEqual(["1", "2", "3"]);
  await s.close();
});

test("a write resolves only after its commit is visible to a second connection", async () => {
  const p = join(tmp(), "s.db");
  const s = new Shard(p, { synchronous: "full" });
  const { Database } = await import("bun:sqlite");
  const other = new Database(p, { readonly: true });
  const pending = s.write((db) => db.query("INSERT INTO phones (phone, user_id) VALUES ('x', 'u')").run());
  expect(other.query("SELECT COUNT(*) AS n FROM phones").get()).toEqual({ n: 0 });
  await pending;
  expect(other.query("SELECT COUNT(*) AS n FROM phones").get()).toEqual({ n: 1 });
  other.close();
  await s.close();
});
