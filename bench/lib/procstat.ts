// CPU and memory of a process, read from /proc (Linux). CPU is utime+stime in
// clock ticks (100 per second here); RSS from /proc/PID/status.

import { readFileSync } from "node:fs";

const TICK_MS = 10; // getconf CLK_TCK = 100

export interface CpuSample {
  /** CPU time used so far, ms (user + system). */
  cpuMs: number;
  /** Wall time of the sample, ms (performance.now()). */
  at: number;
}

/** CPU time of one process; null if it is gone. */
export function cpuSample(pid: number): CpuSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, at: performance.now() };
  } catch {
    return null;
  }
}

/** CPU used between two samples, as % of one core. */
export function cpuPercent(a: CpuSample | null, b: CpuSample | null): number {
  if (!a || !b || b.at <= a.at) return 0;
  return Math.round(((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 1000) / 10;
}

/**
 * Server and generator CPU (% of one core; the generator summed over its
 * processes) over the measured window: from `startAt + warmupMs` for `durationMs`.
 */
export async function windowCpu(
  serverPid: number,
  generatorPids: () => number[],
  startAt: number,
  warmupMs: number,
  durationMs: number,
): Promise<{ server: number; generator: number }> {
  await Bun.sleep(startAt - Date.now() + warmupMs);
  const c0 = cpuSample(serverPid);
  const g0 = generatorPids().map(cpuSample);
  await Bun.sleep(durationMs);
  const c1 = cpuSample(serverPid);
  const g1 = generatorPids().map(cpuSample);
  return { server: cpuPercent(c0, c1), generator: Math.round(g0.reduce((a, g, i) => a + cpuPercent(g, g1[i] ?? null), 0) * 10) / 10 };
}

export interface MemSample {
  rssBytes: number;
  /** Peak RSS over the process's life (VmHWM). */
  peakRssBytes: number;
}

export function memSample(pid: number): MemSample | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
    return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
  } catch {
    return null;
  }
}

/**
 * Waits until a process's RSS has moved by at most `tolBytes` over the last
 * `windowMs` (sampled every 100 ms), for at most `maxMs`; returns the last
 * sample, or null if the process is gone. `settled` is false if it hit the bound.
 */
export async function settledMem(
  pid: number,
  { windowMs = 1000, tolBytes = 128 * 1024, maxMs = 10_000 } = {},
): Promise<{ mem: MemSample; settled: boolean; waitedMs: number } | null> {
  const t0 = performance.now();
  const seen: { at: number; rss: number }[] = [];
  for (;;) {
    const mem = memSample(pid);
    if (!mem) return null;
    const at = performance.now();
    seen.push({ at, rss: mem.rssBytes });
    // Keep the newest samples that still span the window.
    while (seen.length > 1 && at - seen[1]!.at >= windowMs) seen.shift();
    const rss = seen.map((s) => s.rss);
    const settled = at - seen[0]!.at >= windowMs && Math.max(...rss) - Math.min(...rss) <= tolBytes;
    if (settled || at - t0 >= maxMs) return { mem, settled, waitedMs: at - t0 };
    await Bun.sleep(100);
  }
}

/** The machine, for reports: cores, memory, CPU model, load. */
export function machineInfo(): { nproc: number; mem_total_gib: number; cpu_model: string; loadavg: string } {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const mem = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  return {
    nproc: navigator.hardwareConcurrency,
    mem_total_gib: Math.round((mem / 1024 / 1024) * 10) / 10,
    cpu_model: model,
    loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
}

export interface SchedSample {
  /** Time the main thread spent on a CPU and waiting in the run queue, ms (/proc/PID/schedstat). */
  runMs: number;
  waitMs: number;
  at: number;
}

export function schedSample(pid: number): SchedSample | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(" ").map(Number);
    return { runMs: run! / 1e6, waitMs: wait! / 1e6, at: performance.now() };
  } catch {
    return null;
  }
}

/** Share of wall time the main thread was runnable but waiting for a CPU (other processes had it), %. */
export function runQueueWaitPercent(a: SchedSample | null, b: SchedSample | null): number {
  if (!a || !b || b.at <= a.at) return 0;
  return Math.round(((b.waitMs - a.waitMs) / (b.at - a.at)) * 1000) / 10;
}

export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}
