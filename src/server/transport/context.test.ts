import { expect, test } from "bun:test";
import { DEFAULTS } from "../config.ts";
import { ServerContext } from "./context.ts";

// Only the lag monitor is exercised; the other collaborators are never touched.
const unused = {} as never;
const ctx = (overloadLagMs: number) =>
  new ServerContext({ ...DEFAULTS, overloadLagMs }, unused, unused, unused, unused, unused, unused, unused, unused, unused);

test("a stalled event loop marks the server overloaded, and it recovers once the loop runs freely", async () => {
  const c = ctx(200);
  c.startLagMonitor();
  try {
    await Bun.sleep(250);
    expect(c.overloaded()).toBe(false);
    const until = performance.now() + 600; // block the loop like a runaway synchronous task
    while (performance.now() < until);
    await Bun.sleep(20); // let the monitor's timer fire late
    expect(c.overloaded()).toBe(true);
    await Bun.sleep(300);
    expect(c.overloaded()).toBe(false);
  } finally {
    c.stopLagMonitor();
  }
});

test("retry-after is jittered between 1 and 5 seconds", () => {
  const c = ctx(100);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const r = c.retryAfterMs();
    expect(r).toBeGreaterThanOrEqual(1000);
    expect(r).toBeLessThan(5000);
    seen.add(Math.floor(r / 1000));
  }
  expect(seen.size).toBeGreaterThan(2);
});
