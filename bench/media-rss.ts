// One-off measurement: peak RSS of the server while it receives (and then
// serves) a 1 GiB upload, against its idle baseline. Proves uploads stream to
// disk instead of being held in memory. Run: npx bun bench/media-rss.ts [MiB]
// Prints one JSON line; docs/media.md records the result.
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { makeUser, startServer } from "../test/harness.ts";

const MIB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const total = sizeMiB * MIB;

const server = await startServer({ args: ["--max-upload-bytes", String(total + MIB)] });
const pid = server.proc.pid;
const status = (field: "VmRSS" | "VmHWM") => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
};
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, status("VmRSS"))), 20);

try {
  const user = await makeUser(server, "Bench");
  const auth = { authorization: `Bearer ${user.token}` };
  // Warm up every path once (JIT, sqlite, sniffing) so the baseline is a working server's.
  const warm = await fetch(server.url + "/api/media", { method: "POST", headers: auth, body: new Uint8Array(MIB).fill(7) });
  const warmId = ((await warm.json()) as any).media.id;
  await (await fetch(`${server.url}/api/media/${warmId}`, { headers: auth })).arrayBuffer();
  await Bun.sleep(500);
  const baseline = status("VmRSS");
  const baselineHwm = status("VmHWM");
  peak = baseline;

  // Upload: a stream that never holds more than one 1 MiB chunk on this side either.
  const chunk = new Uint8Array(MIB);
  const sent = createHash("sha256");
  let off = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= total) return c.close();
      for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (off / MIB + i) & 0xff;
      const copy = chunk.slice();
      sent.update(copy);
      off += copy.length;
      c.enqueue(copy);
    },
  });
  const t0 = performance.now();
  const res = await fetch(server.url + "/api/media", { method: "POST", headers: auth, body });
  const media = ((await res.json()) as any).media;
  const uploadS = (performance.now() - t0) / 1000;
  const uploadPeak = peak;
  if (res.status !== 201 || media.size !== total || media.sha256 !== sent.digest("hex")) throw new Error(`upload failed: ${res.status} ${JSON.stringify(media)}`);

  // Download it back, hashing as it streams.
  peak = status("VmRSS");
  const t1 = performance.now();
  const dl = await fetch(`${server.url}/api/media/${media.id}`, { headers: auth });
  const got = createHash("sha256");
  let n = 0;
  for await (const part of dl.body as unknown as AsyncIterable<Uint8Array>) {
    got.update(part);
    n += part.length;
  }
  const downloadS = (performance.now() - t1) / 1000;
  if (n !== total || got.digest("hex") !== media.sha256) throw new Error("download mismatch");
  const downloadPeak = peak;

  const mb = (b: number) => Math.round((b / MIB) * 10) / 10;
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      bun: Bun.version,
      upload_mib: sizeMiB,
      baseline_rss_mib: mb(baseline),
      baseline_hwm_mib: mb(baselineHwm),
      upload_peak_rss_mib: mb(uploadPeak),
      download_peak_rss_mib: mb(downloadPeak),
      final_hwm_mib: mb(status("VmHWM")),
      upload_s: Math.round(uploadS * 10) / 10,
      upload_mib_per_s: Math.round(sizeMiB / uploadS),
      download_s: Math.round(downloadS * 10) / 10,
    }),
  );
} finally {
  clearInterval(sampler);
  const dir = server.dataDir;
  await server.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
