// One shard from the replica, while the server runs: a cluster node that takes
// a shard over restores the latest copy its last owner replicated, then swaps
// it in (SqliteStore.replaceShard). The whole-directory restore is restore.ts.

import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { litestreamBinary, litestreamConfig } from "./litestream.ts";
import { shardName, type ReplicaTarget } from "./target.ts";

/**
 * Restores shard `shard`'s latest generation (or `generation`) from `target` into the file `out` (integrity-checked).
 * Resolves false when the replica holds no copy of the shard. `work` is a scratch directory.
 */
export async function restoreShard(target: ReplicaTarget, shard: number, out: string, work: string, generation?: string, binary?: string): Promise<boolean> {
  const bin = binary ?? (await litestreamBinary());
  mkdirSync(work, { recursive: true });
  // Litestream names a replica by the db path in its config; the path only has to exist.
  const source = join(work, `${shardName(shard)}.source.db`);
  writeFileSync(source, "");
  const config = join(work, `${shardName(shard)}.restore.yml`);
  const shards: (string | null)[] = Array.from({ length: shard + 1 }, (_, i) => (i === shard ? source : null));
  writeFileSync(config, litestreamConfig({ shards, target, monitorIntervalMs: 1000, syncIntervalMs: 1000, metricsAddr: "" }), { mode: 0o600 });
  for (const ext of ["", "-wal", "-shm", ".tmp", ".tmp-wal", ".tmp-shm"]) rmSync(out + ext, { force: true });
  try {
    const p = Bun.spawn([bin, "restore", "-config", config, "-no-expand-env", "-if-replica-exists", ...(generation ? ["-generation", generation] : []), "-o", out, source], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [so, se, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`litestream restore of shard ${shardName(shard)} failed (exit ${code}): ${(se + so).trim().split("\n").slice(-3).join("; ")}`);
    if (!existsSync(out)) return false;
    const db = new Database(out, { readonly: true });
    try {
      const rows = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
      const result = rows.map((r) => r.integrity_check).join("; ");
      if (result !== "ok") throw new Error(`restored shard ${shardName(shard)} failed integrity_check: ${result}`);
    } finally {
      db.close();
    }
    return true;
  } finally {
    rmSync(source, { force: true });
    rmSync(config, { force: true });
  }
}

const metaDir = (path: string) => join(dirname(path), `.${basename(path)}-litestream`);

/** The Litestream generation this node last replicated the shard file `path` in (its local meta dir), if any. */
export function localGeneration(path: string): string | null {
  const meta = join(metaDir(path), "generation");
  try {
    const g = readFileSync(meta, "utf8").trim();
    return /^[0-9a-f]{16}$/.test(g) ? g : null;
  } catch {
    return null;
  }
}

/** Drops Litestream's local state of `path` (the shard's history is all in the replica; this node no longer replicates it). */
export function forgetGeneration(path: string): void {
  rmSync(metaDir(path), { recursive: true, force: true });
}
