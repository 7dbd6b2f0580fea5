// Plain files in the replica next to Litestream's shards: layout.json and media
// blobs. A directory implementation, and S3 through Bun's built-in client.
// Objects are immutable: put() of a key that exists (same size) is a no-op.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReplicaTarget } from "./target.ts";

export interface ObjectReplica {
  readonly description: string;
  /** Copies the file at `path` to `key` unless an object of the same size is there. */
  put(key: string, path: string): Promise<void>;
  /** Copies `key` to `dest` (via a temp file + rename); false if there is no such object. */
  get(key: string, dest: string): Promise<boolean>;
  /** Keys under `prefix` (which ends with "/"), names relative to the prefix. */
  list(prefix: string): Promise<string[]>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string | null>;
}

/** A directory replica (local disk, NFS, a mounted volume). */
export class DirObjects implements ObjectReplica {
  constructor(readonly dir: string) {}
  get description() {
    return this.dir;
  }

  private path(key: string): string {
    if (key.split("/").some((p) => p === ".." || p === "")) throw new Error(`bad replica key ${JSON.stringify(key)}`);
    return join(this.dir, key);
  }

  async put(key: string, path: string): Promise<void> {
    const dest = this.path(key);
    const size = statSync(path).size;
    if (existsSync(dest) && statSync(dest).size === size) return;
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      copyFileSync(path, tmp);
      renameSync(tmp, dest);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async get(key: string, dest: string): Promise<boolean> {
    const src = this.path(key);
    if (!existsSync(src)) return false;
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    const d = this.path(prefix.replace(/\/+$/, ""));
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((n) => !n.includes(".tmp-"));
  }

  async putText(key: string, text: string): Promise<void> {
    const dest = this.path(key);
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    await Bun.write(tmp, text);
    renameSync(tmp, dest);
  }

  async getText(key: string): Promise<string | null> {
    const p = this.path(key);
    return existsSync(p) ? readFileSync(p, "utf8") : null;
  }
}

/**
 * S3 (or compatible) through Bun's S3 client. Credentials come from the
 * environment as for Litestream (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or
 * LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY); endpoint and region
 * from the URL's query (`?endpoint=http://minio:9000&region=us-east-1`).
 */
export class S3Objects implements ObjectReplica {
  private readonly client: Bun.S3Client;
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    params: Record<string, string>,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.client = new Bun.S3Client({
      bucket,
      endpoint: params.endpoint,
      region: params.region ?? env.AWS_REGION,
      accessKeyId: env.LITESTREAM_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.LITESTREAM_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
      virtualHostedStyle: params["force-path-style"] === "true" ? false : undefined,
    });
  }
  get description() {
    return `s3://${this.bucket}/${this.prefix}`;
  }
  private key(k: string) {
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  async put(key: string, path: string): Promise<void> {
    const f = this.client.file(this.key(key));
    const size = statSync(path).size;
    try {
      if ((await f.stat()).size === size) return;
    } catch {}
    await f.write(Bun.file(path));
  }

  async get(key: string, dest: string): Promise<boolean> {
    const f = this.client.file(this.key(key));
    if (!(await f.exists())) return false;
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    await Bun.write(tmp, f);
    renameSync(tmp, dest);
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.key(prefix);
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.list({ prefix: full, continuationToken: token });
      for (const c of r.contents ?? []) out.push(c.key.slice(full.length));
      token = r.isTruncated ? r.nextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.file(this.key(key)).write(text);
  }

  async getText(key: string): Promise<string | null> {
    const f = this.client.file(this.key(key));
    return (await f.exists()) ? await f.text() : null;
  }
}

/** The object side of a replica, or null where natter cannot write files itself (sftp, gcs, abs). */
export function openObjects(t: ReplicaTarget): ObjectReplica | null {
  if (t.kind === "dir") return new DirObjects(t.dir);
  if (t.kind === "s3") return new S3Objects(t.bucket, t.prefix, t.params);
  return null;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Media blobs in the replica (`media/<sha256>`). The media module calls put()
 * once a new blob is stored; restore calls list() and get().
 */
export interface BlobReplica {
  /** Copies the blob at `path` (whose SHA-256 is `sha256`) to the replica; a no-op if it is there. */
  put(sha256: string, path: string): Promise<void>;
  /** Every blob hash in the replica. */
  list(): Promise<string[]>;
  /** Copies the blob to `dest`, verifying its hash; false if the replica does not have it. */
  get(sha256: string, dest: string): Promise<boolean>;
}

export class ObjectBlobReplica implements BlobReplica {
  constructor(readonly objects: ObjectReplica) {}

  async put(sha256: string, path: string): Promise<void> {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    await this.objects.put(`media/${sha256}`, path);
  }

  async list(): Promise<string[]> {
    return (await this.objects.list("media/")).filter((k) => SHA256.test(k)).sort();
  }

  async get(sha256: string, dest: string): Promise<boolean> {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    if (!(await this.objects.get(`media/${sha256}`, dest))) return false;
    const got = await fileSha256(dest);
    if (got !== sha256) {
      rmSync(dest, { force: true });
      throw new Error(`replica blob ${sha256} is corrupt (its content hashes to ${got})`);
    }
    return true;
  }
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest("hex");
}
