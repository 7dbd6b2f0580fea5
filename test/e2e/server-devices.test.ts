// Self-service devices on a real server: linkDevice codes (single use, short
// TTL, bounded per user), listDevices (own only), revokeDevice (own only,
// closes sockets at once) and the `device` event to the user's other devices.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DeviceEvent } from "../../src/protocol/index.ts";
import { api, makeUser, startServer, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { expectError, expectHttpError, expectTokenRefused, freshCode } from "./server-helpers.ts";

const T = 20_000;
const MAX_CODES = 3;
const TTL_MS = 60_000;

let server: TestServer;
const open: WsClient[] = [];
const connect = async (u: TestUser) => {
  const c = await WsClient.connect(server, u.token);
  open.push(c);
  return c;
};

beforeAll(async () => {
  server = await startServer({ args: ["--link-code-ttl-ms", String(TTL_MS), "--max-link-codes", String(MAX_CODES)] });
});
afterAll(async () => {
  for (const c of open) c.close();
  await server?.cleanup();
});

async function loginRaw(srv: TestServer, code: string, device = "new-device") {
  const res = await fetch(srv.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, device }) });
  return { status: res.status, body: (await res.json()) as any };
}

/** Links a new device for `u` over the HTTP mirror and logs it in. */
async function linkNew(u: TestUser, name: string): Promise<TestUser> {
  const r = await api(server, u.token, "linkDevice");
  expect(r.status).toBe(200);
  const l = await loginRaw(server, r.body.code, name);
  expect(l.status).toBe(200);
  return { user: l.body.user, token: l.body.token, deviceId: l.body.device.id };
}

/** A user with a phone and a second device linked, each with a socket open; `ma` marks the phone's inbox. */
async function twoDevices(name: string, second: string) {
  const a = await makeUser(server, name, "phone");
  const a2 = await linkNew(a, second);
  const wa = await connect(a);
  const w2 = await connect(a2);
  return { a, a2, wa, w2, ma: wa.mark() };
}

const isDeviceEv = (action: string, device?: string) => (e: any) => e.ev === "device" && e.action === action && (device === undefined || e.device.id === device);

