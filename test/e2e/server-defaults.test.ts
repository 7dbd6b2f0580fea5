// Defaults that protect: no stack traces or internal paths in any response, a
// request id in every HTTP error (body and X-Request-Id), security headers on
// every HTTP response (no CSP on media downloads, whose type and disposition
// stay), CORS off unless --cors-origin, and no token or code in the log.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { addUser, api, login, makeUser, startServer, type TestServer, type TestUser } from "../harness.ts";
import { download, png, uploadOk } from "./media-helpers.ts";

setDefaultTimeout(30_000); // servers and CLI calls are slow on a loaded machine
let server: TestServer;
let cors: TestServer;
let u: TestUser;
beforeAll(async () => {
  [server, cors] = await Promise.all([startServer(), startServer({ args: ["--cors-origin", "https://chat.example.com"] })]);
  u = await makeUser(server, "Headers");
}, 60_000);
afterAll(async () => {
  await Promise.all([server?.cleanup(), cors?.cleanup()]);
});

const SECURITY = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
function expectSecurityHeaders(res: Response, csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"): void {
  for (const [k, v] of Object.entries(SECURITY)) expect(res.headers.get(k), k).toBe(v);
  expect(res.headers.get("content-security-policy")).toBe(csp);
}

/** Every way to make the HTTP side fail without a bug: each answer is an error with a request id and nothing internal. */
const failures: Array<[string, () => Promise<Response>]> = [
  ["unknown route", () => fetch(server.url + "/no/such/route")],
  ["unknown op", () => fetch(server.url + "/api/noSuchOp", { method: "POST", headers: { authorization: `Bearer ${u.token}` }, body: "{}" })],
  ["malformed JSON login", () => fetch(server.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" })],
  ["malformed JSON op", () => fetch(server.url + "/api/sendMessage", { method: "POST", headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" }, body: '{"to":' })],
  ["JSON array body", () => fetch(server.url + "/api/getAll", { method: "POST", headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" }, body: "[1,2]" })],
  ["wrong types", () => fetch(server.url + "/api/getMessages", { method: "POST", headers: { authorization: `Bearer ${u.token}` }, body: '{"channel":{"$gt":""},"limit":"x"}' })],
  ["no token", () => fetch(server.url + "/api/chats")],
  ["forged admin token", () => fetch(server.url + "/admin/users", { headers: { authorization: "Bearer nt_x" } })],
  ["path characters in an id", () => fetch(server.url + "/api/media/..%2F..%2Fadmin.token", { headers: { authorization: `Bearer ${u.token}` } })],
  ["wrong method", () => fetch(server.url + "/api/login", { method: "PUT", body: "{}" })],
  ["bad upgrade", () => fetch(server.url + "/ws?token=nt_bad", { headers: { upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "x", "sec-websocket-version": "13" } })],
];

describe("error responses", () => {
  for (const [what, call] of failures) {
    test(`${what}: an error with a request id in body and header, no stack trace or internal path`, async () => {
      const res = await call();
      expect(res.status).toBeGreaterThanOrEqual(400);
      const text = await res.text();
      const body = JSON.parse(text);
      expect(body.ok).toBe(false);
      expect(body.error.request_id).toMatch(/^[0-9a-f]{16}$/);
      expect(res.headers.get("x-request-id")).toBe(body.error.request_id);
      expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+|\/work\/|\/tmp\/|node_modules|Error:/);
      expect(text).not.toContain(server.dataDir);
    });
  }

  test("each error gets its own request id", async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await fetch(server.url + "/nope")).headers.get("x-request-id")));
    expect(new Set(ids).size).toBe(3);
  });
});

describe("security headers", () => {
  test("on JSON answers, errors and /healthz", async () => {
    expectSecurityHeaders(await fetch(server.url + "/healthz"));
    expectSecurityHeaders(await fetch(server.url + "/nope"));
    const ok = await fetch(server.url + "/api/chats", { headers: { authorization: `Bearer ${u.token}` } });
    expect(ok.status).toBe(200);
    expectSecurityHeaders(ok);
  });

  test("media downloads keep their type, Content-Disposition and their own sandbox CSP, with nosniff", async () => {
    const media = await uploadOk(server, u.token, png(4, 4), { "x-filename": "dot.png" });
    const res = await download(server, u.token, media.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition") ?? "").toContain("dot.png");
    expectSecurityHeaders(res, "default-src 'none'; sandbox"); // the media route's own (docs/media.md)
  });
});

describe("CORS", () => {
  test("off by default: no Access-Control headers, preflight refused", async () => {
    const res = await fetch(server.url + "/healthz", { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await fetch(server.url + "/api/sendMessage", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(404);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("--cors-origin allows that origin only", async () => {
    const ok = await fetch(cors.url + "/healthz", { headers: { origin: "https://chat.example.com" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://chat.example.com");
    expect(ok.headers.get("vary")).toBe("Origin");
    const other = await fetch(cors.url + "/healthz", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await fetch(cors.url + "/api/sendMessage", { method: "OPTIONS", headers: { origin: "https://chat.example.com", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
  });
});

describe("the log", () => {
  test("holds no login code, device token or admin token, whatever happened", async () => {
    const { code } = await addUser(server, "Logged", "+447700900123");
    await login(server, "WRONG-CODE-1234").catch(() => {});
    const l = await login(server, code);
    await api(server, l.token, "getAll");
    await api(server, l.token + "x", "getAll");
    await fetch(server.url + `/ws?token=${l.token}x`);
    const out = server.output();
    expect(out).toContain("listening");
    for (const secret of [code, code.replace(/-/g, ""), l.token, u.token, server.adminToken, "WRONG-CODE-1234"]) expect(out).not.toContain(secret);
  });
});
