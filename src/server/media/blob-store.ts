// Content-addressed blob storage: bytes are stored once per SHA-256, whoever
// uploads them. BlobStore is the interface; LocalBlobStore keeps blobs under
// DATA/media/blobs/ab/<sha256> and uploads in progress under DATA/media/tmp/.

import { createHash, randomBytes, type Hash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

/** An upload being written: hashed and counted as it goes. */
export interface TempBlob {
  readonly path: string;
  readonly size: number;
  /** Appends a chunk (resolves once written, so the reader applies backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes to disk, closes, and returns the hex SHA-256 of everything written. */
  finish(): Promise<string>;
  /** Closes and deletes the file; safe to call more than once or after finish. */
  discard(): Promise<void>;
}

export interface BlobStore {
  /** Starts a new upload in a temporary file. */
  createTemp(): Promise<TempBlob>;
  /** Moves a finished temp blob into place under its hash; if the bytes are already stored, the temp is deleted. */
  commit(temp: TempBlob, sha256: string): Promise<{ created: boolean }>;
  /** The stored bytes as a Blob (sliceable, streamed from disk), or null. */
  get(sha256: string): Blob | null;
  /** Deletes the blob; `removed` is false if it was not there. */
  remove(sha256: string): Promise<{ removed: boolean; bytes: number }>;
  /** Bytes and count of every stored blob (walks the store; called once at start). */
  usage(): { bytes: number; blobs: number };
}

const HEX64 = /^[0-9a-f]{64}$/;

export class LocalBlobStore implements BlobStore {
  private readonly blobs: string;
  private readonly tmp: string;

  /** `dir` is DATA/media. Leftover temp files (a crash mid-upload) are deleted here. */
  constructor(dir: string) {
    this.blobs = join(dir, "blobs");
    this.tmp = join(dir, "tmp");
    mkdirSync(this.blobs, { recursive: true });
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  /** Path of a blob; throws on anything that is not a lowercase hex SHA-256 (never a path from outside). */
  pathOf(sha256: string): string {
    if (!HEX64.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.blobs, sha256.slice(0, 2), sha256);
  }

  async createTemp(): Promise<TempBlob> {
    const path = join(this.tmp, `${Date.now()}-${randomBytes(8).toString("hex")}.part`);
    const fh = await open(path, "wx", 0o600);
    return new LocalTemp(path, fh);
  }

  async commit(temp: TempBlob, sha256: string): Promise<{ created: boolean }> {
    const dest = this.pathOf(sha256);
    try {
      await stat(dest);
      await temp.discard();
      return { created: false };
    } catch {
      // not stored yet
    }
    mkdirSync(join(this.blobs, sha256.slice(0, 2)), { recursive: true });
    await rename(temp.path, dest);
    return { created: true };
  }

  get(sha256: string): Blob | null {
    const p = this.pathOf(sha256);
    try {
      statSync(p);
    } catch {
      return null;
    }
    return Bun.file(p);
  }

  async remove(sha256: string): Promise<{ removed: boolean; bytes: number }> {
    const p = this.pathOf(sha256);
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch {
      return { removed: false, bytes: 0 };
    }
    await rm(p, { force: true });
    return { removed: true, bytes: size };
  }

  usage(): { bytes: number; blobs: number } {
    let bytes = 0;
    let blobs = 0;
    for (const d of readdirSync(this.blobs)) {
      for (const f of readdirSync(join(this.blobs, d))) {
        if (!HEX64.test(f)) continue;
        bytes += statSync(join(this.blobs, d, f)).size;
        blobs++;
      }
    }
    return { bytes, blobs };
  }
}

class LocalTemp implements TempBlob {
  private readonly hash: Hash = createHash("sha256");
  private fh: FileHandle | null;
  private written = 0;

  constructor(readonly path: string, fh: FileHandle) {
    this.fh = fh;
  }

  get size(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.fh) throw new Error("temp blob is closed");
    this.hash.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.written += chunk.length;
  }

  async finish(): Promise<string> {
    if (!this.fh) throw new Error("temp blob is closed");
    const fh = this.fh;
    this.fh = null;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return this.hash.digest("hex");
  }

  async discard(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
