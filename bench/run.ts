// natter benchmark suite: `npm run bench -- --help`.
// Runs the chosen scenarios against natter and the baselines on this machine,
// prints a table (or --json) on stdout and progress on stderr.

import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { HELP, parseOptions, UsageError, type BenchOptions } from "./lib/options.ts";
import { machineInfo } from "./lib/procstat.ts";
import { fmt, makeProgress, ratio, table } from "./lib/report.ts";
import { ROOT } from "./lib/target.ts";
import { runDirect, type LoadScenarioResult } from "./scenarios/direct.ts";
import { runSqliteBaseline, type SqliteBaselineResult } from "./scenarios/sqlite.ts";
import { runGroup } from "./scenarios/group.ts";
import { runHistory, type HistoryScenarioResult } from "./scenarios/history.ts";
import { runConnect, type ConnectScenarioResult } from "./scenarios/connect.ts";
import { runReconnect, type ReconnectScenarioResult } from "./scenarios/reconnect.ts";
import { runMedia, type MediaScenarioResult } from "./scenarios/media.ts";
import { runClusterBench } from "./scenarios/cluster.ts";
import { runClusterIdle } from "./scenarios/cluster-idle.ts";

export interface BenchReport {
  date: string;
  commit: string;
  machine: ReturnType<typeof machineInfo>;
  options: Omit<BenchOptions, "json">;
  sqlite?: SqliteBaselineResult;
  relay?: LoadScenarioResult;
  direct?: LoadScenarioResult;
  group?: LoadScenarioResult;
  /** The bare relay carrying the same group load (when relay is among the scenarios). */
  group_relay?: LoadScenarioResult;
  history?: HistoryScenarioResult;
  media?: MediaScenarioResult;
  connect?: ConnectScenarioResult;
  /** The bare relay holding the same idle connections (when relay is among the scenarios). */
  connect_relay?: ConnectScenarioResult;
  reconnect?: ReconnectScenarioResult;
  ratios?: Record<string, number>;
  elapsed_s: number;
}

function commit(natterRoot: string | null): string {
  if (natterRoot) {
    const f = `${natterRoot}/.commit`;
    const c = existsSync(f) ? readFileSync(f, "utf8").trim() : "unknown commit";
    return `${c} (copy at ${natterRoot})`;
  }
  try {
    const sha = execSync("git rev-parse --short HEAD", { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execSync("git status --porcelain -- src", { cwd: ROOT, encoding: "utf8" }).trim() ? "+dirty-src" : "";
    return sha + dirty;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<number> {
  if (process.argv[2] === "cluster") return runClusterBench(process.argv.slice(3));
  if (process.argv[2] === "cluster-idle") return runClusterIdle(process.argv.slice(3));
  let o: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === "help") {
      process.stdout.write(HELP);
      return 0;
    }
    o = parsed;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`bench: ${(e as Error).message}\n\n${HELP}`);
      return 2;
    }
    throw e;
  }
  const progress = makeProgress(false);
  const t0 = performance.now();
  const { json: _json, ...shown } = o;
  const report: BenchReport = { date: new Date().toISOString(), commit: commit(o.natterRoot), machine: machineInfo(), options: shown, elapsed_s: 0 };
  progress(`machine: ${report.machine.nproc} cores, ${report.machine.cpu_model}, load ${report.machine.loadavg}; commit ${report.commit}`);
  for (const s of o.scenarios) {
    if (s === "sqlite") report.sqlite = await runSqliteBaseline(o, progress);
    if (s === "relay") report.relay = await runDirect("relay", o, progress);
    if (s === "direct") report.direct = await runDirect("natter", o, progress);
    if (s === "group") {
      if (o.scenarios.includes("relay")) report.group_relay = await runGroup(o, progress, "relay");
      report.group = await runGroup(o, progress);
    }
    if (s === "history") report.history = await runHistory(o, progress);
    if (s === "media") report.media = await runMedia(o, progress);
    if (s === "connect") {
      if (o.scenarios.includes("relay")) report.connect_relay = await runConnect(o, progress, "relay");
      report.connect = await runConnect(o, progress);
    }
    if (s === "reconnect") report.reconnect = await runReconnect(o, progress);
  }
  report.ratios = ratios(report);
  report.elapsed_s = Math.round((performance.now() - t0) / 100) / 10;
  if (o.out) writeFileSync(o.out, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + "\n" : render(report) + "\n");
  progress(`done in ${report.elapsed_s} s`);
  return 0;
}

function ratios(r: BenchReport): Record<string, number> {
  const out: Record<string, number> = {};
  const d = r.direct?.best;
  const rel = r.relay?.best;
  if (d && rel) {
    // Rates compare only as ladder results (the last passing rate of each); a fixed-rate run just returns the offered rate.
    if (r.direct!.ladder && r.relay!.ladder) out.direct_vs_relay_last_pass = ratio(d.acked_per_sec, rel.acked_per_sec);
    // Latency and CPU per send compared at the same offered rate (both fall with rate as batches grow).
    const same = r.relay!.steps.find((s) => s.rate_offered === d.rate_offered);
    if (same) {
      out.direct_vs_relay_p99_same_rate = ratio(d.send_to_deliver.p99_ms, same.send_to_deliver.p99_ms);
      out.direct_vs_relay_cpu_per_send_same_rate = ratio(d.server_cpu_us_per_send, same.server_cpu_us_per_send);
    }
  }
  if (d && r.sqlite && r.direct!.ladder) out.direct_last_pass_vs_sqlite_rows = ratio(d.acked_per_sec, r.sqlite.rows_per_sec);
  const g = r.group?.best;
  const gr = r.group_relay?.best;
  if (g && gr) {
    if (r.group!.ladder && r.group_relay!.ladder) out.group_vs_relay_last_pass = ratio(g.deliveries_per_sec, gr.deliveries_per_sec);
    const same = r.group_relay!.steps.find((s) => s.rate_offered === g.rate_offered);
    if (same) out.group_vs_relay_cpu_per_send_same_rate = ratio(g.server_cpu_us_per_send, same.server_cpu_us_per_send);
  }
  if (r.connect && r.connect_relay) out.connect_rss_per_conn_vs_relay = ratio(r.connect.rss_per_conn_kib, r.connect_relay.rss_per_conn_kib);
  return out;
}

