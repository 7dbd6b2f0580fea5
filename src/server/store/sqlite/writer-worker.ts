// The writer thread: the one writer of every shard file of a SqliteStore.
// It owns a Shard (group commit, savepoints, WAL fsync before the answer) per
// file and runs the named writes of write-ops.ts that the main thread sends,
// a round per message. Answers go back a batch per loop turn, each after its
// commit is durable, so the main thread spends no time in SQLite's write path.

import { renameSync, rmSync } from "node:fs";
import type { WriteCtx } from "../exec.ts";
import { shardOf } from "../layout.ts";
import { SeqCache } from "../messages.ts";
import type { CommitStat } from "../types.ts";
import { isWriteOp, needsSavepoint, runWrite } from "../write-ops.ts";
import { bunExec } from "./connection.ts";
import { Shard } from "./shard.ts";
import { toFailure, type FromWriter, type ToWriter, type WriteAnswer, type WriteCall } from "./writer-protocol.ts";

declare const self: Worker;

let shards: Shard[] = [];
let ctxs: WriteCtx[] = [];
const pending = new Set<Promise<unknown>>();
let closing = false;

// The outgoing report, sent once per loop turn.
let answers: WriteAnswer[] = [];
let commits: CommitStat[] = [];
let rolledBack = false;
let reportScheduled = false;

function report(): void {
  reportScheduled = false;
  if (answers.length === 0 && commits.length === 0 && !rolledBack) return;
  const r: FromWriter = { kind: "answers", answers, commits, rolledBack };
  answers = [];
  commits = [];
  rolledBack = false;
  post(r);
}
function scheduleReport(): void {
  if (!reportScheduled) {
    reportScheduled = true;
    setImmediate(report);
  }
}

let opened: Extract<ToWriter, { kind: "open" }> | null = null;

function open(req: Extract<ToWriter, { kind: "open" }>): void {
  opened = req;
  shards = [];
  ctxs = [];
  for (const [i, path] of req.paths.entries()) openShard(i, path);
  post({ kind: "ready" });
}

function openShard(i: number, path: string): void {
  const req = opened!;
  {
    // This thread is the shard's only writer: seqs stay valid across commits.
    const seqs = new SeqCache(true);
    const shard = new Shard(path, {
      synchronous: req.synchronous,
      walAutoCheckpoint: req.walAutoCheckpoint,
      beforeCommit: () => seqs.persist(ctxs[i]!.db),
      afterCommit: () => seqs.committed(),
      onRollback: () => {
        seqs.reset();
        rolledBack = true;
        scheduleReport();
      },
      onCommit: (writes, ms) => {
        commits.push({ shard: i, writes, ms });
        scheduleReport();
      },
    });
    shards[i] = shard;
    ctxs[i] = { db: bunExec(shard.db), dbOf: (key) => ctxs[shardOf(key, ctxs.length)]!.db, seqs };
  }
}

/**
 * Replaces shard i's file with `from` (a restored copy): closes the shard (its queued writes commit
 * first), moves the file in, opens it again. The caller sends no writes for the shard meanwhile.
 */
async function replace(i: number, from: string): Promise<void> {
  const old = shards[i];
  if (!old) throw new Error(`no shard ${i}`);
  await old.close();
  for (const ext of ["-wal", "-shm"]) rmSync(old.path + ext, { force: true });
  renameSync(from, old.path);
  openShard(i, old.path);
}

function run(call: WriteCall): void {
  const { id, shard: index, op, args } = call;
  const shard = shards[index];
  const ctx = ctxs[index];
  if (closing || !shard || !ctx || !isWriteOp(op)) {
    answers.push({ id, ok: false, error: { message: closing ? "store is closed" : `bad writer call ${op} on shard ${index}` } });
    return scheduleReport();
  }
  const p = shard.write(() => runWrite(ctx, op, args as never), { savepoint: needsSavepoint(op) });
  pending.add(p);
  p.then(
    (value) => answers.push({ id, ok: true, value: value ?? null }),
    (e) => answers.push({ id, ok: false, error: toFailure(e, shard.path) }),
  ).finally(() => {
    pending.delete(p);
    scheduleReport();
  });
}

async function close(): Promise<void> {
  closing = true;
  // Everything already queued commits and becomes durable; then the files close.
  while (pending.size > 0) await Promise.allSettled([...pending]);
  for (const s of shards) await s.close();
  report();
  post({ kind: "closed" });
}

function post(r: FromWriter): void {
  self.postMessage(JSON.stringify(r));
}

self.onmessage = (e: MessageEvent<string>) => {
  const req = JSON.parse(e.data) as ToWriter;
  try {
    switch (req.kind) {
      case "open":
        return open(req);
      case "calls":
        for (const c of req.calls) run(c);
        return;
      case "autocheckpoint":
        for (const s of shards) s.setAutoCheckpoint(req.pages);
        return;
      case "close":
        void close();
        return;
      case "replace":
        replace(req.shard, req.from).then(
          () => post({ kind: "replaced", shard: req.shard, ok: true }),
          (e) => post({ kind: "replaced", shard: req.shard, ok: false, message: e instanceof Error ? e.message : String(e) }),
        );
        return;
    }
  } catch (err) {
    post({ kind: "fatal", message: err instanceof Error ? err.message : String(err) });
  }
};
