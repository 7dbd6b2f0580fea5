// A one-line transfer progress bar for a TTY (on stderr, so stdout stays data):
//   photo.jpg  [##########··········]  52%  5.2/10.0 MiB  3.1 MiB/s
// Redrawn at most ten times a second; finish() ends the line. When stderr is
// not a TTY nothing is drawn.
import type { Progress } from "../../client/index.ts";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The bar's text for a moment of a transfer (pure; tested). */
export function progressLine(label: string, p: Progress, elapsedMs: number, width = 20): string {
  const rate = elapsedMs > 0 ? (p.done * 1000) / elapsedMs : 0;
  const speed = `${formatBytes(Math.round(rate))}/s`;
  if (p.total === null || p.total <= 0) return `${label}  ${formatBytes(p.done)}  ${speed}`;
  const frac = Math.min(1, p.done / p.total);
  const full = Math.round(frac * width);
  const bar = "#".repeat(full) + "·".repeat(width - full);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `${label}  [${bar}] ${pct}  ${formatBytes(p.done)}/${formatBytes(p.total)}  ${speed}`;
}

export interface ProgressBar {
  update(p: Progress): void;
  finish(): void;
}

/** A bar on `stream` if it is a TTY, else a no-op. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update() {}, finish() {} };
  const t0 = performance.now();
  let last = 0;
  let latest: Progress | null = null;
  const draw = () => {
    if (!latest) return;
    const cols = stream.columns || 80;
    stream.write("\r" + progressLine(label, latest, performance.now() - t0).slice(0, cols - 1) + "\x1b[K");
  };
  return {
    update(p) {
      latest = p;
      const now = performance.now();
      if (now - last >= 100 || (p.total !== null && p.done >= p.total)) {
        last = now;
        draw();
      }
    },
    finish() {
      draw();
      if (latest) stream.write("\n");
    },
  };
}
