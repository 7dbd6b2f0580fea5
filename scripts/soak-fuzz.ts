// The long protocol fuzz for releases (`npm run soak -- --phase fuzz [--fuzz-runs N] [--seed S]`):
// test/support/protocol-fuzz.ts against a fresh server, several seeds in turn, counts printed.
import { startServer } from "../test/harness.ts";
import { runProtocolFuzz } from "../test/support/protocol-fuzz.ts";

export interface SoakFuzzOptions {
  /** fast-check runs per seed (each a pipelined batch of 1-12 frames). */
  runs: number;
  /** First seed; the rounds use seed, seed + 1, ... */
  seed: number;
  rounds: number;
  log: (line: string) => void;
}

/** Runs `rounds` seeded fuzz rounds, each on a fresh server; returns every broken rule. */
export async function soakFuzz(o: SoakFuzzOptions): Promise<string[]> {
  const violations: string[] = [];
  const totals: Record<string, number> = {};
  let frames = 0;
  let canary = 0;
  const t0 = Date.now();
  for (let i = 0; i < o.rounds; i++) {
    const seed = o.seed + i;
    const server = await startServer({ args: ["--rate-burst", "100000000", "--rate-per-sec", "100000000"] });
    try {
      const r = await runProtocolFuzz({ server, seed, runs: o.runs });
      frames += r.frames;
      canary += r.canarySent;
      for (const [k, v] of Object.entries(r.outcomes)) totals[k] = (totals[k] ?? 0) + v;
      o.log(`seed ${seed}: ${r.frames} frames, outcomes ${JSON.stringify(r.outcomes)}, canary ${r.canarySent}, ${r.violations.length} violations`);
      violations.push(...r.violations.map((v) => `seed ${seed}: ${v}`));
    } finally {
      await server.cleanup();
    }
  }
  o.log(
    `done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${o.rounds} seeds (${o.seed}..${o.seed + o.rounds - 1}), ${frames} frames, ` +
      `outcomes ${JSON.stringify(totals)}, ${canary} canary messages, ${violations.length} violations`,
  );
  return violations;
}
