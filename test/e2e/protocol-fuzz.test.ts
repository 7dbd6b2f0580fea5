// Protocol fuzzing (issue 13): generated and mutated frames at a live server, seeded and bounded
// (NATTER_FUZZ_SEED / NATTER_FUZZ_RUNS override; the seed is printed). The rules and generators
// are in test/support/protocol-fuzz.ts; `npm run soak -- --phase fuzz` runs the long form.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OP_NAMES, OP_SCHEMAS } from "../../src/protocol/schema.ts";
import { ERROR_STATUS } from "../../src/protocol/types.ts";
import { makeUser, startServer, type TestServer } from "../harness.ts";
import { documentedErrorCodes, judge, opParamPairs, runProtocolFuzz } from "../support/protocol-fuzz.ts";

const SEED = Number(process.env.NATTER_FUZZ_SEED ?? Date.now() % 1_000_000);
const RUNS = Number(process.env.NATTER_FUZZ_RUNS ?? 2000);
/** Flood-proof limits: the fuzz must reach the ops, not the per-device rate limit (proved below). */
const FUZZ_SERVER_ARGS = ["--rate-burst", "100000000", "--rate-per-sec", "100000000"];

describe("protocol fuzz", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: FUZZ_SERVER_ARGS });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  test("the generators cover every param of every op in the schema, and the error codes of docs/protocol.md", () => {
    const pairs = opParamPairs();
    for (const op of OP_NAMES) for (const p of Object.keys(OP_SCHEMAS[op])) expect(pairs).toContainEqual([op, p]);
    // Every code the protocol's types know is in the doc's table, and nothing else.
    expect([...documentedErrorCodes()].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  test("the judge refuses what it must: internal, a wrong re, an undocumented code, a stack, ok where an error was due", () => {
    const codes = documentedErrorCodes();
    const f = { kind: "t", data: "", re: 1 };
    const err = (code: string, message = "m") => ({ re: 1, ok: false, error: { code, message } });
    expect(judge(f, { re: 1, ok: true }, codes)).toBeNull();
    expect(judge(f, err("forbidden"), codes)).toBeNull();
    expect(judge(f, err("internal"), codes)).toContain("internal");
    expect(judge(f, err("teapot"), codes)).toContain("undocumented");
    expect(judge(f, err("bad_request", "at foo (/app/src/x.ts:3:1)"), codes)).toContain("stack");
    expect(judge(f, err("rate_limited"), codes)).toContain("retry_after_ms");
    expect(judge(f, { re: 2, ok: true }, codes)).toContain("re 2");
    expect(judge({ ...f, expectCode: "bad_request" }, { re: 1, ok: true }, codes)).toContain("wanted bad_request");
  });

  test(
    `seeded fuzz (seed ${SEED}, ${RUNS} runs): every frame answered with a valid reply or a documented error; socket, server and canary unharmed`,
    async () => {
      const r = await runProtocolFuzz({ server, seed: SEED, runs: RUNS, log: (l) => console.log(`[fuzz seed ${SEED}] ${l}`) });
      console.log(
        `[fuzz seed ${SEED}] ${r.frames} frames, kinds ${JSON.stringify(r.kinds)}, canary ${r.canarySent} messages, ${r.violations.length} violations` +
          ` (rerun: NATTER_FUZZ_SEED=${SEED} NATTER_FUZZ_RUNS=${RUNS})`,
      );
      for (const v of r.violations.slice(0, 5)) console.log(`[fuzz seed ${SEED}] VIOLATION ${v.slice(0, 3000)}`);
      expect(r.violations.slice(0, 20)).toEqual([]);
      expect(r.frames).toBeGreaterThanOrEqual(RUNS);
      expect(r.canarySent).toBeGreaterThan(0);
      // Both paths were exercised: ops that ran and ops refused at validation.
      expect(r.outcomes.ok ?? 0).toBeGreaterThan(0);
      expect(r.outcomes.bad_request ?? 0).toBeGreaterThan(0);
    },
    120_000,
  );
});

describe("the rate limit during a flood", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--rate-burst", "5", "--rate-per-sec", "1"] });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  test("past the burst, frames get rate_limited as a proper reply (re, message, retry_after_ms); the socket stays open", async () => {
    const u = await makeUser(server, "Flooder");
    const ws = new WebSocket(`${server.wsUrl}?token=${u.token}`);
    const replies: any[] = [];
    let closed = false;
    ws.onclose = () => (closed = true);
    await new Promise<void>((res) => {
      ws.onmessage = (e) => {
        const f = JSON.parse(String(e.data));
        if (f.ev === "hello") for (let i = 0; i < 30; i++) ws.send(JSON.stringify({ id: `f${i}`, op: i % 2 ? "ping" : "getAll" }));
        if ("re" in f) replies.push(f);
        if (replies.length === 30) res();
      };
    });
    expect(replies.map((r) => r.re)).toEqual(Array.from({ length: 30 }, (_, i) => `f${i}`));
    const limited = replies.filter((r) => !r.ok);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.error.code).toBe("rate_limited");
      expect(typeof r.error.message).toBe("string");
      expect(r.error.retry_after_ms).toBeGreaterThan(0);
      expect(judge({ kind: "ping", data: "", re: r.re }, r, documentedErrorCodes())).toBeNull();
    }
    expect(closed).toBe(false);
    ws.close();
  });
});
