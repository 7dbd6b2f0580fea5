// A full disk, recognised once: SQLite's SQLITE_FULL (or an I/O error while
// the filesystem has no space left) and ENOSPC / EDQUOT from node:fs. A write
// it refuses is answered `unavailable` with a retry-after (clients resend;
// nothing was committed), never `internal`; the operator gets one "disk full"
// line every few seconds and a counter. Space coming back needs no restart.

import { existsSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import { NatterError } from "../protocol/index.ts";
import type { Logger } from "./log.ts";

export const DISK_FULL_MESSAGE = "the server's disk is full; retry later";
/** At most one "disk full" log line per this many ms. */
const LOG_EVERY_MS = 5_000;
/** Free space under which an SQLite I/O error counts as the disk being full. */
const NEARLY_FULL_BYTES = 64 * 1024;

/** True when `e` is a write refused for want of space; `path` (a file or directory on that filesystem) lets an SQLite I/O error count when no space is left there. */
export function isDiskFull(e: unknown, path?: string): boolean {
  if (e instanceof DiskFull) return true;
  const code = typeof (e as { code?: unknown } | null)?.code === "string" ? (e as { code: string }).code : "";
  if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT") return true;
  return path !== undefined && code.startsWith("SQLITE_IOERR") && spaceLeft(path) < NEARLY_FULL_BYTES;
}

function spaceLeft(path: string): number {
  try {
    const s = statfsSync(existsSync(path) ? path : dirname(path));
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

/** A retry-after for a full disk: 5-10 s with jitter, so refused clients do not return as one herd. */
export const diskFullRetryMs = () => 5_000 + Math.floor(Math.random() * 5_000);

/** A write the full disk refused, as the protocol answers it: `unavailable` with a retry-after. `path` says where (logged, never sent). */
export class DiskFull extends NatterError {
  constructor(readonly path: string, retryAfterMs = diskFullRetryMs()) {
    super("unavailable", DISK_FULL_MESSAGE, retryAfterMs);
  }
}

/** `e` as a DiskFull when it is one (isDiskFull), at the error's own path or else `path`; anything else unchanged. */
export function asDiskFull(e: unknown, path?: string): unknown {
  if (e instanceof DiskFull || !isDiskFull(e, path)) return e;
  const own = (e as { path?: unknown }).path;
  return new DiskFull(typeof own === "string" ? own : (path ?? "unknown"));
}

/** Thrown by startServer when the data dir's disk is too full to start on. */
export class DiskFullAtStart extends Error {
  constructor(readonly dir: string, cause: unknown) {
    super(`disk full: cannot start on ${dir}: ${(cause as Error)?.message ?? cause}; free space on its filesystem and start again`);
  }
}

/**
 * Reports each refused write: counted every time, logged as "disk full"
 * (level error, with the path) at most once per LOG_EVERY_MS, with how many
 * were refused since the last line.
 */
export function diskFullReporter(log: Logger, count: () => void, everyMs = LOG_EVERY_MS): (path: string) => void {
  let lastLog = -Infinity;
  let since = 0;
  return (path) => {
    count();
    since++;
    const now = performance.now();
    if (now - lastLog < everyMs) return;
    lastLog = now;
    log.error("disk full", { path, refused: since, hint: "writes are refused with unavailable until space is freed; no restart needed" });
    since = 0;
  };
}
