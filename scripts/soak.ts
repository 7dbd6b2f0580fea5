// Release soak: `npm run soak [-- --phase crash|fuzz] [--kills N] [--replica-every K] [--fuzz-runs N] [--fuzz-seeds N] [--seed S]`.
// Runs its phases in order and exits 0 only when no invariant broke. Phases:
// crash: kill -9 at random moments under mixed traffic (test/support/crash-loop.ts), replicating
//        to a directory; the replica is restored and checked against the data dir every K kills.
// fuzz: generated and mutated frames at a live server, several seeds (scripts/soak-fuzz.ts).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tempDir } from "../test/harness.ts";
import { RPO_MS, runCrashLoop } from "../test/support/crash-loop.ts";
import { soakFuzz } from "./soak-fuzz.ts";

const USAGE = `usage: npm run soak -- [--phase crash|fuzz] [--kills N] [--replica-every K] [--fuzz-runs N] [--fuzz-seeds N] [--seed S]
  --phase P   run only phase P (default: every phase; phases: crash, fuzz)
  --kills N   crash: server kills (default 1000)
  --replica-every K
              crash: restore and check the replica after every K-th kill and the last
              (default 1; 0: run without a replica)
  --fuzz-runs N   fuzz: fast-check runs per seed, each a batch of 1-12 frames (default 20000)
  --fuzz-seeds N  fuzz: seeds, each on a fresh server (default 5)
  --seed S    seed of the random choices (default: from the clock, printed)
`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    phase: { type: "string" },
    kills: { type: "string" },
    "replica-every": { type: "string" },
    "fuzz-runs": { type: "string" },
    "fuzz-seeds": { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const kills = Number(values.kills ?? 1000);
const seed = Number(values.seed ?? Date.now() % 1_000_000);
const replicaEvery = Number(values["replica-every"] ?? 1);
const fuzzRuns = Number(values["fuzz-runs"] ?? 20_000);
const fuzzSeeds = Number(values["fuzz-seeds"] ?? 5);
if (!Number.isSafeInteger(kills) || kills < 1 || !Number.isSafeInteger(seed) || !Number.isSafeInteger(replicaEvery) || replicaEvery < 0 || !(fuzzRuns >= 1) || !(fuzzSeeds >= 1)) {
  process.stderr.write(USAGE);
  process.exit(2);
}

/** Each phase returns its broken invariants (empty = held). */
const PHASES: Record<string, () => Promise<string[]>> = {
  async crash() {
    const dir = tempDir("natter-soak-crash-");
    const rep = tempDir("natter-soak-replica-");
    try {
      const t0 = Date.now();
      const replica = replicaEvery > 0 ? { dir: join(rep, "replica"), every: replicaEvery } : undefined;
      const r = await runCrashLoop({ kills, seed, dataDir: dir, replica, log: (l) => process.stdout.write(`[crash] ${l}\n`) });
      process.stdout.write(
        `[crash] done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${r.kills} kills, ${r.acked} acked messages (${r.checkedMessages} checks), ` +
          `${r.uploads} uploads, ${r.groupChanges} group changes, ${r.receipts} receipts, ${r.changes} edits and reactions, ${r.violations.length} violations\n`,
      );
      const x = r.replica;
      if (x) {
        const ms = [...x.restoreMs].sort((a, b) => a - b);
        process.stdout.write(
          `[crash] replica: ${x.checks} restores (median ${ms[ms.length >> 1] ?? 0} ms, max ${ms.at(-1) ?? 0} ms), ${x.litestreamKills} kills took Litestream too, ` +
            `${x.messages} restored messages compared with the data dir, ${x.withinRpo} acked > ${RPO_MS} ms before their kill found, ` +
            `${x.lost} newer not yet in it (oldest ${x.oldestLostMs} ms before its kill)\n`,
        );
      }
      return r.violations;
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(rep, { recursive: true, force: true });
    }
  },
  fuzz: () => soakFuzz({ runs: fuzzRuns, seed, rounds: fuzzSeeds, log: (l) => process.stdout.write(`[fuzz] ${l}\n`) }),
};

const names = values.phase ? [values.phase] : Object.keys(PHASES);
if (names.some((n) => !PHASES[n])) {
  process.stderr.write(`unknown phase: ${values.phase}\n${USAGE}`);
  process.exit(2);
}
process.stdout.write(`soak: seed ${seed}, phases ${names.join(", ")}\n`);
let broken = 0;
for (const n of names) {
  const v = await PHASES[n]!();
  for (const line of v.slice(0, 50)) process.stdout.write(`[${n}] VIOLATION ${line}\n`);
  broken += v.length;
}
process.stdout.write(broken === 0 ? "soak: every invariant held\n" : `soak: ${broken} violations\n`);
process.exit(broken === 0 ? 0 : 1);
