// A mergeable latency histogram: log buckets 2% wide from 1 us to ~100 s,
// so percentiles are exact to within 2% and workers can ship plain arrays.

const BASE = Math.log(1.02);
const BUCKETS = 1000;

export interface HistogramData {
  counts: number[];
  count: number;
  sum: number;
  max: number;
}

export interface LatencySummary {
  count: number;
  mean_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

export class Histogram {
  counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /** Records one latency in milliseconds. */
  add(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / BASE));
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  merge(d: HistogramData): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += d.counts[i] ?? 0;
    this.count += d.count;
    this.sum += d.sum;
    if (d.max > this.max) this.max = d.max;
  }

  /** The upper bound of the bucket holding the q-quantile, in ms (capped at the true max). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.exp(i * BASE) / 1000);
    }
    return this.max;
  }

  summary(): LatencySummary {
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.count,
      mean_ms: r(this.count ? this.sum / this.count : 0),
      p50_ms: r(this.quantile(0.5)),
      p95_ms: r(this.quantile(0.95)),
      p99_ms: r(this.quantile(0.99)),
      max_ms: r(this.max),
    };
  }

  toData(): HistogramData {
    return { counts: Array.from(this.counts), count: this.count, sum: this.sum, max: this.max };
  }

  static from(d: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(d);
    return h;
  }
}
