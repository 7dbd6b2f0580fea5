import { describe, expect, test } from "bun:test";
import { NatterError } from "../../protocol/index.ts";
import { AuthThrottle } from "./throttle.ts";

const req = (ip: string) => Object.assign(new Request("http://x/api/login"), { ip });
const throttleAt = (o: { burst: number; perMin: number; lockoutMs: number; maxKeys?: number }) => {
  const t = new AuthThrottle(o);
  t.server = { requestIP: (r) => ({ address: (r as unknown as { ip: string }).ip }) };
  return t;
};
const refusal = (f: () => void): NatterError | null => {
  try {
    f();
    return null;
  } catch (e) {
    return e as NatterError;
  }
};

describe("AuthThrottle", () => {
  test("burst failures are allowed; the next check is rate_limited until the lockout ends", () => {
    const t = throttleAt({ burst: 3, perMin: 1, lockoutMs: 10_000 });
    const keys = t.keys(req("1.2.3.4"));
    t.fail(keys, 0);
    t.fail(keys, 0);
    expect(refusal(() => t.check(keys, 0))).toBeNull();
    t.fail(keys, 0);
    const e = refusal(() => t.check(keys, 1_000));
    expect(e?.code).toBe("rate_limited");
    expect(e?.retryAfterMs).toBe(9_000);
    expect(refusal(() => t.check(keys, 10_000))).toBeNull();
    expect(refusal(() => t.check(t.keys(req("5.6.7.8")), 1_000))).toBeNull(); // another address
  });

  test("failures are earned back at perMin", () => {
    const t = throttleAt({ burst: 2, perMin: 60, lockoutMs: 10_000 });
    const keys = t.keys(req("1.2.3.4"));
    for (let i = 0; i < 100; i++) t.fail(keys, i * 1_000); // one a second, as fast as they come back
    expect(refusal(() => t.check(keys, 100_000))).toBeNull();
  });

  test("a login-code prefix is a key of its own, whatever the address (spelling normalised)", () => {
    const t = throttleAt({ burst: 2, perMin: 1, lockoutMs: 10_000 });
    t.fail(t.keys(req("1.1.1.1"), "abcd-1111-2222"), 0);
    t.fail(t.keys(req("2.2.2.2"), "ABCD 3333 4444"), 0);
    expect(refusal(() => t.check(t.keys(req("3.3.3.3"), "ABCD-5555-6666"), 1))?.code).toBe("rate_limited");
    expect(refusal(() => t.check(t.keys(req("3.3.3.3"), "EFGH-5555-6666"), 1))).toBeNull();
  });

  test("guard counts only unauthorized failures and runs nothing while locked", async () => {
    const t = throttleAt({ burst: 1, perMin: 1, lockoutMs: 60_000 });
    const r = req("9.9.9.9");
    await expect(t.guard(r, undefined, async () => Promise.reject(new NatterError("bad_request", "x")))).rejects.toThrow("x");
    await expect(t.guard(r, undefined, async () => Promise.reject(new NatterError("unauthorized", "no")))).rejects.toThrow("no");
    let ran = false;
    const e = await t.guard(r, undefined, async () => (ran = true)).catch((x) => x);
    expect((e as NatterError).code).toBe("rate_limited");
    expect(ran).toBe(false);
  });

  test("memory stays bounded: past maxKeys the oldest keys are forgotten", () => {
    const t = throttleAt({ burst: 5, perMin: 1, lockoutMs: 60_000, maxKeys: 1_000 });
    for (let i = 0; i < 50_000; i++) t.fail(t.keys(req(`10.0.${i >> 8}.${i & 255}`)), 0);
    expect(t.size).toBeLessThanOrEqual(1_000);
    t.sweep(10 * 60_000);
    expect(t.size).toBe(0);
  });
});
