// history: getMessages pages (limit 50) through the protocol on a store of N
// messages (10 million by default). The store is seeded once and kept in
// --history-dir for later runs: natter creates the data dir, a user and the
// channels through its API, then the messages are written straight into the
// shard files natter created (its own schema, one row per message as
// appendMessage writes it) because seeding 10M messages through the protocol
// would take most of an hour on this machine. Pages are always read through
// the protocol, over websockets, against the running server.

import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import { place } from "../lib/load.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { memSample, windowCpu } from "../lib/procstat.ts";
import { fmt, type Progress } from "../lib/report.ts";
import type { Target } from "../lib/target.ts";
import { startNatter } from "./common.ts";

export interface HistoryScenarioResult {
  messages_in_store: number;
  channels: number;
  limit: number;
  seeded: "now" | "reused";
  seed_s: number | null;
  seed_method: string;
  data_dir: string;
  store_bytes: number;
  pages_per_sec: number;
  page: LatencySummary;
  newest: LatencySummary;
  deep: LatencySummary;
  ping: LatencySummary;
  errors: Record<string, number>;
  server_cpu_percent: number;
  server_peak_rss_mib: number;
  generator_cpu_percent: number;
}

interface SeedInfo {
  messages: number;
  channels: { id: string; last_seq: number }[];
  token: string;
  seconds: number;
}

const MARKER = "bench-seed.json";

async function seed(o: BenchOptions, dir: string, progress: Progress): Promise<SeedInfo> {
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  progress(`history: seeding ${fmt(o.historyMessages)} messages in ${o.historyChannels} channels into ${dir}`);
  // 1. natter creates the data dir, a user and the channels.
  const server = await startNatter(o, { dataDir: dir });
  let token: string;
  let user: string;
  const channels: string[] = [];
  try {
    [{ token, user }] = await server.identities(1, "h");
    for (let i = 0; i < o.historyChannels; i++) {
      const r = await fetch(server.url + "/api/createGroup", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `history ${i}` }),
      });
      const b = (await r.json()) as { ok: boolean; channel: { id: string } };
      if (!b.ok) throw new Error(`createGroup: ${JSON.stringify(b)}`);
      channels.push(b.channel.id);
    }
  } finally {
    await server.stop({ keepData: true });
  }
  // 2. Messages straight into the shard file that holds each channel.
  const shardDir = join(dir, "shards");
  const dbs = readdirSync(shardDir)
    .filter((f) => f.endsWith(".db"))
    .map((f) => new Database(join(shardDir, f)));
  const per = Math.ceil(o.historyMessages / channels.length);
  const pad = "x".repeat(o.contentBytes - 10);
  const out: { id: string; last_seq: number }[] = [];
  let done = 0;
  let lastReport = performance.now();
  const at0 = Date.now() - o.historyMessages * 10;
  try {
    for (const db of dbs) {
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = OFF");
      db.run("PRAGMA cache_size = -200000");
    }
    for (const ch of channels) {
      const db = dbs.find((d) => d.query("SELECT 1 FROM channels WHERE id = ?").get(ch));
      if (!db) throw new Error(`channel ${ch} not found in any shard`);
      const n = Math.min(per, o.historyMessages - done);
      const ins = db.query(
        "INSERT INTO messages (channel_id, seq, sender, client_id, type, content, media, reply_to, sent_at) VALUES (?, ?, ?, ?, 'text', ?, NULL, NULL, ?)",
      );
      for (let from = 1; from <= n; from += 50_000) {
        const to = Math.min(n, from + 49_999);
        db.transaction(() => {
          for (let s = from; s <= to; s++) ins.run(ch, s, user, `seed-${String(s).padStart(9, "0")}`, `${String(s).padStart(9, "0")} ${pad}`, at0 + done + s);
        })();
        if (performance.now() - lastReport > 2000) {
          lastReport = performance.now();
          const total = done + to;
          const rate = total / ((performance.now() - t0) / 1000);
          progress(`  seeded ${fmt(total)} / ${fmt(o.historyMessages)} (${fmt(Math.round(rate))}/s, ~${Math.round((o.historyMessages - total) / rate)} s left)`);
        }
      }
      db.query("UPDATE channels SET last_seq = ? WHERE id = ?").run(n, ch);
      done += n;
      out.push({ id: ch, last_seq: n });
      if (done >= o.historyMessages) break;
    }
    for (const db of dbs) db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    for (const db of dbs) db.close();
  }
  const info: SeedInfo = { messages: done, channels: out, token, seconds: Math.round((performance.now() - t0) / 100) / 10 };
  writeFileSync(join(dir, MARKER), JSON.stringify(info));
  progress(`  seeded ${fmt(done)} messages in ${info.seconds} s`);
  return info;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(join(dir, "shards"))) n += Bun.file(join(dir, "shards", f)).size;
  return n;
}

