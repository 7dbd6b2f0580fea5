import { describe, expect, test } from "bun:test";
import { backoffCeiling, fullJitterDelay } from "./backoff.ts";

describe("backoff", () => {
  test("ceiling doubles from base and stops at max", () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 50, 5000].map((a) => backoffCeiling(a, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  test("defaults are 500 ms base and a 5 s cap: a person waits seconds, whatever the outage", () => {
    expect([0, 1, 2, 3, 4, 100, Infinity].map((a) => backoffCeiling(a))).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(fullJitterDelay(1_000, { random: () => 0.999999 })).toBe(4999);
  });

  test("full jitter spans [0, ceiling)", () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect(fullJitterDelay(3, { ...o, random: () => 0 })).toBe(0);
    expect(fullJitterDelay(3, { ...o, random: () => 0.5 })).toBe(400);
    expect(fullJitterDelay(3, { ...o, random: () => 0.999999 })).toBe(799);
    expect(fullJitterDelay(20, { ...o, random: () => 0.999999 })).toBe(999);
  });

  test("random delays stay inside the bounds and actually vary", () => {
    const o = { baseMs: 50, maxMs: 2000 };
    for (let a = 0; a < 12; a++) {
      const ds = Array.from({ length: 200 }, () => fullJitterDelay(a, o));
      const ceil = backoffCeiling(a, o);
      for (const d of ds) {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceil);
      }
      expect(new Set(ds).size).toBeGreaterThan(10);
    }
  });

  test("negative or non-finite attempts are treated as the first", () => {
    expect(backoffCeiling(-3, { baseMs: 100 })).toBe(100);
    expect(backoffCeiling(Number.NaN, { baseMs: 100 })).toBe(100);
  });
});
