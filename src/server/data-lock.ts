// One server per data directory. The lock is an OS lock (SQLite's POSIX
// advisory lock on DATA/natter.lock, taken EXCLUSIVE and never let go), so the
// kernel releases it when the process dies, however it dies: no stale lock
// file to clean up after kill -9. DATA/natter.pid says who holds it.

import { Database } from "bun:sqlite";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Thrown when another process (or another server in this process) holds the data dir. */
export class DataDirInUse extends Error {
  constructor(readonly dir: string, readonly holder: string | null) {
    super(
      `data dir ${dir} is in use by another natter server${holder ? ` (${holder})` : ""}; ` +
        `stop that one first, or start this one with another --data`,
    );
  }
}

export interface DataDirLock {
  /** Releases the lock (the process's exit releases it too). */
  release(): void;
}

/** Takes the data dir's lock for this process's life; throws DataDirInUse at once if it is held. */
export function lockDataDir(dir: string): DataDirLock {
  const db = new Database(join(dir, "natter.lock"), { create: true });
  const pidFile = join(dir, "natter.pid");
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE");
  } catch (e) {
    db.close();
    if (!/locked|busy/i.test((e as Error).message)) throw e;
    throw new DataDirInUse(dir, readHolder(pidFile));
  }
  writeFileSync(pidFile, `pid ${process.pid}, started ${new Date().toISOString()}\n`, { mode: 0o600 });
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      rmSync(pidFile, { force: true });
      db.close(); // ends the transaction and drops the lock
    },
  };
}

function readHolder(pidFile: string): string | null {
  try {
    return readFileSync(pidFile, "utf8").trim() || null;
  } catch {
    return null;
  }
}
