// Where rows live. A data directory holds `layout.json` (format and shard
// count, fixed at creation) and `shards/NN.db`; every row lives in the shard
// of its key, `shardOf(key, count)`. The libSQL backend is the same with one
// shard: one database.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Layout {
  format: 1;
  shards: number;
  created_at: number;
}

/** Reads or creates `layout.json`, which fixes the shard count for the directory's life. */
export function openLayout(dir: string, shards: number): Layout {
  const p = join(dir, "layout.json");
  if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8")) as Layout;
  const layout: Layout = { format: 1, shards, created_at: Date.now() };
  mkdirSync(dir, { recursive: true });
  // Written whole or not at all: a full disk must not leave a truncated layout behind.
  try {
    writeFileSync(p + ".tmp", JSON.stringify(layout, null, 2) + "\n");
    renameSync(p + ".tmp", p);
  } catch (e) {
    rmSync(p + ".tmp", { force: true });
    throw e;
  }
  return layout;
}

/** The shard files of a directory with `layout` (`shards/00.db` ...); creates `shards/`. */
export function shardPaths(dir: string, layout: Layout): string[] {
  const shardDir = join(dir, "shards");
  mkdirSync(shardDir, { recursive: true });
  return Array.from({ length: layout.shards }, (_, i) => join(shardDir, `${String(i).padStart(2, "0")}.db`));
}

/** FNV-1a 32-bit: the stable key -> shard hash. Never change it: it decides where rows live. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
