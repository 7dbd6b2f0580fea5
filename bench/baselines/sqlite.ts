// Baseline: bare bun:sqlite group-commit inserts, with the pragmas of
// src/server/store/sqlite/shard.ts (WAL, busy_timeout 5000, synchronous
// FULL or NORMAL, foreign_keys OFF) and the shape of natter's messages table
// (copied here, not imported). K writers each insert one 100-byte message and
// wait for its commit; writes queued in one event-loop turn share one
// transaction, as natter's shards do. Prints one JSON line.
// Run: bun bench/baselines/sqlite.ts --dir DIR [--sync full] [--concurrency 512] [--duration-ms 5000] [--files 1]

import { Database } from "bun:sqlite";
import { join } from "node:path";
import { Histogram } from "../lib/histogram.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}
const dir = arg("dir", "/tmp");
const sync = arg("sync", "full");
const concurrency = Number(arg("concurrency", "512"));
const durationMs = Number(arg("duration-ms", "5000"));
const warmupMs = Number(arg("warmup-ms", "1000"));
const files = Number(arg("files", "1"));
const contentBytes = Number(arg("content-bytes", "100"));

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS messages (
    channel_id TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL, client_id TEXT NOT NULL,
    type TEXT NOT NULL, content TEXT NOT NULL, media TEXT, reply_to TEXT, sent_at INTEGER NOT NULL,
    delivered_at INTEGER, seen_at INTEGER, PRIMARY KEY (channel_id, seq)) WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS messages_client ON messages(channel_id, sender, client_id);`;

interface Row {
  channel: string;
  seq: number;
  sender: string;
  client: string;
  content: string;
  at: number;
}
interface Job {
  row: Row;
  resolve: () => void;
}

class File {
  db: Database;
  queue: Job[] = [];
  scheduled = false;
  commits = 0;
  rows = 0;
  insert;
  constructor(path: string) {
    this.db = new Database(path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA busy_timeout = 5000");
    this.db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    this.db.run("PRAGMA foreign_keys = OFF");
    this.db.exec(SCHEMA);
    this.insert = this.db.query(
      "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, 'text', ?, NULL, NULL, ?)",
    );
  }
  write(row: Row): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ row, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }
  flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    this.db.run("BEGIN IMMEDIATE");
    for (const j of jobs) this.insert.run(j.row.channel, j.row.seq, j.row.sender, j.row.client, j.row.content, j.row.at);
    this.db.run("COMMIT");
    this.commits++;
    this.rows += jobs.length;
    for (const j of jobs) j.resolve();
  }
}

const shards = Array.from({ length: files }, (_, i) => new File(join(dir, `baseline-${process.pid}-${i}.db`)));
const lat = new Histogram();
const pad = "x".repeat(contentBytes);
const t0 = performance.now();
const winStart = t0 + warmupMs;
const end = winStart + durationMs;
let rowsInWindow = 0;
let cpuStart = 0;
let commitsAtStart = 0;
let startMarked = false;

async function writer(k: number): Promise<void> {
  const channel = `d_${k.toString(16).padStart(32, "0")}`;
  let seq = 0;
  const file = shards[k % files]!;
  while (performance.now() < end) {
    const t = performance.now();
    if (!startMarked && t >= winStart) {
      startMarked = true;
      const u = process.cpuUsage();
      cpuStart = (u.user + u.system) / 1000;
      commitsAtStart = shards.reduce((s, f) => s + f.commits, 0);
    }
    seq++;
    await file.write({ channel, seq, sender: "u_bench", client: `c${k}-${seq}`, content: pad, at: Date.now() });
    const now = performance.now();
    if (t >= winStart && now < end) {
      rowsInWindow++;
      lat.add(now - t);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, k) => writer(k)));
const u = process.cpuUsage();
const commits = shards.reduce((s, f) => s + f.commits, 0) - commitsAtStart;
for (const f of shards) f.db.close();
console.log(
  JSON.stringify({
    rows_per_sec: Math.round(rowsInWindow / (durationMs / 1000)),
    commits_per_sec: Math.round(commits / (durationMs / 1000)),
    mean_batch: Math.round((rowsInWindow / Math.max(1, commits)) * 10) / 10,
    commit_wait: lat.summary(),
    cpu_percent: Math.round((((u.user + u.system) / 1000 - cpuStart) / durationMs) * 1000) / 10,
    sync,
    concurrency,
    files,
  }),
);
