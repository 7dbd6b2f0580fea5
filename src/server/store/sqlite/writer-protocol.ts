// What crosses between the main thread (writer-client.ts) and the writer
// thread (writer-worker.ts), as JSON text both ways: much cheaper than
// structured clone for these small plain objects.

import { NatterError, type ErrorCode } from "../../../protocol/index.ts";
import { asDiskFull, DiskFull } from "../../disk-full.ts";
import type { CommitStat } from "../types.ts";
import type { WriteOp } from "../write-ops.ts";
import type { Synchronous } from "./shard.ts";

/** One named write (write-ops.ts) for shard `shard`. */
export interface WriteCall {
  id: number;
  shard: number;
  op: WriteOp;
  args: unknown;
}

/** A write's outcome: its result once durable, or why it failed. */
export type WriteAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireFailure };

export interface WireFailure {
  code?: string;
  message: string;
  retryAfterMs?: number;
  /** The file a full disk refused to write (the error is then a DiskFull). */
  diskFull?: string;
}

export type ToWriter =
  | { kind: "open"; paths: string[]; synchronous: Synchronous; walAutoCheckpoint?: number }
  /** A round of calls; the next round is sent when every call of this one is answered. */
  | { kind: "calls"; calls: WriteCall[] }
  | { kind: "autocheckpoint"; pages: number }
  | { kind: "close" }
  /** Swap shard `shard`'s file for `from` (a restored copy; the cluster's takeover). */
  | { kind: "replace"; shard: number; from: string };

export type FromWriter =
  | { kind: "ready" }
  /** Sent once per loop turn of the writer: answers in commit order, the commits since the last report. */
  | { kind: "answers"; answers: WriteAnswer[]; commits: CommitStat[]; rolledBack: boolean }
  | { kind: "closed" }
  | { kind: "replaced"; shard: number; ok: boolean; message?: string }
  | { kind: "fatal"; message: string };

/** Why a write on the shard file `path` failed; a full disk becomes a DiskFull there. */
export function toFailure(e: unknown, path: string): WireFailure {
  e = asDiskFull(e, path);
  if (e instanceof NatterError) {
    const f: WireFailure = { code: e.code, message: e.message };
    if (e.retryAfterMs !== undefined) f.retryAfterMs = e.retryAfterMs;
    if (e instanceof DiskFull) f.diskFull = e.path;
    return f;
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

export function toError(f: WireFailure): Error {
  if (f.diskFull !== undefined) return new DiskFull(f.diskFull, f.retryAfterMs);
  return f.code ? new NatterError(f.code as ErrorCode, f.message, f.retryAfterMs) : new Error(f.message);
}
