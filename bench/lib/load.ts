// Shared driver for message-load scenarios (direct, group, ladder): connects
// clients across the worker pool, runs timed steps at a target rate and turns
// the workers' raw counts into one step result with server CPU and memory.

import { Histogram, type LatencySummary } from "./histogram.ts";
import type { ClientSpec, RunResult, SenderSpec } from "./messages.ts";
import { Pool } from "./pool.ts";
import { cpuPercent, cpuSample, loadAverage, memSample, runQueueWaitPercent, schedSample } from "./procstat.ts";
import type { Target } from "./target.ts";
import type { BenchOptions } from "./options.ts";
import { fmt, type Progress } from "./report.ts";

export interface StepResult {
  rate_offered: number;
  acked_per_sec: number;
  deliveries_per_sec: number;
  send_to_deliver: LatencySummary;
  send_to_ack: LatencySummary;
  lost: number;
  duplicates: number;
  /** Events for its own message pushed to the sending connection (a protocol violation if > 0). */
  self_echoes: number;
  errors: Record<string, number>;
  skipped_inflight_cap: number;
  server_cpu_percent: number;
  /** Server CPU per acknowledged send, microseconds. */
  server_cpu_us_per_send: number;
  server_rss_mib: number;
  server_peak_rss_mib: number;
  /** Share of the window the server's main thread waited for a CPU held by another process. */
  server_runqueue_wait_percent: number;
  /** 1-minute load average at the end of the window (2 cores: above 2 means others compete). */
  loadavg_1m: number;
  generator_cpu_percent: number;
  generator_processes: number;
  duration_s: number;
}

/** Clients split across workers; `local[w]` are worker w's clients, `where[i]` maps a global index to [worker, local index]. */
export interface Placement {
  local: ClientSpec[][];
  where: [number, number][];
}

export function place(clients: ClientSpec[], unitSize: number, workers: number): Placement {
  // Whole units (a pair, a group) stay in one worker so it sees both ends of every message.
  const local: ClientSpec[][] = Array.from({ length: workers }, () => []);
  const where: [number, number][] = [];
  for (let i = 0; i < clients.length; i++) {
    const w = Math.floor(i / unitSize) % workers;
    where.push([w, local[w]!.length]);
    local[w]!.push(clients[i]!);
  }
  return { local, where };
}

export async function connectAll(pool: Pool, target: Target, p: Placement, progress: Progress): Promise<void> {
  const res = await pool.all((w) => ({ t: "connect", wsUrl: target.wsUrl, clients: p.local[w]!, concurrency: 64, timeoutMs: 60_000 }), "connected");
  const failed = res.reduce((s, r) => s + r.r.failed, 0);
  progress(`connected ${res.reduce((s, r) => s + r.r.connected, 0)} clients in ${Math.round(Math.max(...res.map((r) => r.r.ms)))} ms`);
  if (failed > 0) throw new Error(`${failed} clients failed to connect`);
}

export interface StepOptions {
  rate: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
  maxInflight: number;
  contentBytes: number;
}

/** One timed run at `rate` messages/s; `senders[w]` are worker w's sending roles. */
export async function step(pool: Pool, target: Target, senders: SenderSpec[][], o: StepOptions): Promise<StepResult> {
  const startAt = Date.now() + 300;
  const active = senders.map((s) => s.length > 0);
  const nActive = active.filter(Boolean).length;
  // Sample the server at the measurement window's edges, in parallel with the workers.
  const sampler = (async () => {
    await Bun.sleep(startAt - Date.now() + o.warmupMs);
    const c0 = cpuSample(target.pid);
    const q0 = schedSample(target.pid);
    const g0 = pool.pids().map(cpuSample);
    let peak = 0;
    const until = performance.now() + o.durationMs;
    while (performance.now() < until) {
      await Bun.sleep(Math.min(250, until - performance.now()));
      peak = Math.max(peak, memSample(target.pid)?.rssBytes ?? 0);
    }
    return { c0, c1: cpuSample(target.pid), q0, q1: schedSample(target.pid), g0, g1: pool.pids().map(cpuSample), rss: peak, load: loadAverage() };
  })();
  const res = await pool.all(
    (w) => ({
      t: "run",
      startAt,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      drainMs: o.drainMs,
      rate: active[w] ? o.rate / nActive : 0,
      maxInflight: o.maxInflight,
      contentBytes: o.contentBytes,
      senders: senders[w]!,
    }),
    "result",
  );
  const s = await sampler;
  return summarize(res.map((r) => r.r), s, o, target, pool.size);
}

