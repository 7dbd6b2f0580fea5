// Accounts, login codes, device tokens and websocket authentication.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { adminFetch, addDevice, api, makeUser, startServer, WsClient, type TestServer } from "../harness.ts";
import { expectHttpError, expectTokenRefused, freshCode, RawWs, sleep } from "./server-helpers.ts";

let server: TestServer;
const open: WsClient[] = [];
const track = (c: WsClient) => (open.push(c), c);

beforeAll(async () => {
  server = await startServer({ args: ["--login-code-ttl-ms", "1500"] });
});
afterAll(async () => {
  for (const c of open) c.close();
  await server?.cleanup();
});

async function httpJson(path: string) {
  const res = await fetch(server.url + path);
  return { status: res.status, body: (await res.json()) as any };
}

async function loginRaw(code: unknown, device: unknown = "phone") {
  const res = await fetch(server.url + "/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, device }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("login codes", () => {
  test("login exchanges a code for a device token with user and device", async () => {
    const res = await adminFetch(server, "POST", "/admin/users", { name: "Ada", phone: "+44700000001" });
    expect([200, 201]).toContain(res.status);
    const created = (await res.json()) as any;
    expect(created.user).toMatchObject({ name: "Ada", phone: "+44700000001" });
    expect(typeof created.user.id).toBe("string");
    expect(typeof created.code).toBe("string");

    const l = await loginRaw(created.code, "laptop");
    expect(l.status).toBe(200);
    expect(typeof l.body.token).toBe("string");
    expect(l.body.user).toMatchObject({ id: created.user.id, name: "Ada", phone: "+44700000001" });
    expect(l.body.device.name).toBe("laptop");
    expect(typeof l.body.device.id).toBe("string");
  }, 15_000);

  test("a code works once: reuse is 401 unauthorized", async () => {
    const res = await adminFetch(server, "POST", "/admin/users", { name: "Bo", phone: "+44700000002" });
    const { code } = (await res.json()) as any;
    expect((await loginRaw(code)).status).toBe(200);
    const again = await loginRaw(code);
    expectHttpError(again, 401, "unauthorized");
  }, 15_000);

  test("a wrong code is 401 unauthorized; a malformed login body is 400", async () => {
    expectHttpError(await loginRaw("definitely-not-a-code"), 401, "unauthorized");
    const res = await fetch(server.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("bad_request");
    expectHttpError(await loginRaw(undefined), 400, "bad_request");
  }, 15_000);

  test("login codes expire (--login-code-ttl-ms)", async () => {
    const res = await adminFetch(server, "POST", "/admin/users", { name: "Cy", phone: "+44700000003" });
    const { code } = (await res.json()) as any;
    await sleep(2000);
    expectHttpError(await loginRaw(code), 401, "unauthorized");
  }, 15_000);

  test("each device has its own token; both work", async () => {
    const a = await makeUser(server, "Dee");
    const a2 = await addDevice(server, a.user.id, "tablet");
    expect(a2.token).not.toBe(a.token);
    expect(a2.deviceId).not.toBe(a.deviceId);
    expect(a2.user.id).toBe(a.user.id);
    expect((await api(server, a.token, "ping")).status).toBe(200);
    expect((await api(server, a2.token, "ping")).status).toBe(200);
  }, 15_000);

  test("admin.token exists with mode 0600", () => {
    const st = statSync(join(server.dataDir, "admin.token"));
    expect(st.mode & 0o777).toBe(0o600);
    expect(server.adminToken.length).toBeGreaterThan(10);
  });
});

describe("websocket authentication", () => {
  test("hello is the first frame, with user, device, heartbeat_ms and protocol", async () => {
    const a = await makeUser(server, "Eve", "desk");
    const c = track(await WsClient.connect(server, a.token));
    const hello = c.events[0] as any;
    expect(hello.ev).toBe("hello");
    expect(hello.user).toMatchObject({ id: a.user.id, name: "Eve", phone: a.user.phone });
    expect(hello.device).toMatchObject({ id: a.deviceId, name: "desk" });
    expect(hello.heartbeat_ms).toBe(25000);
    expect(hello.protocol).toBe(1);
    expect(c.replies.size).toBe(0);
  }, 15_000);

  test("an Authorization: Bearer header works for the websocket", async () => {
    const a = await makeUser(server, "Fay");
    const c = track(await WsClient.connect(server, a.token, { header: true }));
    expect((c.events[0] as any).user.id).toBe(a.user.id);
    const r = await c.call("ping");
    expect(typeof r.at).toBe("number");
  }, 15_000);

  for (const [label, path, headers] of [
    ["no token", "/ws", {}],
    ["a wrong ?token", "/ws?token=wrong-token", {}],
    ["a wrong Bearer header", "/ws", { Authorization: "Bearer wrong-token" }],
  ] as Array<[string, string, Record<string, string>]>) {
    test(`${label}: refused with 401 at the upgrade (or closed 4401) and never gets hello`, async () => {
      const raw = await RawWs.open(server, path, headers);
      try {
        if (raw.response?.status === 101) {
          await raw.until(() => raw.isClosed(), 5000, "close");
          expect(raw.closeCode()).toBe(4401);
          expect(raw.texts().filter((f) => f.ev === "hello")).toEqual([]);
        } else {
          expect(raw.response?.status).toBe(401);
        }
      } finally {
        raw.destroy();
      }
    }, 15_000);
  }

  test("the upgrade's 401 is a JSON unauthorized error, counted as a refused connection", async () => {
    const metric = async () => {
      const text = await (await fetch(server.url + "/metrics", { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
      return Number(/natter_connections_refused_total\{reason="unauthorized"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await metric();
    const raw = await RawWs.open(server, "/ws?token=wrong-token");
    try {
      expect(raw.response?.status).toBe(401);
      expect(raw.response?.headers["content-type"]).toBe("application/json");
      const body = JSON.parse(await raw.fullBody());
      expect(body).toEqual({ ok: false, error: { code: "unauthorized", message: "invalid or revoked token", request_id: raw.response?.headers["x-request-id"] } });
    } finally {
      raw.destroy();
    }
    expect(await metric()).toBe(before + 1);
  }, 15_000);

  test("/ws/ upgrades like /ws; /ws without an upgrade is 404 not_found", async () => {
    const a = await makeUser(server, "Path");
    const raw = await RawWs.open(server, `/ws/?token=${encodeURIComponent(a.token)}`);
    try {
      expect(raw.response?.status).toBe(101);
      await raw.until(() => raw.texts().some((f) => f.ev === "hello"), 5000, "hello");
    } finally {
      raw.destroy();
    }
    expectHttpError(await httpJson(`/ws?token=${encodeURIComponent(a.token)}`), 404, "not_found");
  }, 15_000);
});

describe("HTTP authentication", () => {
  test("missing or wrong token is HTTP 401 unauthorized", async () => {
    const none = await fetch(server.url + "/api/ping", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe("unauthorized");
    expectHttpError(await api(server, "wrong-token", "getAll"), 401, "unauthorized");
    const chats = await fetch(server.url + "/api/chats");
    expect(chats.status).toBe(401);
  }, 15_000);

  test("admin routes accept only the admin token", async () => {
    const a = await makeUser(server, "Gil");
    const noAuth = await fetch(server.url + "/admin/users");
    expect([401, 403]).toContain(noAuth.status);
    const userTok = await fetch(server.url + "/admin/users", { headers: { authorization: `Bearer ${a.token}` } });
    expect([401, 403]).toContain(userTok.status);
    const ok = await adminFetch(server, "GET", "/admin/users");
    expect(ok.status).toBe(200);
    // The admin token is not a user token.
    expectHttpError(await api(server, server.adminToken, "getAll"), 401, "unauthorized");
  }, 15_000);
});

describe("device revocation", () => {
  test("revoking a device closes its sockets at once with 4401; its token stops working; other devices unaffected", async () => {
    const a = await makeUser(server, "Hal", "phone");
    const a2 = await addDevice(server, a.user.id, "laptop");
    const b = await makeUser(server, "Ivy");
    const c1 = track(await WsClient.connect(server, a.token));
    const c1b = track(await WsClient.connect(server, a.token));
    const c2 = track(await WsClient.connect(server, a2.token));
    const cb = track(await WsClient.connect(server, b.token));

    const devs = await adminFetch(server, "GET", `/admin/users/${a.user.id}/devices`);
    expect(devs.status).toBe(200);
    const list = ((await devs.json()) as any).devices as any[];
    expect(list.map((d) => d.id).sort()).toEqual([a.deviceId, a2.deviceId].sort());

    const t0 = Date.now();
    const del = await adminFetch(server, "DELETE", `/admin/devices/${a.deviceId}`);
    expect([200, 204]).toContain(del.status);
    const [x, y] = await Promise.all([c1.waitClosed(3000), c1b.waitClosed(3000)]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(x.code).toBe(4401);
    expect(y.code).toBe(4401);

    expectHttpError(await api(server, a.token, "getAll"), 401, "unauthorized");
    await expectTokenRefused(server, a.token);

    // The other device still works, live and over HTTP.
    expect(c2.closed).toBeNull();
    const m2 = c2.mark();
    const sent = await cb.call("sendMessage", { to: a.user.id, client_id: "rv-1", type: "text", content: "still there?" });
    const ev = await c2.event((e: any) => e.ev === "message" && e.message.id === sent.message.id, 5000, "message on the surviving device", m2);
    expect((ev as any).message.content).toBe("still there?");
    expect((await api(server, a2.token, "getAll")).status).toBe(200);
    const after = ((await (await adminFetch(server, "GET", `/admin/users/${a.user.id}/devices`)).json()) as any).devices as any[];
    expect(after.map((d) => d.id)).toEqual([a2.deviceId]);
  }, 20_000);

  test("a fresh code logs in another device after revocation", async () => {
    const a = await makeUser(server, "Jo");
    await adminFetch(server, "DELETE", `/admin/devices/${a.deviceId}`);
    const code = await freshCode(server, a.user.id);
    const res = await loginRaw(code, "new-phone");
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(a.user.id);
    const c = track(await WsClient.connect(server, res.body.token));
    expect((c.events[0] as any).device.name).toBe("new-phone");
  }, 15_000);

});
