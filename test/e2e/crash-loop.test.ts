// The crash-consistency loop in its short, seeded form (npm run soak runs it
// with 1,000 kills): kill -9 at random moments under mixed traffic, and after
// each restart every invariant of test/support/crash-loop.ts holds. The server
// replicates to a directory: after every second kill (before the restart)
// the replica is restored and checked against the data dir.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../harness.ts";
import { RPO_MS, runCrashLoop } from "../support/crash-loop.ts";

const dir = tempDir("natter-crash-loop-");
const rep = tempDir("natter-crash-loop-replica-");
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(rep, { recursive: true, force: true });
});

test("kill -9 under mixed traffic, 4 times: acked messages once each, dense seqs, membership both ways, whole media, the replica consistent with the data dir", async () => {
  const t0 = Date.now();
  const r = await runCrashLoop({ kills: 4, seed: 13, dataDir: dir, replica: { dir: join(rep, "replica"), every: 2 } });
  const x = r.replica!;
  console.log(
    `crash loop: ${r.kills} kills (${x.litestreamKills} with Litestream) in ${Date.now() - t0} ms, ${r.acked} acked, ${r.checkedMessages} checks; ` +
      `replica: ${x.checks} restores (${x.restoreMs.join(", ")} ms), ${x.messages} messages compared, ${x.withinRpo} acked > ${RPO_MS} ms before the kill all in it, ` +
      `${x.lost} newer not in it (oldest ${x.oldestLostMs} ms before the kill)`,
  );
  expect(r.violations).toEqual([]);
  expect(r.kills).toBe(4);
  expect(r.acked).toBeGreaterThan(20);
  expect(r.checkedMessages).toBeGreaterThan(0);
  expect(r.changes).toBeGreaterThan(0); // edits and reactions were in the mix
  expect(x.checks).toBe(2);
  expect(x.messages).toBeGreaterThan(20);
  expect(x.withinRpo).toBeGreaterThan(0);
}, 58_000);