function render(r: BenchReport): string {
  const parts: string[] = [`natter bench  ${r.date}  commit ${r.commit}  ${r.machine.nproc} cores ${r.machine.cpu_model}  load ${r.machine.loadavg}`];
  const loadRows: (string | number)[][] = [];
  const addLoad = (name: string, x: LoadScenarioResult | undefined) => {
    if (!x) return;
    for (const [i, s] of x.steps.entries()) {
      const tag = x.ladder ? (s === x.best ? " *" : x.steps.indexOf(x.best!) < i ? " x" : "") : "";
      loadRows.push([
        name + tag,
        fmt(s.rate_offered),
        fmt(s.acked_per_sec),
        fmt(s.deliveries_per_sec),
        s.send_to_deliver.p50_ms,
        s.send_to_deliver.p95_ms,
        s.send_to_deliver.p99_ms,
        s.send_to_deliver.max_ms,
        s.send_to_ack.p99_ms,
        s.lost,
        s.duplicates,
        s.self_echoes,
        Object.values(s.errors).reduce((a, b) => a + b, 0),
        s.server_cpu_percent,
        s.server_cpu_us_per_send,
        s.server_peak_rss_mib,
        s.generator_cpu_percent,
        s.server_runqueue_wait_percent,
        s.loadavg_1m,
      ]);
    }
  };
  addLoad("relay (baseline)", r.relay);
  addLoad(`direct (${r.direct?.address ?? ""}, sync ${r.direct?.sync ?? ""})`, r.direct);
  addLoad("group relay (baseline)", r.group_relay);
  addLoad("group", r.group);
  if (loadRows.length)
    parts.push(
      table(
        ["scenario", "offered/s", "acked/s", "deliv/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "ack p99", "lost", "dup", "echo", "err", "srv CPU%", "us/send", "peak RSS MiB", "gen CPU%", "srv wait%", "load"],
        loadRows,
      ) + (r.relay?.ladder || r.direct?.ladder ? "\n(* last passing ladder step, x failed step)" : ""),
    );
  if (r.sqlite)
    parts.push(
      table(
        ["sqlite baseline", "rows/s", "commits/s", "batch", "wait p50 ms", "wait p99 ms", "CPU%"],
        [[`sync ${r.sqlite.sync}, ${r.sqlite.concurrency} writers`, fmt(r.sqlite.rows_per_sec), fmt(r.sqlite.commits_per_sec), r.sqlite.mean_batch, r.sqlite.commit_wait.p50_ms, r.sqlite.commit_wait.p99_ms, r.sqlite.cpu_percent]],
      ),
    );
  if (r.history) {
    const h = r.history;
    parts.push(
      table(
        ["history", "messages", "pages/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "newest p99", "deep p99", "ping p99"],
        [[`${h.channels} channels, limit ${h.limit}`, fmt(h.messages_in_store), fmt(h.pages_per_sec), h.page.p50_ms, h.page.p95_ms, h.page.p99_ms, h.page.max_ms, h.newest.p99_ms, h.deep.p99_ms, h.ping.p99_ms]],
      ),
    );
  }
  if (r.media) {
    const m = r.media;
    parts.push(
      table(
        ["media", "uploads/s", "MiB/s up", "up p50 ms", "up p99 ms", "downloads/s", "down p50 ms", "down p99 ms", "errors", "srv CPU%", "peak RSS MiB", "gen CPU%"],
        [[`${m.clients} clients, ${fmt(m.size_bytes)} B`, fmt(m.uploads_per_sec), m.upload_mib_per_sec, m.upload.p50_ms, m.upload.p99_ms, fmt(m.downloads_per_sec), m.download.p50_ms, m.download.p99_ms, Object.values(m.errors).reduce((a, b) => a + b, 0), m.server_cpu_percent, m.server_peak_rss_mib, m.generator_cpu_percent]],
      ),
    );
  }
  if (r.connect) {
    const rows = [r.connect_relay, r.connect]
      .filter((c) => c !== undefined)
      .map((c) => [`idle websockets, ${c.target}`, fmt(c.asked), fmt(c.connected), c.connect_s, c.rss_before_mib, c.rss_after_mib, c.rss_per_conn_kib, c.server_cpu_percent]);
    parts.push(table(["connect", "asked", "connected", "secs", "RSS before MiB", "RSS after MiB", "KiB/conn", "srv CPU%"], rows));
  }
  if (r.reconnect) {
    const c = r.reconnect;
    parts.push(
      table(
        ["reconnect", "clients", "back in", "all back s", "p50 s", "p99 s", "attempts", "refused", "peak RSS MiB", "crashed"],
        [["after restart", fmt(c.clients), fmt(c.back), c.all_back_s ?? "-", c.back_p50_s, c.back_p99_s, fmt(c.attempts), fmt(c.refused), c.server_peak_rss_mib, c.crashed ? "yes" : "no"]],
      ),
    );
  }
  if (r.ratios && Object.keys(r.ratios).length) parts.push("ratios: " + Object.entries(r.ratios).map(([k, v]) => `${k} ${v}`).join(", "));
  return parts.join("\n\n");
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
