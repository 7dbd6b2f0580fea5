// reconnect: N clients connected; the server restarts (SIGTERM: graceful
// drain, then a new process on the same port and data dir) and every client
// reconnects with exponential backoff and full jitter (the client library's
// defaults, src/client/backoff.ts: base 500 ms, cap 5 s). Reports how long
// until all are back, how many attempts were refused, and the server's peak
// RSS; fails if it crashed.

import { DEFAULT_BACKOFF } from "../../src/client/backoff.ts";
import { place } from "../lib/load.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { memSample } from "../lib/procstat.ts";
import { fmt, type Progress } from "../lib/report.ts";
import type { Target } from "../lib/target.ts";
import { startNatter } from "./common.ts";

export interface ReconnectScenarioResult {
  clients: number;
  back: number;
  /** Seconds from the new server listening until every client had its hello again (null if not all within the limit). */
  all_back_s: number | null;
  back_p50_s: number;
  back_p99_s: number;
  restart_s: number;
  attempts: number;
  refused: number;
  server_peak_rss_mib: number;
  crashed: boolean;
  limit_s: number;
}

export async function runReconnect(o: BenchOptions, progress: Progress): Promise<ReconnectScenarioResult> {
  const n = o.reconnectClients;
  const limitS = o.reconnectLimitS;
  let target: Target = await startNatter(o);
  const pool = new Pool(Math.max(o.workers, Math.ceil(n / 18_000)));
  let crashed = false;
  try {
    progress(`reconnect: natter pid ${target.pid}; creating ${fmt(n)} users`);
    const ids = await target.identities(n, "r", (d) => d % 5000 === 0 && progress(`  ${fmt(d)} users`));
    const placement = place(ids, 1, pool.size);
    const policy = { baseMs: DEFAULT_BACKOFF.baseMs, capMs: DEFAULT_BACKOFF.maxMs };
    const res = await pool.all(
      (w) => ({ t: "connect", wsUrl: target.wsUrl, clients: placement.local[w]!, concurrency: 100, timeoutMs: 120_000, reconnect: policy }),
      "connected",
    );
    const connected = res.reduce((s, r) => s + r.r.connected, 0);
    const attempts0 = (await pool.all(() => ({ t: "status" }), "status")).reduce((s, r) => s + r.r.attempts, 0);
    const fails0 = (await pool.all(() => ({ t: "status" }), "status")).reduce((s, r) => s + r.r.failures, 0);
    progress(`reconnect: ${fmt(connected)} connected; restarting the server (SIGTERM, then a new process on port ${target.port})`);
    const tStop = performance.now();
    target = await target.restart();
    const tUp = performance.now();
    const restartS = (tUp - tStop) / 1000;
    progress(`  new server pid ${target.pid} up after ${restartS.toFixed(1)} s; waiting for clients`);
    let p50: number | null = null;
    let p99: number | null = null;
    let all: number | null = null;
    let ready = 0;
    let peak = 0;
    let lastLog = 0;
    while ((performance.now() - tUp) / 1000 < limitS) {
      await Bun.sleep(100);
      if (target.proc.exitCode !== null) {
        crashed = true;
        break;
      }
      peak = Math.max(peak, memSample(target.pid)?.rssBytes ?? 0);
      const st = await pool.all(() => ({ t: "status" }), "status");
      ready = st.reduce((s, r) => s + r.r.ready, 0);
      const t = (performance.now() - tUp) / 1000;
      if (p50 === null && ready >= 0.5 * n) p50 = t;
      if (p99 === null && ready >= 0.99 * n) p99 = t;
      if (ready >= n) {
        all = t;
        break;
      }
      if (t - lastLog >= 5) {
        lastLog = t;
        progress(`  ${fmt(ready)} / ${fmt(n)} back after ${t.toFixed(1)} s`);
      }
    }
    const st = await pool.all(() => ({ t: "status" }), "status");
    const attempts = st.reduce((s, r) => s + r.r.attempts, 0) - attempts0;
    const refused = st.reduce((s, r) => s + r.r.failures, 0) - fails0;
    const result: ReconnectScenarioResult = {
      clients: n,
      back: ready,
      all_back_s: all === null ? null : Math.round(all * 10) / 10,
      back_p50_s: Math.round((p50 ?? limitS) * 10) / 10,
      back_p99_s: Math.round((p99 ?? limitS) * 10) / 10,
      restart_s: Math.round(restartS * 10) / 10,
      attempts,
      refused,
      server_peak_rss_mib: Math.round(((memSample(target.pid)?.peakRssBytes ?? peak) / 1024 / 1024) * 10) / 10,
      crashed,
      limit_s: limitS,
    };
    progress(`  ${fmt(ready)} / ${fmt(n)} back; all after ${result.all_back_s ?? "-"} s; ${fmt(attempts)} attempts, ${fmt(refused)} refused or failed`);
    return result;
  } finally {
    await pool.close();
    await target.stop();
  }
}
