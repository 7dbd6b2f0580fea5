// Worker thread: checkpoints shard WALs off the event loop. The main thread
// turns SQLite's automatic checkpoints off (they would run inside COMMIT and
// stall every connection for tens of milliseconds); this thread runs PASSIVE
// checkpoints, which never block the writer, whenever a WAL has grown.

import { statSync } from "node:fs";
import { Database } from "bun:sqlite";

declare var self: Worker;

export type CheckpointRequest = { type: "start"; paths: string[]; intervalMs: number; minWalBytes: number } | { type: "stop" };
export type CheckpointReport =
  | { type: "checkpoint"; path: string; busy: number; log: number; checkpointed: number; ms: number }
  | { type: "error"; path: string; message: string }
  | { type: "stopped" };

let dbs: { path: string; db: Database }[] = [];
let timer: ReturnType<typeof setInterval> | null = null;

self.onmessage = (e: MessageEvent<CheckpointRequest>) => {
  const m = e.data;
  if (m.type === "start") {
    dbs = m.paths.map((path) => {
      const db = new Database(path);
      db.run("PRAGMA busy_timeout = 5000");
      db.run("PRAGMA synchronous = NORMAL");
      return { path, db };
    });
    timer = setInterval(() => tick(m.minWalBytes), m.intervalMs);
  } else {
    if (timer) clearInterval(timer);
    for (const d of dbs) d.db.close();
    dbs = [];
    postMessage({ type: "stopped" } satisfies CheckpointReport);
  }
};

function tick(minWalBytes: number): void {
  for (const d of dbs) {
    let size = 0;
    try {
      size = statSync(d.path + "-wal").size;
    } catch {
      continue;
    }
    if (size < minWalBytes) continue;
    const t0 = performance.now();
    try {
      const r = d.db.query("PRAGMA wal_checkpoint(PASSIVE)").get() as { busy: number; log: number; checkpointed: number };
      postMessage({ type: "checkpoint", path: d.path, ...r, ms: performance.now() - t0 } satisfies CheckpointReport);
    } catch (err) {
      postMessage({ type: "error", path: d.path, message: String(err) } satisfies CheckpointReport);
    }
  }
}
