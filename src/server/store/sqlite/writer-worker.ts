// The writer thread: the one writer of every shard file of a SqliteStore.
// It owns a Shard (group commit, savepoints, WAL fsync before the answer) per
// file and runs the named operations of writes.ts that the main thread sends,
// a batch per message. Answers go back a batch per loop turn, each after its
// commit is durable, so the main thread spends no time in SQLite's write path.

import { NatterError } from "../../../protocol/index.ts";
import { Shard, shardOf, type Synchronous } from "./shard.ts";
import { SeqCache, SINGLE_STATEMENT, WRITES, type WriteCtx, type WriteOp } from "./writes.ts";

declare const self: Worker;

/** [call id, shard index, operation, arguments] */
export type WriterCall = [number, number, WriteOp, unknown];
/** [call id, 1, result] or [call id, 0, error] */
export type WriterAnswer = [number, 1, unknown] | [number, 0, WireFailure];
export interface WireFailure {
  code?: string;
  message: string;
  retryAfterMs?: number;
}

export type WriterRequest =
  | { t: "open"; paths: string[]; synchronous: Synchronous; walAutoCheckpoint?: number }
  | { t: "calls"; calls: WriterCall[] }
  | { t: "autocheckpoint"; pages: number }
  | { t: "close" };

export type WriterReport =
  | { t: "ready" }
  | {
      t: "done";
      answers: WriterAnswer[];
      /** [shard, writes in the batch, ms] per commit since the last report. */
      commits: [number, number, number][];
      /** A group commit was rolled back since the last report. */
      rollback: boolean;
    }
  | { t: "closed" }
  | { t: "fatal"; message: string };

let shards: Shard[] = [];
let ctxs: WriteCtx[] = [];
const pending = new Set<Promise<unknown>>();
let closing = false;

// Outgoing report, sent once per loop turn.
let answers: WriterAnswer[] = [];
let commits: [number, number, number][] = [];
let rollback = false;
let reportScheduled = false;

function report(): void {
  reportScheduled = false;
  if (answers.length === 0 && commits.length === 0 && !rollback) return;
  const r: WriterReport = { t: "done", answers, commits, rollback };
  answers = [];
  commits = [];
  rollback = false;
  post(r);
}
function scheduleReport(): void {
  if (!reportScheduled) {
    reportScheduled = true;
    setImmediate(report);
  }
}

function failure(e: unknown): WireFailure {
  if (e instanceof NatterError) {
    const f: WireFailure = { code: e.code, message: e.message };
    if (e.retryAfterMs !== undefined) f.retryAfterMs = e.retryAfterMs;
    return f;
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

function open(req: Extract<WriterRequest, { t: "open" }>): void {
  const dbOf = (key: string) => shards[shardOf(key, shards.length)]!.db;
  ctxs = [];
  shards = req.paths.map((path, i) => {
    const seqs = new SeqCache();
    const shard = new Shard(path, {
      synchronous: req.synchronous,
      walAutoCheckpoint: req.walAutoCheckpoint,
      beforeCommit: (db) => seqs.persist(db),
      afterCommit: () => seqs.committed(),
      onRollback: () => {
        seqs.reset();
        rollback = true;
        scheduleReport();
      },
      onCommit: (n, ms) => {
        commits.push([i, n, ms]);
        scheduleReport();
      },
    });
    ctxs.push({ db: shard.db, dbOf, seqs });
    return shard;
  });
  post({ t: "ready" });
}

function run(call: WriterCall): void {
  const [id, index, op, args] = call;
  const shard = shards[index];
  const ctx = ctxs[index];
  if (closing || !shard || !ctx || !Object.hasOwn(WRITES, op)) {
    answers.push([id, 0, { message: closing ? "store is closed" : `bad writer call ${op} on shard ${index}` }]);
    return scheduleReport();
  }
  const fn = WRITES[op] as (c: WriteCtx, a: unknown) => unknown;
  const single = SINGLE_STATEMENT.has(op);
  const p = shard.write(
    () => {
      // Other writes read last_seq from the channel row: bring the rows up to date first.
      if (!single) ctx.seqs.persist(ctx.db);
      return fn(ctx, args);
    },
    undefined,
    { savepoint: !single },
  );
  pending.add(p);
  p.then(
    (v) => answers.push([id, 1, v ?? null]),
    (e) => answers.push([id, 0, failure(e)]),
  ).finally(() => {
    pending.delete(p);
    scheduleReport();
  });
}

async function close(): Promise<void> {
  closing = true;
  // Everything already queued commits and becomes durable; then the files close.
  while (pending.size > 0) await Promise.allSettled([...pending]);
  for (const s of shards) s.close();
  report();
  post({ t: "closed" });
}

/** Messages cross as JSON text (see writer.ts). */
function post(r: WriterReport): void {
  self.postMessage(JSON.stringify(r));
}

self.onmessage = (e: MessageEvent<string>) => {
  const req = JSON.parse(e.data) as WriterRequest;
  try {
    switch (req.t) {
      case "open":
        return open(req);
      case "calls":
        for (const c of req.calls) run(c);
        return;
      case "autocheckpoint":
        for (const s of shards) s.db.run(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(req.pages))}`);
        return;
      case "close":
        void close();
        return;
    }
  } catch (err) {
    post({ t: "fatal", message: err instanceof Error ? err.message : String(err) });
  }
};
