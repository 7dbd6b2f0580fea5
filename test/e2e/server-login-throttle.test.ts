// Failed authentications are throttled per client address: failed logins, bad
// tokens on HTTP and at the websocket upgrade, bad admin and metrics tokens.
// A refused attempt does no work (no write on the writer thread). /metrics needs
// the admin token or the metrics token.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { addUser, makeUser, startServer, tempDir, type TestServer } from "../harness.ts";
import { RawWs } from "./server-helpers.ts";

const started: TestServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.cleanup();
});
/** A server at the throttle's defaults unless `env` says otherwise (the harness raises the burst for other files). */
async function server(env: Record<string, string> = {}, args: string[] = []): Promise<TestServer> {
  const s = await startServer({ env: { NATTER_LOGIN_FAILURE_BURST: "20", ...env }, args });
  started.push(s);
  return s;
}

async function login(s: TestServer, code: string) {
  const res = await fetch(s.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, device: "d" }) });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as any };
}

const WRONG = (i: number) => `ZZZZ-ZZZZ-${String(i).padStart(4, "2")}`;

async function commits(s: TestServer): Promise<number> {
  const text = await (await fetch(s.url + "/metrics", { headers: { authorization: `Bearer ${s.adminToken}` } })).text();
  return Number(text.match(/^natter_commit_batch_size_count (\d+)$/m)?.[1] ?? 0);
}

describe("failed logins", () => {
  test("a user who mistypes their code a few times still logs in (defaults)", async () => {
    const s = await server();
    const { code } = await addUser(s, "Typo", "+447700900001");
    for (let i = 0; i < 5; i++) expect((await login(s, WRONG(i))).status).toBe(401);
    const ok = await login(s, code);
    expect(ok.status).toBe(200);
    expect(typeof ok.body.token).toBe("string");
  }, 30_000);

  test("past the burst an address is refused: 429 rate_limited with retry_after_ms and Retry-After, even for a valid code", async () => {
    const s = await server({ NATTER_LOGIN_FAILURES_PER_MIN: "1" }, ["--login-lockout-ms", "600000"]); // refill too slow to matter on a busy machine
    const { code } = await addUser(s, "Victim", "+447700900002");
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login(s, WRONG(i))).status);
    expect(statuses.slice(0, 19)).toEqual(Array(19).fill(401));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
    const refused = await login(s, code);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    expect(refused.body.error.retry_after_ms).toBeGreaterThan(500_000);
    expect(Number(refused.retryAfter)).toBeGreaterThan(500);
  }, 30_000);

  test("refused attempts cost no commit on the writer thread", async () => {
    const s = await server({ NATTER_LOGIN_FAILURE_BURST: "3", NATTER_LOGIN_FAILURES_PER_MIN: "1" }, ["--login-lockout-ms", "600000"]);
    for (let i = 0; i < 3; i++) await login(s, WRONG(i));
    expect((await login(s, WRONG(99))).status).toBe(429);
    const before = await commits(s);
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => login(s, WRONG(i + 100))));
    expect(answers.every((a) => a.status === 429)).toBe(true);
    expect(await commits(s)).toBe(before);
  }, 30_000);

  test("the lockout ends: after --login-lockout-ms a valid code logs in", async () => {
    const s = await server({ NATTER_LOGIN_FAILURE_BURST: "2", NATTER_LOGIN_FAILURES_PER_MIN: "1" }, ["--login-lockout-ms", "1000"]);
    const { code } = await addUser(s, "Later", "+447700900003");
    await login(s, WRONG(1));
    await login(s, WRONG(2));
    const r = await login(s, code);
    expect(r.status).toBe(429);
    await Bun.sleep(r.body.error.retry_after_ms + 50); // the server named the wait
    expect((await login(s, code)).status).toBe(200);
  }, 30_000);
});

describe("bad tokens", () => {
  test("bad-token HTTP calls and websocket upgrades lock the address out; upgrades then get 429", async () => {
    const s = await server({ NATTER_LOGIN_FAILURE_BURST: "4", NATTER_LOGIN_FAILURES_PER_MIN: "1" }, ["--login-lockout-ms", "600000"]);
    const good = await makeUser(s, "Good");
    for (let i = 0; i < 2; i++) expect((await fetch(s.url + "/api/chats", { headers: { authorization: "Bearer nt_forged" + i } })).status).toBe(401);
    for (let i = 0; i < 2; i++) {
      const ws = await RawWs.open(s, `/ws?token=nt_forged_ws${i}`);
      expect(ws.response?.status).toBe(401);
      ws.destroy();
    }
    const ws = await RawWs.open(s, `/ws?token=${good.token}`);
    try {
      expect(ws.response?.status).toBe(429);
    } finally {
      ws.destroy();
    }
    const http = await fetch(s.url + "/api/chats", { headers: { authorization: `Bearer ${good.token}` } });
    expect(http.status).toBe(429);
    expect(((await http.json()) as any).error.code).toBe("rate_limited");
  }, 30_000);
});

describe("/metrics", () => {
  test("needs the admin token or the metrics token; a user token is refused", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mt"), "file-metrics-token-0123456789\n");
    const s = await server({ NATTER_METRICS_TOKEN: "env-metrics-token-0123456789" }, ["--metrics-token-file", join(dir, "mt")]);
    const u = await makeUser(s, "Nosy");
    const get = (t?: string) => fetch(s.url + "/metrics", t ? { headers: { authorization: `Bearer ${t}` } } : {});
    const none = await get();
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe("unauthorized");
    expect((await get(u.token)).status).toBe(401);
    expect((await get("env-metrics-token-012345678")).status).toBe(401);
    for (const t of [s.adminToken, "env-metrics-token-0123456789", "file-metrics-token-0123456789"]) {
      const r = await get(t);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("natter_connections");
    }
  }, 30_000);
});
