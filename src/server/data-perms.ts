// The data dir is private to the server's user, whatever the umask: the
// process creates everything with umask 077 (directories 0700, files 0600:
// shards and their -wal/-shm, layout.json, the lock and pid files, media,
// litestream.yml, and what Litestream writes), and at start anything in it
// that group or others can reach is tightened. An admin token others could
// read is refused: it may have leaked, and only the operator can judge that.

import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "./log.ts";

/** Thrown at start when the admin token file is readable by every user (exit 2). */
export class DataDirUnsafe extends Error {
  constructor(readonly path: string, mode: number) {
    super(
      `${path} is readable by every user (mode ${(mode & 0o777).toString(8).padStart(4, "0")}), so the admin token may have leaked; ` +
        `delete it to have a new token made at start (then use the new one), or chmod 600 it if you are sure nobody read it`,
    );
  }
}

/**
 * Sets this process's umask to 077, creates `dir` (0700) and tightens
 * everything under it that group or others can reach (symlinks are not
 * followed), logging one warning naming the paths fixed. Throws DataDirUnsafe,
 * changing nothing, if `dir`/admin.token is world-readable.
 */
export function secureDataDir(dir: string, log: Logger): void {
  process.umask(0o077);
  mkdirSync(dir, { recursive: true });
  const token = join(dir, "admin.token");
  if (existsSync(token)) {
    const mode = statSync(token).mode;
    if (mode & 0o004) throw new DataDirUnsafe(token, mode);
  }
  const fixed: string[] = [];
  const tighten = (path: string, mode: number) => {
    if ((mode & 0o077) === 0) return;
    chmodSync(path, mode & 0o700);
    fixed.push(path);
  };
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) continue;
      tighten(p, lstatSync(p).mode);
      if (e.isDirectory()) walk(p);
    }
  };
  tighten(dir, statSync(dir).mode);
  walk(dir);
  if (fixed.length > 0) log.warn("data dir: removed group/world access", { count: fixed.length, paths: fixed });
}
