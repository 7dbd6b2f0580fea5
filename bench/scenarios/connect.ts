// connect: N idle websockets (one user each), held open; reports server RSS
// per connection. One natter process holds at most ~19,900 sockets here (the
// hard fd limit is 20,000 per process), so N above that cannot be reached by a
// single node on this machine. All clients use 127.0.0.1 as source address:
// below 20,000 connections to one server port the 28,000 ephemeral ports
// (32768-60999) are enough, and Bun's WebSocket client cannot bind a source
// address anyway.

import { place } from "../lib/load.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { cpuPercent, cpuSample, memSample } from "../lib/procstat.ts";
import { fmt, type Progress } from "../lib/report.ts";
import { Target } from "../lib/target.ts";
import { startNatter } from "./common.ts";

export interface ConnectScenarioResult {
  target: "natter" | "relay";
  users: number;
  asked: number;
  connected: number;
  failed: number;
  connect_s: number;
  connects_per_sec: number;
  rss_before_mib: number;
  rss_after_mib: number;
  rss_per_conn_kib: number;
  server_peak_rss_mib: number;
  server_cpu_percent: number;
  generator_cpu_percent: number;
  users_setup_s: number;
  errors: Record<string, number>;
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

export async function runConnect(o: BenchOptions, progress: Progress, kind: "natter" | "relay" = "natter"): Promise<ConnectScenarioResult> {
  const n = o.connections;
  const target = kind === "natter" ? await startNatter(o) : await Target.start({ kind: "relay", tmpBase: o.tmpDir });
  // Enough workers that none passes ~19,000 sockets of its own.
  const pool = new Pool(Math.max(o.workers, Math.ceil(n / 18_000)));
  try {
    const users = Math.min(n, o.connectUsers ?? n);
    progress(`connect: ${kind} pid ${target.pid}; creating ${fmt(users)} users`);
    const t0 = performance.now();
    const made = await target.identities(users, "c", (d) => d % 5000 === 0 && progress(`  ${fmt(d)} users`));
    const ids = Array.from({ length: n }, (_, i) => made[i % users]!);
    const usersS = (performance.now() - t0) / 1000;
    Bun.gc(true);
    await Bun.sleep(1000);
    const before = memSample(target.pid)!;
    const c0 = cpuSample(target.pid);
    const g0 = pool.pids().map(cpuSample);
    progress(`connect: opening ${fmt(n)} websockets (server RSS ${mib(before.rssBytes)} MiB before)`);
    const placement = place(ids, 1, pool.size);
    const t1 = performance.now();
    const res = await pool.all(
      (w) => ({ t: "connect", wsUrl: target.wsUrl, clients: placement.local[w]!, concurrency: 100, timeoutMs: 120_000 }),
      "connected",
    );
    const connectS = (performance.now() - t1) / 1000;
    const c1 = cpuSample(target.pid);
    const g1 = pool.pids().map(cpuSample);
    await Bun.sleep(2000);
    const after = memSample(target.pid)!;
    const connected = res.reduce((s, r) => s + r.r.connected, 0);
    const errors: Record<string, number> = {};
    for (const { r } of res) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const result: ConnectScenarioResult = {
      target: kind,
      users,
      asked: n,
      connected,
      failed: n - connected,
      connect_s: Math.round(connectS * 10) / 10,
      connects_per_sec: Math.round(connected / connectS),
      rss_before_mib: mib(before.rssBytes),
      rss_after_mib: mib(after.rssBytes),
      rss_per_conn_kib: connected ? Math.round(((after.rssBytes - before.rssBytes) / connected / 1024) * 100) / 100 : 0,
      server_peak_rss_mib: mib(after.peakRssBytes),
      server_cpu_percent: cpuPercent(c0, c1),
      generator_cpu_percent: Math.round(g0.reduce((a, g, i) => a + cpuPercent(g, g1[i]!), 0) * 10) / 10,
      users_setup_s: Math.round(usersS * 10) / 10,
      errors,
    };
    progress(`  ${fmt(connected)} connected in ${result.connect_s} s; RSS ${result.rss_before_mib} -> ${result.rss_after_mib} MiB = ${result.rss_per_conn_kib} KiB per connection`);
    return result;
  } finally {
    await pool.close();
    await target.stop();
  }
}
