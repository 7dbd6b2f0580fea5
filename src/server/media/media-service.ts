// Media domain: streamed uploads (capped, hashed, sniffed, quota-checked),
// who may read a media id, the links that make shared media readable by a
// channel's members, and the orphan sweep. Storage of bytes is a BlobStore;
// metadata lives in the Store (rows in shard(media id)).

import { randomBytes } from "node:crypto";
import { NatterError } from "../../protocol/index.ts";
import { asDiskFull, DiskFull } from "../disk-full.ts";
import type { MediaAccess } from "../domain/ports.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { MediaRow, MediaStore } from "../store/types.ts";
import type { BlobStore, TempBlob } from "./blob-store.ts";
import { sanitizeFilename } from "./filename.ts";
import { sniffFile } from "./sniff.ts";
import type { UploadedMedia } from "./types.ts";

export interface MediaLimits {
  maxUploadBytes: number;
  /** Total bytes per user; 0 = none. */
  quotaBytes: number;
  orphanAgeMs: number;
  sweepIntervalMs: number;
  /** An upload body that sends nothing for this long is ended (bad_request, nothing kept); default 20 s. */
  stallMs?: number;
}

export interface UploadInput {
  body: ReadableStream<Uint8Array> | null;
  /** Content-Length, if the client sent one. */
  length: number | null;
  /** The client's file name (unsanitized), if any. */
  filename: string | null;
}

/** A send in flight writes its link just before the commit; links this recent always protect a media row. */
const IN_FLIGHT_GRACE_MS = 60_000;
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** `m_` + 24 random base32 chars (120 bits): opaque, unguessable. */
export function newMediaId(): string {
  const b = randomBytes(24);
  let s = "m_";
  for (const x of b) s += ALPHABET[x & 31];
  return s;
}

const isMediaId = (id: string) => /^m_[a-z0-9]{1,64}$/.test(id);

export const toUploaded = (r: MediaRow): UploadedMedia => ({
  id: r.id,
  size: r.size,
  mime: r.mime,
  sha256: r.sha256,
  name: r.name,
  width: r.width,
  height: r.height,
  created_at: r.created_at,
});

const fmtBytes = (n: number) =>
  n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

export class MediaService implements MediaAccess {
  /** Bytes of uploads in progress, per user (counted against the quota). */
  private readonly reserved = new Map<string, number>();
  /** Serializes blob commits against the sweep's blob removals. */
  private lock: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | null = null;
  private sweeping: Promise<unknown> | null = null;

  constructor(
    private readonly store: MediaStore,
    readonly blobs: BlobStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    readonly limits: MediaLimits,
  ) {}

  /** Sets the stored-bytes gauges and starts the periodic orphan sweep. */
  start(): void {
    const u = this.blobs.usage();
    this.metrics.mediaBytesStored.set({}, u.bytes);
    this.metrics.mediaBlobs.set({}, u.blobs);
    this.timer = setInterval(() => void this.sweepNow(), this.limits.sweepIntervalMs);
    this.timer.unref?.();
  }

