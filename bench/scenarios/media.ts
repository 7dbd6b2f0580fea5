// media: C clients (one user each) each upload a distinct 50 KiB file and
// download it again, back to back, over HTTP (POST /api/media, GET
// /api/media/ID), for the run's duration. 50 KiB is the planned average
// attachment; the files are random bytes, so nothing deduplicates.

import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { memSample, windowCpu } from "../lib/procstat.ts";
import { fmt, type Progress } from "../lib/report.ts";
import { startNatter } from "./common.ts";

export interface MediaScenarioResult {
  clients: number;
  size_bytes: number;
  uploads_per_sec: number;
  downloads_per_sec: number;
  upload_mib_per_sec: number;
  upload: LatencySummary;
  download: LatencySummary;
  errors: Record<string, number>;
  server_cpu_percent: number;
  server_peak_rss_mib: number;
  generator_cpu_percent: number;
}

export async function runMedia(o: BenchOptions, progress: Progress): Promise<MediaScenarioResult> {
  const target = await startNatter(o);
  const pool = new Pool(o.workers);
  try {
    const ids = await target.identities(o.mediaClients, "m");
    progress(`media: ${o.mediaClients} clients upload + download ${fmt(o.mediaBytes)}-byte files for ${o.durationMs / 1000} s`);
    const startAt = Date.now() + 300;
    const sampler = windowCpu(target.pid, () => pool.pids(), startAt, o.warmupMs, o.durationMs);
    const res = await pool.all(
      (w) => ({
        t: "media",
        startAt,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        url: target.url,
        tokens: ids.filter((_, i) => i % pool.size === w).map((x) => x.token),
        sizeBytes: o.mediaBytes,
      }),
      "media",
    );
    const s = await sampler;
    const up = new Histogram();
    const down = new Histogram();
    const errors: Record<string, number> = {};
    let uploads = 0;
    let downloads = 0;
    for (const { r } of res) {
      up.merge(r.upload);
      down.merge(r.download);
      uploads += r.uploads;
      downloads += r.downloads;
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    }
    const secs = o.durationMs / 1000;
    const result: MediaScenarioResult = {
      clients: o.mediaClients,
      size_bytes: o.mediaBytes,
      uploads_per_sec: Math.round(uploads / secs),
      downloads_per_sec: Math.round(downloads / secs),
      upload_mib_per_sec: Math.round(((uploads * o.mediaBytes) / secs / 1024 / 1024) * 10) / 10,
      upload: up.summary(),
      download: down.summary(),
      errors,
      server_cpu_percent: s.server,
      server_peak_rss_mib: Math.round(((memSample(target.pid)?.peakRssBytes ?? 0) / 1024 / 1024) * 10) / 10,
      generator_cpu_percent: s.generator,
    };
    progress(
      `  ${fmt(result.uploads_per_sec)} uploads/s (p99 ${result.upload.p99_ms} ms), ${fmt(result.downloads_per_sec)} downloads/s (p99 ${result.download.p99_ms} ms), errors ${JSON.stringify(errors)}`,
    );
    return result;
  } finally {
    await pool.close();
    await target.stop();
  }
}
