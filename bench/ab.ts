// A/B comparison of two natter checkouts (e.g. HEAD and a scratch copy with a
// proposed change) under the same load, interleaved A B A B ... so a busy
// machine's drift hits both alike. Prints the median of each figure.
// Usage: bun bench/ab.ts --a DIR --b DIR [--rounds 3] [--scenario direct|group] [bench options: --rate, --duration, --server-arg ...]

import { parseArgs } from "node:util";
import type { StepResult } from "./lib/load.ts";
import { parseOptions, type BenchOptions } from "./lib/options.ts";
import { makeProgress, table } from "./lib/report.ts";
import { runDirect } from "./scenarios/direct.ts";
import { runGroup } from "./scenarios/group.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  strict: false,
  options: { a: { type: "string" }, b: { type: "string" }, rounds: { type: "string" }, scenario: { type: "string" } },
});
if (typeof values.a !== "string" || typeof values.b !== "string") {
  process.stderr.write("usage: bun bench/ab.ts --a DIR --b DIR [--rounds N] [--scenario direct|group] [bench options]\n");
  process.exit(2);
}
const rest: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (["--a", "--b", "--rounds", "--scenario"].includes(argv[i]!)) i++;
  else rest.push(argv[i]!);
}
const base = parseOptions(rest) as BenchOptions;
const rounds = Number(values.rounds ?? 3);
const scenario = values.scenario === "group" ? "group" : "direct";
const progress = makeProgress(false);
const runs: Record<"A" | "B", StepResult[]> = { A: [], B: [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, root] of [
    ["A", values.a],
    ["B", values.b],
  ] as const) {
    progress(`round ${r + 1}/${rounds}: ${name} = ${root}`);
    const o: BenchOptions = { ...base, ladder: false, natterRoot: root };
    const res = scenario === "group" ? await runGroup(o, progress) : await runDirect("natter", o, progress);
    runs[name].push(res.best!);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: string, xs: StepResult[]) => [
  name,
  median(xs.map((x) => x.acked_per_sec)),
  median(xs.map((x) => x.deliveries_per_sec)),
  median(xs.map((x) => x.send_to_deliver.p50_ms)),
  median(xs.map((x) => x.send_to_deliver.p99_ms)),
  median(xs.map((x) => x.server_cpu_us_per_send)),
  median(xs.map((x) => x.server_cpu_percent)),
  median(xs.map((x) => x.server_runqueue_wait_percent)),
  xs.reduce((s, x) => s + x.lost + x.duplicates, 0),
];
process.stdout.write(
  `${scenario} at ${scenario === "group" ? base.groupRate : base.rate}/s offered, ${rounds} interleaved rounds, medians\nA = ${values.a}\nB = ${values.b}\n\n` +
    table(["", "acked/s", "deliv/s", "p50 ms", "p99 ms", "us CPU/send", "srv CPU%", "srv wait%", "lost+dup"], [row("A", runs.A), row("B", runs.B)]) +
    "\n",
);
process.exit(0);
