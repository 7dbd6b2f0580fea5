// Rebuilds a data directory from a replica: every shard (Litestream restore
// of the latest generation), every media blob (hash-verified), layout.json;
// then PRAGMA integrity_check on each shard. Works offline: the server must
// not be running on the target directory.
//
// Safety: everything is restored into a staging directory beside the
// target; the target is only replaced once all of it succeeded and every
// shard passed its integrity check. A non-empty target is refused unless
// `force` is set.

import { Database } from "bun:sqlite";
import { DataDirInUse, lockDataDir, type DataDirLock } from "../data-lock.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { litestreamBinary, litestreamConfig } from "./litestream.ts";
import { ObjectBlobReplica, openObjects } from "./objects.ts";
import { parseReplica, redactUrl, shardName, type ReplicaTarget } from "./target.ts";


export interface RestoreOptions {
  replica: string;
  data: string;
  force?: boolean;
  /** Where a blob lives in the data dir (the media module's layout). */
  blobPath?: (dataDir: string, sha256: string) => string;
  /** Shard count when the replica has no layout.json (sftp/gcs/abs replicas): probe if absent. */
  shards?: number;
  onProgress?: (e: RestoreEvent) => void;
  binary?: string;
  /** Parallel Litestream restores. */
  parallelism?: number;
  /** Point in time (ISO 8601): each shard as it was then (Litestream -timestamp). */
  timestamp?: string;
}

export type RestoreEvent =
  | { kind: "start"; replica: string; data: string; shards: number }
  | { kind: "shard"; shard: number; done: number; total: number; bytes: number; ms: number }
  | { kind: "blob"; done: number; total: number; bytes: number }
  | { kind: "check"; shard: number; ok: boolean; result: string }
  | { kind: "done"; ms: number };

export interface RestoreReport {
  replica: string;
  data: string;
  /** Media blobs only (the replica of a server with a libSQL store). */
  media_only: boolean;
  shards: { shard: number; bytes: number; integrity: string; ms: number }[];
  blobs: number;
  blob_bytes: number;
  /** Blobs in the replica that no restored media row refers to (not copied). */
  blobs_skipped: number;
  ms: number;
}

export class RestoreError extends Error {
  constructor(
    message: string,
    readonly code: "not_empty" | "in_use" | "no_backup" | "integrity" | "litestream" | "bad_replica",
  ) {
    super(message);
  }
}

/** The media module's layout (src/server/media/blob-store.ts): DATA/media/blobs/ab/<sha256>. */
export const defaultBlobPath = (dataDir: string, sha256: string) => join(dataDir, "media", "blobs", sha256.slice(0, 2), sha256);

/** The data dir's lock (data-lock.ts): neither content nor replaced by a restore. */
const LOCK_FILES = new Set(["natter.lock", "natter.pid"]);

/** True if `dir` is missing or holds nothing but the lock. */
export function isEmptyDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  if (!statSync(dir).isDirectory()) return false;
  return readdirSync(dir).every((name) => LOCK_FILES.has(name));
}

/** SHA-256 of every media row in the restored shards; null if there are no shards or no media table. */
function referencedBlobs(shardDir: string, shards: number): Set<string> | null {
  if (shards === 0) return null;
  const out = new Set<string>();
  for (let i = 0; i < shards; i++) {
    const db = new Database(join(shardDir, `${shardName(i)}.db`), { readonly: true });
    try {
      for (const r of db.query("SELECT DISTINCT sha256 FROM media").all() as { sha256: string }[]) out.add(r.sha256);
    } catch {
      return null; // a schema without media rows: keep every blob
    } finally {
      db.close();
    }
  }
  return out;
}

/** The generation whose last write is latest but not after `timestamp` (from `litestream generations`). */
async function generationEndedBefore(
  run: (args: string[]) => Promise<string>,
  base: string[],
  db: string,
  timestamp: string,
): Promise<string | null> {
  const limit = Date.parse(timestamp);
  let best: { gen: string; end: number } | null = null;
  for (const line of (await run(["generations", ...base, db])).split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const [, gen, , start, end] = cols as [string, string, string, string, string];
    const s = Date.parse(start);
    const e = Date.parse(end);
    if (!Number.isNaN(s) && !Number.isNaN(e) && s <= limit && e <= limit && (!best || e > best.end)) best = { gen, end: e };
  }
  return best?.gen ?? null;
}