function summarize(
  rs: RunResult[],
  s: {
    c0: ReturnType<typeof cpuSample>;
    c1: ReturnType<typeof cpuSample>;
    q0: ReturnType<typeof schedSample>;
    q1: ReturnType<typeof schedSample>;
    g0: ReturnType<typeof cpuSample>[];
    g1: ReturnType<typeof cpuSample>[];
    rss: number;
    load: number;
  },
  o: StepOptions,
  target: Target,
  workers: number,
): StepResult {
  const deliver = new Histogram();
  const ack = new Histogram();
  const errors: Record<string, number> = {};
  let acked = 0;
  let deliveries = 0;
  let lost = 0;
  let dups = 0;
  let echoes = 0;
  let skipped = 0;
  for (const r of rs) {
    deliver.merge(r.deliver);
    ack.merge(r.ack);
    acked += r.acked;
    deliveries += r.deliveries;
    lost += r.lost;
    dups += r.duplicates;
    echoes += r.selfEchoes;
    skipped += r.skippedInflight;
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  }
  const secs = o.durationMs / 1000;
  const serverCpu = cpuPercent(s.c0, s.c1);
  const genCpu = s.g0.reduce((sum, a, i) => sum + cpuPercent(a, s.g1[i]!), 0);
  const mem = memSample(target.pid);
  const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
  return {
    rate_offered: o.rate,
    acked_per_sec: Math.round(acked / secs),
    deliveries_per_sec: Math.round(deliveries / secs),
    send_to_deliver: deliver.summary(),
    send_to_ack: ack.summary(),
    lost,
    duplicates: dups,
    self_echoes: echoes,
    errors,
    skipped_inflight_cap: skipped,
    server_cpu_percent: serverCpu,
    server_cpu_us_per_send: acked > 0 ? Math.round(((serverCpu / 100) * o.durationMs * 1000) / acked) : 0,
    server_rss_mib: mib(Math.max(s.rss, mem?.rssBytes ?? 0)),
    server_peak_rss_mib: mib(mem?.peakRssBytes ?? 0),
    server_runqueue_wait_percent: runQueueWaitPercent(s.q0, s.q1),
    loadavg_1m: s.load,
    generator_cpu_percent: Math.round(genCpu * 10) / 10,
    generator_processes: workers,
    duration_s: secs,
  };
}

/**
 * Runs `step` at each rate in turn (`describe` names the rate in the progress
 * line); a ladder stops at the first failing step and its best is the last
 * passing one, a single rate's best is that run.
 */
export async function runSteps(
  pool: Pool,
  target: Target,
  senders: SenderSpec[][],
  o: BenchOptions,
  rates: number[],
  describe: (rate: number) => string,
  progress: Progress,
): Promise<{ steps: StepResult[]; best: StepResult | null }> {
  const steps: StepResult[] = [];
  let best: StepResult | null = null;
  for (const rate of rates) {
    progress(`${describe(rate)} for ${o.durationMs / 1000} s (+${o.warmupMs / 1000} s warm-up)`);
    const r = await step(pool, target, senders, {
      rate,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      drainMs: o.drainMs,
      maxInflight: o.maxInflight,
      contentBytes: o.contentBytes,
    });
    steps.push(r);
    const ok = passes(r, o.p99LimitMs);
    progress(
      `  acked ${fmt(r.acked_per_sec)}/s, delivered ${fmt(r.deliveries_per_sec)}/s, p50 ${r.send_to_deliver.p50_ms} ms, p99 ${r.send_to_deliver.p99_ms} ms, ` +
        `lost ${r.lost}, dup ${r.duplicates}, self-echo ${r.self_echoes}, server CPU ${r.server_cpu_percent}%, generator CPU ${r.generator_cpu_percent}%, server run-queue wait ${r.server_runqueue_wait_percent}%, load ${r.loadavg_1m}` +
        (o.ladder ? (ok ? "  PASS" : "  FAIL") : ""),
    );
    if (!o.ladder || ok) best = r;
    else break;
  }
  return { steps, best };
}

/** A step passes when p99 send->deliver <= 50 ms, >= 95% of the offered rate is acked, and nothing is lost or duplicated. */
export function passes(r: StepResult, p99LimitMs = 50): boolean {
  const errs = Object.values(r.errors).reduce((a, b) => a + b, 0);
  return r.send_to_deliver.p99_ms <= p99LimitMs && r.acked_per_sec >= 0.95 * r.rate_offered && r.lost === 0 && r.duplicates === 0 && errs === 0;
}