  /** Stops the sweep and waits for a running one. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  // ---- upload ----

  /**
   * Streams `input.body` to a temp file while hashing and counting; never holds the file in memory.
   * Throws too_large (size cap or quota; nothing kept), bad_request (aborted/short body; nothing kept)
   * or DiskFull (unavailable; nothing kept).
   */
  async upload(user: string, input: UploadInput): Promise<UploadedMedia> {
    const cap = this.limits.maxUploadBytes;
    const quota = this.limits.quotaBytes;
    const stallMs = this.limits.stallMs ?? 20_000;
    if (input.length !== null && input.length > cap) throw this.reject("too_large", this.capMessage());
    const stored = quota > 0 ? await this.store.mediaUsage(user) : 0;
    // Bytes of this upload counted against the quota while it is in flight.
    let held = 0;
    const hold = (n: number) => {
      held += n;
      this.reserved.set(user, (this.reserved.get(user) ?? 0) + n);
    };
    const release = () => {
      if (held === 0) return;
      const left = (this.reserved.get(user) ?? 0) - held;
      if (left > 0) this.reserved.set(user, left);
      else this.reserved.delete(user);
      held = 0;
    };
    const overQuota = (more: number) => quota > 0 && stored + (this.reserved.get(user) ?? 0) + more > quota;
    if (input.length !== null) {
      if (overQuota(input.length)) throw this.reject("quota", this.quotaMessage(stored));
      hold(input.length); // no await between check and hold: concurrent uploads are first come, first served
    }

    let temp: TempBlob | null = null;
    let committed = false;
    let rejected: string | null = null;
    try {
      temp = await this.blobs.createTemp();
      if (input.body) {
        const reader = input.body.getReader();
        for (;;) {
          let chunk: { done: true; value?: undefined } | { done: false; value: Uint8Array } | null;
          let stall: ReturnType<typeof setTimeout> | undefined;
          try {
            // A client that sends half a body and then nothing would hold its temp file (and quota) forever.
            const stalled = new Promise<null>((r) => (stall = setTimeout(() => r(null), stallMs)));
            chunk = (await Promise.race([reader.read(), stalled])) as typeof chunk;
          } catch {
            throw this.reject("aborted", "upload aborted before the end of the body", false);
          } finally {
            clearTimeout(stall);
          }
          if (chunk === null) {
            void reader.cancel().catch(() => {});
            throw this.reject("stalled", `upload stalled: no bytes for ${stallMs} ms`, false);
          }
          if (chunk.done) break;
          const n = chunk.value.byteLength;
          const refuse =
            temp.size + n > cap
              ? this.reject("too_large", this.capMessage(), false)
              : input.length === null && overQuota(n)
                ? this.reject("quota", this.quotaMessage(stored), false)
                : input.length !== null && temp.size + n > input.length
                  ? this.reject("aborted", `body is longer than its Content-Length (${input.length})`, false)
                  : null;
          if (refuse) {
            await reader.cancel().catch(() => {});
            throw refuse;
          }
          if (input.length === null) hold(n);
          await temp.write(chunk.value);
        }
      }
      if (input.length !== null && temp.size !== input.length)
        throw this.reject("aborted", `body has ${temp.size} bytes, Content-Length said ${input.length}`, false);
      const sha256 = await temp.finish();
      const sniffed = await sniffFile(temp.path);
      const row: MediaRow = {
        id: newMediaId(),
        uploader: user,
        sha256,
        size: temp.size,
        mime: sniffed.mime,
        name: sanitizeFilename(input.filename, sniffed.ext ? `file.${sniffed.ext}` : "file"),
        width: sniffed.dimensions?.width ?? null,
        height: sniffed.dimensions?.height ?? null,
        created_at: Date.now(),
        sent: 0,
      };
      const t = temp;
      await this.withLock(async () => {
        // Uploads that finished since `stored` was read are in the store now: check with fresh numbers.
        if (quota > 0 && (await this.store.mediaUsage(user)) + (this.reserved.get(user) ?? 0) > quota)
          throw this.reject("quota", this.quotaMessage(stored), false);
        const { created } = await this.blobs.commit(t, sha256);
        try {
          await this.store.createMedia(row);
        } catch (e) {
          if (created && !(await this.store.blobInUse(sha256))) await this.blobs.remove(sha256);
          throw e;
        }
        committed = true;
        release(); // now counted by the store, inside the lock, so never twice
        if (created) {
          this.metrics.mediaBytesStored.inc({}, row.size);
          this.metrics.mediaBlobs.inc({});
        }
      });
      this.metrics.mediaUploads.inc();
      this.metrics.mediaUploadBytes.inc({}, row.size);
      return toUploaded(row);
    } catch (e) {
      const full = asDiskFull(e, temp?.path);
      rejected = (e as { rejectReason?: string }).rejectReason ?? (full instanceof DiskFull ? "disk_full" : null);
      release(); // first, so a failing upload stops counting against the user's others at once
      throw full; // a full disk: unavailable with a retry-after, the temp file removed below
    } finally {
      if (!committed) await temp?.discard();
      // Counted once the temp file is gone, so the metric also says "nothing left behind".
      if (rejected) this.metrics.mediaUploadsRejected.inc({ reason: rejected });
      release();
    }
  }

  /** The error for a refused upload; counted now, or (count=false) by upload() once its temp file is gone. */
  private reject(reason: "too_large" | "quota" | "aborted" | "stalled", message: string, count = true): NatterError {
    if (count) this.metrics.mediaUploadsRejected.inc({ reason });
    const code = reason === "aborted" || reason === "stalled" ? "bad_request" : "too_large";
    return Object.assign(new NatterError(code, message), { rejectReason: reason });
  }

  private capMessage(): string {
    return `file is larger than the upload limit of ${fmtBytes(this.limits.maxUploadBytes)} (${this.limits.maxUploadBytes} bytes)`;
  }

  private quotaMessage(used: number): string {
    const q = this.limits.quotaBytes;
    return `upload quota exceeded: ${fmtBytes(used)} of your ${fmtBytes(q)} (${q} bytes) are used; files sent in chats count`;
  }

  // ---- access ----