/** The pid of a Litestream still replicating DATA (natter's pid file), if it is alive. */
function liveLitestream(data: string): number | null {
  try {
    const pid = Number(readFileSync(join(data, "litestream.pid"), "utf8").trim());
    if (!Number.isSafeInteger(pid) || pid <= 1) return null;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmd.includes("litestream") && cmd.includes(join(data, "litestream.yml")) ? pid : null;
  } catch {
    return null;
  }
}

export async function restoreDataDir(o: RestoreOptions): Promise<RestoreReport> {
  const t0 = performance.now();
  const data = resolve(o.data);
  let target: ReplicaTarget;
  try {
    target = parseReplica(o.replica);
  } catch (e) {
    throw new RestoreError((e as Error).message, "bad_replica");
  }
  if (existsSync(data) && !statSync(data).isDirectory()) throw new RestoreError(`${data} is not a directory`, "not_empty");
  const live = liveLitestream(data);
  if (live) throw new RestoreError(`a natter server seems to be running on ${data} (its Litestream, pid ${live}, is alive): stop it first`, "not_empty");
  if (!isEmptyDir(data) && !o.force)
    throw new RestoreError(`${data} is not empty; restore into an empty directory, or pass --force to replace its contents`, "not_empty");
  if (target.kind === "dir" && !existsSync(target.dir)) throw new RestoreError(`replica ${target.dir} does not exist`, "no_backup");
  // Hold the data dir like a server does: no server may start on it mid-restore, nor run on it now.
  mkdirSync(data, { recursive: true });
  let lock: DataDirLock;
  try {
    lock = lockDataDir(data);
  } catch (e) {
    if (e instanceof DataDirInUse) throw new RestoreError(`${e.message} (a restore replaces the directory)`, "in_use");
    throw e;
  }
  try {
    return await restoreLocked(o, data, target, t0);
  } finally {
    lock.release();
  }
}

