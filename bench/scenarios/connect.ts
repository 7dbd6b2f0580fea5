// connect: N idle websockets (one user each), held open; reports server RSS
// per connection. RSS is measured on a fresh process: after the users are
// created natter is restarted on the same data dir (as in reconnect), so the
// "before" figure holds no heap freed by the logins for the sockets to reuse.
// The relay needs no users and is measured fresh as started. One natter process holds at most ~19,900 sockets here (the
// hard fd limit is 20,000 per process), so N above that cannot be reached by a
// single node on this machine. All clients use 127.0.0.1 as source address:
// below 20,000 connections to one server port the 28,000 ephemeral ports
// (32768-60999) are enough, and Bun's WebSocket client cannot bind a source
// address anyway.

import { place } from "../lib/load.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { cpuPercent, cpuSample, settledMem } from "../lib/procstat.ts";
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
  /** Whether RSS held still (within 128 KiB for 1 s, waited for at most 10 s) both before and after connecting. */
  rss_settled: boolean;
  errors: Record<string, number>;
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

/** The server's RSS once it has held still; throws if the process is gone. */
async function settled(pid: number) {
  const s = await settledMem(pid);
  if (!s) throw new Error(`connect: server pid ${pid} is gone`);
  return s;
}

export async function runConnect(o: BenchOptions, progress: Progress, kind: "natter" | "relay" = "natter"): Promise<ConnectScenarioResult> {
  const n = o.connections;
  let target = kind === "natter" ? await startNatter(o) : await Target.start({ kind: "relay", tmpBase: o.tmpDir });
  // Enough workers that none passes ~19,000 sockets of its own.
  const pool = new Pool(Math.max(o.workers, Math.ceil(n / 18_000)));
  try {
    const users = Math.min(n, o.connectUsers ?? n);
    progress(`connect: ${kind} pid ${target.pid}; creating ${fmt(users)} users`);
    const t0 = performance.now();
    const made = await target.identities(users, "c", (d) => d % 5000 === 0 && progress(`  ${fmt(d)} users`));
    const ids = Array.from({ length: n }, (_, i) => made[i % users]!);
    const usersS = (performance.now() - t0) / 1000;
    if (kind === "natter") {
      target = await target.restart();
      progress(`connect: restarted natter on the same data dir (pid ${target.pid})`);
    }
    const before = await settled(target.pid);
    const c0 = cpuSample(target.pid);
    const g0 = pool.pids().map(cpuSample);
    progress(`connect: opening ${fmt(n)} websockets (server RSS ${mib(before.mem.rssBytes)} MiB before)`);
    const placement = place(ids, 1, pool.size);
    const t1 = performance.now();
    const res = await pool.all(
      (w) => ({ t: "connect", wsUrl: target.wsUrl, clients: placement.local[w]!, concurrency: 100, timeoutMs: 120_000 }),
      "connected",
    );
    const connectS = (performance.now() - t1) / 1000;
    const c1 = cpuSample(target.pid);
    const g1 = pool.pids().map(cpuSample);
    const after = await settled(target.pid);
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
      rss_before_mib: mib(before.mem.rssBytes),
      rss_after_mib: mib(after.mem.rssBytes),
      rss_per_conn_kib: connected ? Math.round(((after.mem.rssBytes - before.mem.rssBytes) / connected / 1024) * 100) / 100 : 0,
      server_peak_rss_mib: mib(after.mem.peakRssBytes),
      server_cpu_percent: cpuPercent(c0, c1),
      generator_cpu_percent: Math.round(g0.reduce((a, g, i) => a + cpuPercent(g, g1[i]!), 0) * 10) / 10,
      users_setup_s: Math.round(usersS * 10) / 10,
      rss_settled: before.settled && after.settled,
      errors,
    };
    progress(`  ${fmt(connected)} connected in ${result.connect_s} s; RSS ${result.rss_before_mib} -> ${result.rss_after_mib} MiB = ${result.rss_per_conn_kib} KiB per connection${result.rss_settled ? "" : " (RSS had not settled)"}`);
    return result;
  } finally {
    await pool.close();
    await target.stop();
  }
}
