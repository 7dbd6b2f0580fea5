// Copies media blobs to the replica as they appear under DATA/media/blobs
// (the media module's layout: blobs/ab/<sha256>, moved in by rename once
// complete). A full scan at start backfills blobs stored before replication
// was turned on; a watcher picks up new ones at once; a periodic rescan
// catches anything the watcher missed. Blobs are immutable, so a put of a
// blob already in the replica is a no-op. The media module may also call
// BlobReplica.put itself right after storing a blob.

import { existsSync, mkdirSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { BlobMirrorStatus } from "../../protocol/index.ts";
import type { Logger } from "../log.ts";
import type { BlobReplica } from "./objects.ts";

const SHA = /^[0-9a-f]{64}$/;

export class BlobMirror {
  private readonly queue = new Set<string>();
  private readonly done = new Set<string>();
  private watcher: FSWatcher | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private working: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  private lastError: string | null = null;

  constructor(
    private readonly blobsDir: string,
    private readonly replica: BlobReplica,
    private readonly log: Logger,
    private readonly rescanMs = 60_000,
    /** Called with each failed copy's error (the supervisor looks for a full target). */
    private readonly onError?: (e: unknown) => void,
  ) {}

  async start(): Promise<void> {
    try {
      for (const sha of await this.replica.list()) this.done.add(sha);
    } catch (e) {
      this.log.warn("replication: cannot list media blobs in the replica", { error: String(e) });
    }
    this.scan();
    try {
      mkdirSync(this.blobsDir, { recursive: true });
      this.watcher = watch(this.blobsDir, { recursive: true }, (_ev, name) => {
        const sha = name ? String(name).split("/").pop()! : "";
        if (SHA.test(sha)) this.enqueue(sha);
      });
    } catch (e) {
      this.log.warn("replication: cannot watch media blobs; rescanning periodically", { error: String(e) });
    }
    this.timer = setInterval(() => this.scan(), this.rescanMs);
    this.timer.unref?.();
  }

  private pathOf(sha: string): string {
    return join(this.blobsDir, sha.slice(0, 2), sha);
  }

  /** Queues every local blob not yet known to be in the replica. */
  scan(): void {
    if (!existsSync(this.blobsDir)) return;
    for (const d of readdirSync(this.blobsDir)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of readdirSync(join(this.blobsDir, d))) if (SHA.test(f)) this.enqueue(f);
    }
  }

  private enqueue(sha: string): void {
    if (this.stopped || this.done.has(sha)) return;
    this.queue.add(sha);
    this.working ??= this.work().finally(() => (this.working = null));
  }

  private async work(): Promise<void> {
    while (this.queue.size > 0) {
      const sha = this.queue.values().next().value as string;
      this.queue.delete(sha);
      const path = this.pathOf(sha);
      if (!existsSync(path)) continue; // removed by the orphan sweep before we got to it
      try {
        await this.replica.put(sha, path);
        this.done.add(sha);
      } catch (e) {
        this.failures++;
        this.lastError = `${new Date().toISOString()} ${sha}: ${(e as Error).message}`;
        this.log.error("replication: media blob copy failed (retried at the next rescan)", { sha256: sha, error: String(e) });
        this.onError?.(e);
      }
    }
  }

  /** Resolves once everything queued so far is copied (or failed). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.working || this.queue.size > 0) && Date.now() < deadline) await (this.working ?? Bun.sleep(10));
    return this.queue.size === 0;
  }

  status(): BlobMirrorStatus {
    return { replicated: this.done.size, pending: this.queue.size, failures: this.failures, last_error: this.lastError };
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.stopped = true;
  }
}
