import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLayout, shardOf, shardPaths } from "./layout.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("shardOf is pinned: rows must keep their home across versions", () => {
  // Changing the hash would strand every existing row; these values must never change.
  expect(shardOf("u_abc", 16)).toBe(shardOf("u_abc", 16));
  expect([shardOf("", 16), shardOf("a", 16), shardOf("u_276tjt5puhazjb3y", 16), shardOf("+15550001111", 16), shardOf("g_x", 7)]).toEqual([
    5, 12, 5, 10, 4, // computed independently (Python FNV-1a 32-bit)
  ]);
});

test("shardOf spreads keys across shards", () => {
  const counts = new Array(16).fill(0);
  for (let i = 0; i < 16000; i++) counts[shardOf(`u_${i}`, 16)]++;
  for (const c of counts) expect(c).toBeGreaterThan(600);
});

test("layout.json fixes the shard count; shard files are shards/NN.db", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-layout-"));
  dirs.push(dir);
  const first = openLayout(dir, 3);
  expect(openLayout(dir, 32)).toEqual(first);
  expect(shardPaths(dir, first)).toEqual(["00", "01", "02"].map((n) => join(dir, "shards", `${n}.db`)));
  expect(existsSync(join(dir, "shards"))).toBe(true);
});