describe("linkDevice", () => {
  test("a link code logs in a new device of the same user, once; the user's other devices hear of it, nobody else", async () => {
    const a = await makeUser(server, "Ann", "phone");
    const other = await makeUser(server, "Oz");
    const wa = await connect(a);
    const wa2 = await connect(a); // a second socket of the same device also hears
    const wo = await connect(other);
    const mo = wo.mark();

    const before = Date.now();
    const r = await wa.call("linkDevice");
    expect(r.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(r.expires_at).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(r.expires_at).toBeLessThanOrEqual(Date.now() + TTL_MS);

    const l = await loginRaw(server, r.code.toLowerCase().replace(/-/g, " "), "laptop"); // typed loosely, as people do
    expect(l.status).toBe(200);
    expect(l.body.user.id).toBe(a.user.id);
    expect(l.body.device.name).toBe("laptop");
    expect(l.body.device.id).not.toBe(a.deviceId);

    const ev = await wa.event<DeviceEvent>(isDeviceEv("linked", l.body.device.id), 5000, "linked event");
    expect(ev).toEqual({ ev: "device", user: a.user.id, action: "linked", device: l.body.device });
    await wa2.event(isDeviceEv("linked", l.body.device.id), 5000, "linked event on the second socket");

    // Single use.
    expectHttpError(await loginRaw(server, r.code), 401, "unauthorized");

    // Someone else got nothing: a message Ann sends Oz afterwards arrives, with no device event before it.
    const sent = await wa.call("sendMessage", { to: other.user.id, client_id: "after-link", type: "text", content: "hi" });
    await wo.event((e: any) => e.ev === "message" && e.message.id === sent.message.id, 5000, "message to Oz");
    expect(wo.eventsSince(mo, (e) => e.ev === "device")).toEqual([]);
  }, T);

  test("a login with the operator's code is announced the same way", async () => {
    const a = await makeUser(server, "Bea");
    const wa = await connect(a);
    const l = await loginRaw(server, await freshCode(server, a.user.id), "tablet");
    expect(l.status).toBe(200);
    await wa.event(isDeviceEv("linked", l.body.device.id), 5000, "linked event for an admin code");
  }, T);

  test(`at most ${MAX_CODES} outstanding codes per user: one more is rate_limited; a used code frees its slot; other users are not affected`, async () => {
    const a = await makeUser(server, "Cal");
    const codes: string[] = [];
    for (let i = 0; i < MAX_CODES; i++) {
      const r = await api(server, a.token, "linkDevice");
      expect(r.status).toBe(200);
      codes.push(r.body.code);
    }
    const over = await api(server, a.token, "linkDevice");
    expectHttpError(over, 429, "rate_limited");
    expect(over.body.error.retry_after_ms).toBeGreaterThan(0);
    expect(over.body.error.retry_after_ms).toBeLessThanOrEqual(TTL_MS);

    // The refused call made no code: the earlier ones still work, and using one frees a slot.
    expect((await loginRaw(server, codes[0]!)).status).toBe(200);
    expect((await api(server, a.token, "linkDevice")).status).toBe(200);
    expectHttpError(await api(server, a.token, "linkDevice"), 429, "rate_limited");

    const b = await makeUser(server, "Dot");
    expect((await api(server, b.token, "linkDevice")).status).toBe(200);
  }, T);

  test("concurrent requests cannot pass the bound", async () => {
    const a = await makeUser(server, "Eli");
    const wa = await connect(a);
    const ids = Array.from({ length: MAX_CODES + 3 }, () => wa.send("linkDevice"));
    const replies = await Promise.all(ids.map((id) => wa.reply(id)));
    expect(replies.filter((r) => r.ok)).toHaveLength(MAX_CODES);
    for (const r of replies.filter((r) => !r.ok)) expectError(r, "rate_limited");
  }, T);
});

describe("link codes expire", () => {
  let short: TestServer;
  beforeAll(async () => {
    short = await startServer({ args: ["--link-code-ttl-ms", "200", "--max-link-codes", "1"] });
  });
  afterAll(async () => {
    await short?.cleanup();
  });

  test("a code past expires_at is 401, and an expired code no longer counts against the bound", async () => {
    const a = await makeUser(short, "Fox");
    const r = await api(short, a.token, "linkDevice");
    expect(r.status).toBe(200);
    expectHttpError(await api(short, a.token, "linkDevice"), 429, "rate_limited");
    // Same clock as the server: once it has passed expires_at, the server's has too.
    while (Date.now() <= r.body.expires_at) await Bun.sleep(10);
    expectHttpError(await loginRaw(short, r.body.code), 401, "unauthorized");
    const again = await api(short, a.token, "linkDevice");
    expect(again.status).toBe(200);
    expect(again.body.code).not.toBe(r.body.code);
  }, T);
});

describe("listDevices", () => {
  test("lists only the caller's own devices, oldest first, marking the current one", async () => {
    const a = await makeUser(server, "Gus", "phone");
    const made = Date.now(); // the phone was created by now: the laptop comes a millisecond later at least
    while (Date.now() <= made) await Bun.sleep(1);
    const a2 = await linkNew(a, "laptop");
    const b = await makeUser(server, "Hex");
    await linkNew(b, "b-laptop");

    const fromPhone = await api(server, a.token, "listDevices");
    expect(fromPhone.status).toBe(200);
    expect(fromPhone.body.devices.map((d: any) => [d.id, d.name, d.current])).toEqual([
      [a.deviceId, "phone", true],
      [a2.deviceId, "laptop", false],
    ]);
    for (const d of fromPhone.body.devices) expect(typeof d.created_at).toBe("number");
    const fromLaptop = await api(server, a2.token, "listDevices");
    expect(fromLaptop.body.devices.map((d: any) => [d.id, d.current])).toEqual([
      [a.deviceId, false],
      [a2.deviceId, true],
    ]);
  }, T);
});

describe("revokeDevice", () => {
  test("someone else's device is not_found and nothing changes; an unknown id too; a missing id is bad_request", async () => {
    const a = await makeUser(server, "Ivo");
    const b = await makeUser(server, "Jas");
    const wb = await connect(b);
    const mb = wb.mark();
    expectHttpError(await api(server, a.token, "revokeDevice", { device: b.deviceId }), 404, "not_found");
    expectHttpError(await api(server, a.token, "revokeDevice", { device: "dv_nosuchdevice" }), 404, "not_found");
    expectHttpError(await api(server, a.token, "revokeDevice", {}), 400, "bad_request");
    // Jas's device still works, live and over HTTP, and heard of nothing.
    expect((await wb.call("ping")).ok).toBe(true);
    expect(wb.closed).toBeNull();
    expect((await api(server, b.token, "listDevices")).body.devices.map((d: any) => d.id)).toEqual([b.deviceId]);
    expect(wb.eventsSince(mb, (e) => e.ev === "device")).toEqual([]);
  }, T);

  test("revoking another own device closes its sockets at once with 4401, kills its token, and tells the others", async () => {
    const { a, a2, wa, w2, ma } = await twoDevices("Kim", "laptop");

    const r = await wa.call("revokeDevice", { device: a2.deviceId });
    expect(Object.keys(r).sort()).toEqual(["ok", "re"]);
    const closed = await w2.waitClosed(3000);
    expect(closed.code).toBe(4401);
    const ev = await wa.event<DeviceEvent>(isDeviceEv("revoked", a2.deviceId), 5000, "revoked event", ma);
    expect(ev.device).toMatchObject({ id: a2.deviceId, name: "laptop" });
    // The revoked device's socket was closed before the event went out.
    expect(w2.events.filter((e) => e.ev === "device" && e.action === "revoked")).toEqual([]);

    expectHttpError(await api(server, a2.token, "getAll"), 401, "unauthorized");
    await expectTokenRefused(server, a2.token);
    expect((await wa.call("listDevices")).devices.map((d: any) => d.id)).toEqual([a.deviceId]);
    // Revoking it again: it is gone.
    expectError(await wa.request("revokeDevice", { device: a2.deviceId }), "not_found");
  }, T);

  test("a device may revoke itself: the reply arrives, then its socket closes with 4401", async () => {
    const { a, a2, wa, w2, ma } = await twoDevices("Lou", "old-laptop");
    const w2b = await connect(a2); // another socket of the same device
    const r = await w2.request("revokeDevice", { device: a2.deviceId });
    expect(r.ok).toBe(true);
    expect((await w2.waitClosed(3000)).code).toBe(4401);
    expect((await w2b.waitClosed(3000)).code).toBe(4401);
    for (const c of [w2, w2b]) expect(c.events.filter((e) => e.ev === "device")).toEqual([]);
    await wa.event(isDeviceEv("revoked", a2.deviceId), 5000, "revoked event", ma);
    expectHttpError(await api(server, a2.token, "ping"), 401, "unauthorized");
    expect((await api(server, a.token, "ping")).status).toBe(200);
  }, T);

  test("the link codes a revoked device made die with it", async () => {
    const a = await makeUser(server, "Max", "phone");
    const a2 = await linkNew(a, "stolen");
    const fromStolen = await api(server, a2.token, "linkDevice");
    const fromPhone = await api(server, a.token, "linkDevice");
    expect((await api(server, a.token, "revokeDevice", { device: a2.deviceId })).status).toBe(200);
    expectHttpError(await loginRaw(server, fromStolen.body.code), 401, "unauthorized");
    // Codes of the devices that remain still work.
    expect((await loginRaw(server, fromPhone.body.code)).status).toBe(200);
  }, T);
});
