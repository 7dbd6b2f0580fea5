import { expect, test } from "bun:test";
import { RateLimiter } from "./rate-limit.ts";

test("allows exactly the burst, then asks to wait about 1/rate", () => {
  const r = new RateLimiter(300, 100);
  let allowed = 0;
  for (let i = 0; i < 301; i++) if (r.take("d", 0) === 0) allowed++;
  expect(allowed).toBe(300);
  const wait = r.take("d", 0);
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(10);
});

test("refills over time and per device", () => {
  const r = new RateLimiter(2, 10);
  expect(r.take("a", 0)).toBe(0);
  expect(r.take("a", 0)).toBe(0);
  expect(r.take("a", 0)).toBe(100);
  expect(r.take("b", 0)).toBe(0); // other devices are not affected
  expect(r.take("a", 100)).toBe(0); // 100 ms at 10/s = one token
  expect(r.take("a", 100)).toBeGreaterThan(0);
});

test("sweep forgets only full buckets", () => {
  const r = new RateLimiter(2, 10);
  r.take("a", 0);
  r.sweep(50);
  expect(r.take("a", 50)).toBe(0);
  expect(r.take("a", 50)).toBeGreaterThan(0); // bucket was kept: a half-used one is not forgotten
});
