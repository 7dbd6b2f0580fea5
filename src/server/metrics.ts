// Prometheus metrics: counters, gauges and histograms in text format 0.0.4.

type Labels = Record<string, string>;
/** Shared empty label set: the hot path passes it and skips building a key. */
export const NO_LABELS: Labels = Object.freeze({}) as Labels;
const keyCache = new Map<string, string>();
const key = (l: Labels): string => {
  if (l === NO_LABELS) return "";
  // Label sets on hot paths are small and repeat (op names, error codes): memoize by a cheap signature.
  const ks = Object.keys(l);
  const sig = ks.length === 1 ? ks[0] + "\u0000" + l[ks[0]!] : "";
  if (sig) {
    const hit = keyCache.get(sig);
    if (hit !== undefined) return hit;
  }
  const k = buildKey(l);
  if (sig && keyCache.size < 10_000) keyCache.set(sig, k);
  return k;
};
const buildKey = (l: Labels) =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${l[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");

class Counter {
  private values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge" = "counter") {}
  inc(labels: Labels = NO_LABELS, by = 1) {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, v: number) {
    this.values.set(key(labels), v);
  }
  get(labels: Labels = NO_LABELS) {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    if (this.values.size === 0 && this.type === "gauge") s += `${this.name} 0\n`;
    for (const [k, v] of this.values) s += `${this.name}${k ? `{${k}}` : ""} ${v}\n`;
    return s;
  }
}

class Histogram {
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(labels: Labels, v: number) {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  render(): string {
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [k, h] of this.series) {
      const pre = k ? `${k},` : "";
      this.buckets.forEach((b, i) => (s += `${this.name}_bucket{${pre}le="${b}"} ${h.counts[i]}\n`));
      s += `${this.name}_bucket{${pre}le="+Inf"} ${h.count}\n`;
      s += `${this.name}_sum${k ? `{${k}}` : ""} ${h.sum}\n${this.name}_count${k ? `{${k}}` : ""} ${h.count}\n`;
    }
    return s;
  }
}

/** The server's metrics; one instance per server. */
export class Metrics {
  readonly connections = new Counter("natter_connections", "Open websocket connections", "gauge");
  readonly connectionsTotal = new Counter("natter_connections_total", "Websocket connections accepted");
  readonly refused = new Counter("natter_connections_refused_total", "Websocket upgrades refused, by reason");
  readonly messages = new Counter("natter_messages_total", "Messages committed");
  readonly deliveries = new Counter("natter_deliveries_total", "Events sent to connections");
  readonly errors = new Counter("natter_errors_total", "Error replies by code");
  readonly slowConsumers = new Counter("natter_slow_consumers_total", "Connections closed for a full send buffer");
  readonly diskFull = new Counter("natter_disk_full_total", "Requests refused because the disk is full");
  readonly opDuration = new Histogram("natter_op_duration_seconds", "Op latency, request to reply", [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  ]);
  readonly commitBatch = new Histogram("natter_commit_batch_size", "Writes per group commit", [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
  readonly commitDuration = new Histogram("natter_commit_duration_seconds", "Group commit duration", [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  ]);

  // ---- media (src/server/media) ----
  readonly mediaBytesStored = new Counter("natter_media_bytes_stored", "Bytes of media blobs on disk (each distinct content once)", "gauge");
  readonly mediaBlobs = new Counter("natter_media_blobs", "Media blobs on disk", "gauge");
  readonly mediaUploads = new Counter("natter_media_uploads_total", "Uploads stored");
  readonly mediaUploadBytes = new Counter("natter_media_upload_bytes_total", "Bytes received in stored uploads");
  readonly mediaUploadsRejected = new Counter("natter_media_uploads_rejected_total", "Uploads refused or failed, by reason");
  readonly mediaDownloads = new Counter("natter_media_downloads_total", "Downloads answered, by HTTP status");
  readonly mediaDownloadBytes = new Counter("natter_media_download_bytes_total", "Bytes of media sent (bodies of 200 and 206)");
  readonly mediaSwept = new Counter("natter_media_swept_total", "Orphan uploads removed by the sweep");

  /** More Prometheus text from modules that keep their own numbers (replication). */
  readonly extra: Array<() => string> = [];

  render(): string {
    const mem = process.memoryUsage();
    return (
      [
        this.connections,
        this.connectionsTotal,
        this.refused,
        this.messages,
        this.deliveries,
        this.errors,
        this.slowConsumers,
        this.diskFull,
        this.opDuration,
        this.commitBatch,
        this.commitDuration,
        this.mediaBytesStored,
        this.mediaBlobs,
        this.mediaUploads,
        this.mediaUploadBytes,
        this.mediaUploadsRejected,
        this.mediaDownloads,
        this.mediaDownloadBytes,
        this.mediaSwept,
      ]
        .map((m) => m.render())
        .join("") +
      `# HELP natter_process_resident_memory_bytes Resident memory\n# TYPE natter_process_resident_memory_bytes gauge\nnatter_process_resident_memory_bytes ${mem.rss}\n` +
      this.extra.map((f) => f()).join("")
    );
  }
}
