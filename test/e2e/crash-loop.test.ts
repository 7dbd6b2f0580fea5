// The crash-consistency loop in its short, seeded form (npm run soak runs it
// with 1,000 kills): kill -9 at random moments under mixed traffic, and after
// each restart every invariant of test/support/crash-loop.ts holds.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../harness.ts";
import { runCrashLoop } from "../support/crash-loop.ts";

const dir = tempDir("natter-crash-loop-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("kill -9 under mixed traffic, 4 times: acked messages once each, dense seqs, membership both ways, whole media", async () => {
  const r = await runCrashLoop({ kills: 4, seed: 13, dataDir: dir });
  expect(r.violations).toEqual([]);
  expect(r.kills).toBe(4);
  expect(r.acked).toBeGreaterThan(20);
  expect(r.checkedMessages).toBeGreaterThan(0);
}, 55_000);
