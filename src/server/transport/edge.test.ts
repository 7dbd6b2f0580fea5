import { expect, test } from "bun:test";
import { RateLimiter } from "../domain/rate-limit.ts";
import { Metrics } from "../metrics.ts";
import { Edge, type EdgeDeps } from "./edge.ts";

// Only admission is exercised; authentication and dispatch are never reached.
const ctx = (overloadLagMs: number, limiter = new RateLimiter(300, 100)) =>
  new Edge({ overloadLagMs, limiter, metrics: new Metrics() } as EdgeDeps);

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

const codeOf = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as { code: string }).code;
  }
};

test("admit: a device past its rate is rate_limited, another device is not; draining refuses everyone", () => {
  const edge = ctx(100, new RateLimiter(2, 1));
  const a = { user: "u1", device: "d1" };
  expect(codeOf(() => edge.admit(a))).toBeNull();
  expect(codeOf(() => edge.admit(a))).toBeNull();
  expect(codeOf(() => edge.admit(a))).toBe("rate_limited");
  expect(codeOf(() => edge.admit({ user: "u1", device: "d2" }))).toBeNull();
  edge.draining = true;
  expect(codeOf(() => edge.admit({ user: "u2", device: "d3" }))).toBe("unavailable");
});

test("admitConnection: refused at the connection limit and while draining, admitted below it", () => {
  const edge = ctx(100);
  expect(codeOf(() => edge.admitConnection(9, 10))).toBeNull();
  expect(codeOf(() => edge.admitConnection(10, 10))).toBe("unavailable");
  edge.draining = true;
  expect(codeOf(() => edge.admitConnection(0, 10))).toBe("unavailable");
});