export async function runHistory(o: BenchOptions, progress: Progress): Promise<HistoryScenarioResult> {
  const dir = o.historyDir;
  const markerPath = join(dir, MARKER);
  let info: SeedInfo | null = null;
  if (existsSync(markerPath)) {
    const m = JSON.parse(readFileSync(markerPath, "utf8")) as SeedInfo;
    if (m.messages === o.historyMessages && m.channels.length === Math.min(o.historyChannels, m.channels.length)) info = m;
  }
  const reused = info !== null;
  if (info) progress(`history: reusing ${fmt(info.messages)} seeded messages in ${dir}`);
  else info = await seed(o, dir, progress);
  const target: Target = await startNatter(o, { dataDir: dir });
  const pool = new Pool(o.workers);
  try {
    const clients = Array.from({ length: o.historyClients }, () => ({ user: "h", token: info!.token }));
    const placement = place(clients, 1, pool.size);
    await pool.all((w) => ({ t: "connect", wsUrl: target.wsUrl, clients: placement.local[w]!, concurrency: 8, timeoutMs: 30_000 }), "connected");
    progress(`history: ${o.historyClients} client(s) reading pages of 50 (half newest, half at a random depth) for ${o.durationMs / 1000} s`);
    const startAt = Date.now() + 300;
    const sampler = windowCpu(target.pid, () => pool.pids(), startAt, o.warmupMs, o.durationMs);
    const res = await pool.all(
      () => ({ t: "history", startAt, warmupMs: o.warmupMs, durationMs: o.durationMs, channels: info!.channels, limit: 50, deepFraction: 0.5 }),
      "history",
    );
    const s = await sampler;
    const page = new Histogram();
    const newest = new Histogram();
    const deep = new Histogram();
    const errors: Record<string, number> = {};
    let requests = 0;
    for (const { r } of res) {
      page.merge(r.latency);
      newest.merge(r.newest);
      deep.merge(r.deep);
      requests += r.requests;
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    }
    // The floor: a ping round trip through the same stack on the same loaded machine.
    const ping = await pingLatency(target, info.token, 2000);
    const result: HistoryScenarioResult = {
      messages_in_store: info.messages,
      channels: info.channels.length,
      limit: 50,
      seeded: reused ? "reused" : "now",
      seed_s: reused ? null : info.seconds,
      seed_method: "data dir, user and channels through natter's API; messages written directly into natter's own shard files",
      data_dir: dir,
      store_bytes: dirBytes(dir),
      pages_per_sec: Math.round(requests / (o.durationMs / 1000)),
      page: page.summary(),
      newest: newest.summary(),
      deep: deep.summary(),
      ping,
      errors,
      server_cpu_percent: s.server,
      server_peak_rss_mib: Math.round(((memSample(target.pid)?.peakRssBytes ?? 0) / 1024 / 1024) * 10) / 10,
      generator_cpu_percent: s.generator,
    };
    progress(`  ${fmt(result.pages_per_sec)} pages/s, p50 ${result.page.p50_ms} ms, p99 ${result.page.p99_ms} ms (ping p99 ${ping.p99_ms} ms)`);
    return result;
  } finally {
    await pool.close();
    await target.stop({ keepData: true });
  }
}

/** Sequential ping round trips from the parent process. */
async function pingLatency(target: Target, token: string, n: number): Promise<LatencySummary> {
  const h = new Histogram();
  const ws = new WebSocket(`${target.wsUrl}?token=${encodeURIComponent(token)}`);
  let waiter: (() => void) | null = null;
  ws.onmessage = () => waiter?.();
  await new Promise<void>((r, j) => {
    ws.onopen = () => r();
    ws.onerror = () => j(new Error("ping socket failed"));
  });
  await Bun.sleep(100);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      waiter = r;
      ws.send(JSON.stringify({ id: i + 1, op: "ping" }));
    });
    h.add(performance.now() - t);
  }
  ws.close();
  return h.summary();
}
