// A replica URL as the operator gives it (`--replica`), parsed once.
// Layout inside every replica, whatever the backend:
//   shards/NN/      one Litestream replica per shard file (DATA/shards/NN.db)
//   layout.json     the data dir's layout (shard count), for restore
//   media/<sha256>  media blobs (content-addressed, immutable)
// Litestream handles the shards for every backend it supports; natter itself
// writes layout.json and blobs for directory and S3 replicas.

import { isAbsolute, join, resolve } from "node:path";

export type ReplicaTarget =
  /** A local (or mounted) directory: a plain path or file:///path. */
  | { kind: "dir"; url: string; dir: string }
  /** s3://bucket/prefix?endpoint=...&region=...&force-path-style=true */
  | { kind: "s3"; url: string; bucket: string; prefix: string; params: Record<string, string> }
  /** Anything else Litestream understands (sftp://, gcs://, abs://): shards only. */
  | { kind: "other"; url: string; scheme: string };

export class ReplicaUrlError extends Error {}

const LITESTREAM_SCHEMES = new Set(["s3", "gcs", "abs", "sftp", "webdav"]);

export function parseReplica(raw: string, cwd = process.cwd()): ReplicaTarget {
  const s = raw.trim();
  if (s.length === 0) throw new ReplicaUrlError("replica URL is empty");
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (!m) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(s) && !isAbsolute(s) && !s.startsWith("."))
      throw new ReplicaUrlError(`unsupported replica ${JSON.stringify(s)}: give a directory, file:///path, s3://, gcs://, abs:// or sftp:// URL`);
    const dir = resolve(cwd, s);
    return { kind: "dir", url: "file://" + dir, dir };
  }
  const scheme = m[1]!.toLowerCase();
  if (scheme === "file") {
    const u = new URL(s);
    if (u.host && u.host !== "localhost") throw new ReplicaUrlError(`file URL must be file:///absolute/path (got ${s})`);
    const dir = decodeURIComponent(u.pathname);
    if (!dir || dir === "/") throw new ReplicaUrlError(`file URL needs a directory path (got ${s})`);
    return { kind: "dir", url: "file://" + dir.replace(/\/+$/, ""), dir: dir.replace(/\/+$/, "") };
  }
  if (!LITESTREAM_SCHEMES.has(scheme))
    throw new ReplicaUrlError(`unsupported replica scheme ${scheme}:// (directory, file, s3, gcs, abs, sftp, webdav)`);
  const u = new URL(s);
  if (scheme === "s3") {
    if (!u.hostname) throw new ReplicaUrlError(`s3 URL needs a bucket: s3://BUCKET/PREFIX (got ${s})`);
    const params: Record<string, string> = {};
    u.searchParams.forEach((v, k) => (params[k] = v));
    return { kind: "s3", url: s, bucket: u.hostname, prefix: u.pathname.replace(/^\/+|\/+$/g, ""), params };
  }
  return { kind: "other", url: s, scheme };
}

/** A sub-path of the replica as a URL Litestream accepts (query string kept). */
export function subUrl(t: ReplicaTarget, sub: string): string {
  if (t.kind === "dir") return "file://" + join(t.dir, sub);
  const u = new URL(t.url);
  u.pathname = (u.pathname.replace(/\/+$/, "") + "/" + sub).replace(/^\/*/, "/");
  return u.toString();
}

export const shardName = (i: number) => String(i).padStart(2, "0");

/** Where shard i replicates: REPLICA/shards/NN. */
export function shardReplicaUrl(t: ReplicaTarget, i: number): string {
  return subUrl(t, `shards/${shardName(i)}`);
}

/** The URL with any password or secret query parameter masked, for logs and status. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (/secret|password|token|key/i.test(k)) u.searchParams.set(k, "***");
    return u.toString();
  } catch {
    return url;
  }
}