  /** The media row if `user` may read it: the uploader, or a member of a channel where a message
   *  carries it, for a seq inside their membership. Null otherwise (the caller answers 404). */
  async readable(user: string, id: string): Promise<MediaRow | null> {
    if (!isMediaId(id)) return null;
    const row = await this.store.getMedia(id);
    if (!row) return null;
    if (row.uploader === user) return row;
    for (const l of await this.store.mediaLinks(id)) if (await this.store.mediaVisibleTo(l.channel, id, user)) return row;
    return null;
  }

  /**
   * Where a blob missing here may be (a cluster's other nodes: the upload landed on one of them).
   * It writes the bytes into `temp` and resolves true if it found them.
   */
  fetchMissing: ((sha256: string, temp: TempBlob) => Promise<boolean>) | null = null;

  /** The stored bytes of a readable row (null if the blob is missing here and elsewhere, which is logged). */
  async blob(row: MediaRow): Promise<Blob | null> {
    let b = this.blobs.get(row.sha256);
    if (!b && this.fetchMissing) {
      const temp = await this.blobs.createTemp();
      try {
        if ((await this.fetchMissing(row.sha256, temp)) && (await temp.finish()) === row.sha256) {
          await this.blobs.commit(temp, row.sha256);
          b = this.blobs.get(row.sha256);
        }
      } finally {
        await temp.discard();
      }
    }
    if (!b) this.log.error("media blob missing", { media: row.id, sha256: row.sha256 });
    return b;
  }

  async maySend(user: string, media: string): Promise<boolean> {
    return (await this.readable(user, media)) !== null;
  }

  async shared(channel: string, media: string): Promise<void> {
    await this.store.linkMedia(media, channel, Date.now());
  }

  /**
   * A message carrying `id`, sent at `sentAt`, was deleted for everyone: the row and (unless another
   * row shares them) the bytes go, unless a committed message still carries the media or a link
   * written after `sentAt` marks another send that may be in flight. Never throws (logged).
   */
  async release(id: string, sentAt: number): Promise<void> {
    try {
      const row = await this.store.getMedia(id);
      if (!row) return;
      for (const l of await this.store.mediaLinks(id)) if (await this.store.mediaSentIn(l.channel, id)) return;
      await this.withLock(async () => {
        if (!(await this.store.deleteMedia(id, sentAt + 1))) return;
        this.metrics.mediaSwept.inc();
        if (await this.store.blobInUse(row.sha256)) return;
        const r = await this.blobs.remove(row.sha256);
        if (r.removed) {
          this.metrics.mediaBytesStored.inc({}, -r.bytes);
          this.metrics.mediaBlobs.inc({}, -1);
        }
      });
    } catch (e) {
      this.log.error("media release failed", { media: id, error: String((e as Error)?.stack ?? e) });
    }
  }

  // ---- orphan sweep ----

  /** Runs one sweep unless one is running; never throws (failures are logged). */
  sweepNow(): Promise<unknown> {
    this.sweeping ??= this.sweep()
      .catch((e) => this.log.error("media sweep failed", { error: String((e as Error)?.stack ?? e) }))
      .finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  /**
   * Removes uploads older than the orphan age that no committed message carries, then every blob no
   * remaining row uses. Uploads found in a message are marked sent and never looked at again.
   */
  async sweep(now = Date.now()): Promise<{ removed: number; freed: number }> {
    const cutoff = now - this.limits.orphanAgeMs;
    const linksBefore = Math.min(cutoff, now - IN_FLIGHT_GRACE_MS);
    let removed = 0;
    let freed = 0;
    for (;;) {
      const rows = await this.store.unsentMedia(cutoff, 500);
      let progressed = false;
      for (const row of rows) {
        let sent = false;
        for (const l of await this.store.mediaLinks(row.id)) if ((sent = await this.store.mediaSentIn(l.channel, row.id))) break;
        if (sent) {
          await this.store.markMediaSent(row.id);
          progressed = true;
          continue;
        }
        await this.withLock(async () => {
          if (!(await this.store.deleteMedia(row.id, linksBefore))) return;
          progressed = true;
          removed++;
          this.metrics.mediaSwept.inc();
          if (await this.store.blobInUse(row.sha256)) return;
          const r = await this.blobs.remove(row.sha256);
          if (r.removed) {
            freed += r.bytes;
            this.metrics.mediaBytesStored.inc({}, -r.bytes);
            this.metrics.mediaBlobs.inc({}, -1);
          }
        });
      }
      if (rows.length < 500 || !progressed) break;
    }
    if (removed > 0) this.log.info("media sweep", { removed, freed_bytes: freed });
    return { removed, freed };
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }
}
