// sqlite: the bare bun:sqlite group-commit baseline, run as its own process
// (bench/baselines/sqlite.ts) in a temporary dir on the same disk as natter's data.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LatencySummary } from "../lib/histogram.ts";
import type { BenchOptions } from "../lib/options.ts";
import type { Progress } from "../lib/report.ts";
import { BUN, ROOT } from "../lib/target.ts";

export interface SqliteBaselineResult {
  rows_per_sec: number;
  commits_per_sec: number;
  mean_batch: number;
  commit_wait: LatencySummary;
  cpu_percent: number;
  sync: string;
  concurrency: number;
  files: number;
}

export async function runSqliteBaseline(o: BenchOptions, progress: Progress): Promise<SqliteBaselineResult> {
  const dir = mkdtempSync(join(o.tmpDir ?? tmpdir(), "natter-bench-sqlite-"));
  try {
    progress(`sqlite baseline: ${o.sqliteConcurrency} writers, synchronous ${o.sync}, ${o.durationMs / 1000} s`);
    const p = Bun.spawn(
      [
        BUN,
        join(ROOT, "bench/baselines/sqlite.ts"),
        "--dir",
        dir,
        "--sync",
        o.sync,
        "--concurrency",
        String(o.sqliteConcurrency),
        "--duration-ms",
        String(o.durationMs),
        "--warmup-ms",
        String(o.warmupMs),
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const out = await new Response(p.stdout).text();
    const code = await p.exited;
    if (code !== 0) throw new Error(`sqlite baseline exited with ${code}`);
    const r = JSON.parse(out.trim().split("\n").pop()!) as SqliteBaselineResult;
    progress(`  ${r.rows_per_sec} rows/s in ${r.commits_per_sec} commits/s (mean batch ${r.mean_batch}), commit wait p99 ${r.commit_wait.p99_ms} ms`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