async function restoreLocked(o: RestoreOptions, data: string, target: ReplicaTarget, t0: number): Promise<RestoreReport> {

  const binary = o.binary ?? (await litestreamBinary());
  const objects = openObjects(target);
  const progress = o.onProgress ?? (() => {});

  // Shard count: layout.json in the replica, else --shards, else probe shards/00, 01, ... until one is missing.
  let shards = o.shards ?? 0;
  const layoutText = objects ? await objects.getText("layout.json") : null;
  let mediaOnly = false;
  if (layoutText) {
    const layout = JSON.parse(layoutText) as { shards: number; media_only?: boolean };
    shards = layout.shards;
    mediaOnly = layout.media_only === true;
  }

  const parent = dirname(data);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(data)}.restoring-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, "shards"), { recursive: true });
  mkdirSync(join(staging, "media"), { recursive: true });
  try {
    const report: RestoreReport = { replica: redactUrl(target.url), data, media_only: mediaOnly, shards: [], blobs: 0, blob_bytes: 0, blobs_skipped: 0, ms: 0 };
    // A Litestream config naming each shard's replica. The db paths are placeholders (-o says where to
    // write); `litestream generations` wants them to exist, so they are empty files in the staging dir.
    const restoreDbPath = (i: number) => join(staging, "source", `${shardName(i)}.db`);
    const configPath = join(staging, "restore-litestream.yml");
    const configFor = (n: number) =>
      litestreamConfig({
        shards: Array.from({ length: n }, (_, i) => restoreDbPath(i)),
        target,
        monitorIntervalMs: 1000,
        syncIntervalMs: 1000,
        metricsAddr: "",
      });
    writeFileSync(configPath, configFor(Math.max(shards, 100)));
    const run = async (args: string[]): Promise<string> => {
      const p = Bun.spawn([binary, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const [so, se, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) {
        const msg = (se + so).trim().split("\n").slice(-3).join("; ");
        throw new RestoreError(`litestream ${args[0]} failed (exit ${code}): ${msg}`, "litestream");
      }
      return so;
    };
    // Through a config (not a bare URL), so replica options such as an S3 endpoint apply to restore too.
    const base = ["-config", configPath, "-no-expand-env"];
    const restoreOne = async (i: number): Promise<boolean> => {
      const t = performance.now();
      const out = join(staging, "shards", `${shardName(i)}.db`);
      const at = o.timestamp ? ["-timestamp", o.timestamp] : [];
      await run(["restore", ...base, "-if-replica-exists", ...at, "-o", out, restoreDbPath(i)]);
      if (!existsSync(out) && o.timestamp) {
        // Litestream finds a point in time only inside a generation's [start, end]. A shard with no
        // writes after the time is, at that time, as its generation ended: restore that generation.
        mkdirSync(join(staging, "source"), { recursive: true });
        writeFileSync(restoreDbPath(i), "");
        const gen = await generationEndedBefore(run, base, restoreDbPath(i), o.timestamp);
        if (gen) await run(["restore", ...base, "-generation", gen, "-o", out, restoreDbPath(i)]);
      }
      for (const ext of [".tmp-wal", ".tmp-shm", ".tmp"]) rmSync(out + ext, { force: true });
      if (!existsSync(out)) return false;
      const bytes = statSync(out).size;
      report.shards[i] = { shard: i, bytes, integrity: "", ms: Math.round(performance.now() - t) };
      return true;
    };

    if (mediaOnly) {
      // A libSQL-store server's replica: its rows are on the libSQL server; only media blobs are here.
      progress({ kind: "start", replica: report.replica, data, shards: 0 });
    } else if (shards === 0) {
      while (await restoreOne(shards)) {
        progress({ kind: "shard", shard: shards, done: shards + 1, total: 0, bytes: report.shards[shards]!.bytes, ms: report.shards[shards]!.ms });
        shards++;
      }
      if (shards === 0) throw new RestoreError(`no backup found in ${redactUrl(target.url)} (expected shards/00)`, "no_backup");
      progress({ kind: "start", replica: report.replica, data, shards });
    } else {
      progress({ kind: "start", replica: report.replica, data, shards });
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < shards) {
          const i = next++;
          if (!(await restoreOne(i)))
            throw new RestoreError(`shard ${shardName(i)} has no backup in ${redactUrl(target.url)}`, "no_backup");
          done++;
          progress({ kind: "shard", shard: i, done, total: shards, bytes: report.shards[i]!.bytes, ms: report.shards[i]!.ms });
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.parallelism ?? 4, shards) }, worker));
    }

    for (let i = 0; i < shards; i++) {
      const db = new Database(join(staging, "shards", `${shardName(i)}.db`), { readonly: true });
      let result: string;
      try {
        const rows = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
        result = rows.map((r) => r.integrity_check).join("; ");
      } finally {
        db.close();
      }
      report.shards[i]!.integrity = result;
      progress({ kind: "check", shard: i, ok: result === "ok", result });
      if (result !== "ok") throw new RestoreError(`shard ${shardName(i)} failed integrity_check: ${result}`, "integrity");
    }

    if (objects) {
      const blobs = new ObjectBlobReplica(objects);
      let list = await blobs.list();
      // Only blobs a restored media row refers to: others are unreachable (orphans already swept, or
      // uploads newer than the restored point in time).
      const wanted = referencedBlobs(join(staging, "shards"), shards);
      if (wanted) {
        report.blobs_skipped = list.filter((b) => !wanted.has(b)).length;
        list = list.filter((b) => wanted.has(b));
      }
      const where = o.blobPath ?? defaultBlobPath;
      for (const sha of list) {
        const dest = where(staging, sha);
        if (!(await blobs.get(sha, dest))) throw new RestoreError(`blob ${sha} vanished from the replica`, "no_backup");
        report.blobs++;
        report.blob_bytes += statSync(dest).size;
        progress({ kind: "blob", done: report.blobs, total: list.length, bytes: report.blob_bytes });
      }
    }

    rmSync(configPath, { force: true });
    rmSync(join(staging, "source"), { recursive: true, force: true });
    if (!mediaOnly) writeFileSync(join(staging, "layout.json"), JSON.stringify({ format: 1, shards, created_at: Date.now() }, null, 2) + "\n");

    // Swap in: the old contents go only now that the restore is complete.
    // Entry by entry, so a target that is a mount point works too.
    for (const name of readdirSync(data)) if (!LOCK_FILES.has(name)) rmSync(join(data, name), { recursive: true, force: true });
    for (const name of readdirSync(staging)) renameSync(join(staging, name), join(data, name));
    rmSync(staging, { recursive: true, force: true });
    report.ms = Math.round(performance.now() - t0);
    progress({ kind: "done", ms: report.ms });
    return report;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
