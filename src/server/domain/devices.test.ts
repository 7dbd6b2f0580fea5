// Devices over a real SQLite store with a clock the test moves: the
// outstanding-code bound at its edge, expiry, the sweep, and what is
// announced to whom. (test/e2e/server-devices.test.ts drives the same rules
// through a real server.)
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeviceEvent } from "../../protocol/index.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { Accounts } from "./accounts.ts";
import { Devices } from "./devices.ts";
import type { Caller, ConnRef, Delivery } from "./ports.ts";

/** Records what the domain asks the transport to do. */
class RecordingDelivery implements Delivery {
  sent: Array<{ users: string[]; frame: unknown }> = [];
  closed: Array<{ device: string; code: number }> = [];
  toUsers(users: Iterable<string>, frame: string, _except?: ConnRef): void {
    this.sent.push({ users: [...users], frame: JSON.parse(frame) });
  }
  toChannel(): void {}
  isOnline(): boolean {
    return false;
  }
  closeDevice(device: string, code: number): void {
    this.closed.push({ device, code });
  }
  closeUser(): void {}
}

let dir: string;
let store: SqliteStore;
let delivery: RecordingDelivery;
let accounts: Accounts;
/** The test's clock; Accounts.login reads the wall clock, so it starts at the wall clock's time. */
let now = 0;
const TTL = 60_000;
const MAX = 2;
let devices: Devices;

beforeEach(() => {
  now = Date.now();
  dir = mkdtempSync(join(tmpdir(), "natter-devices-"));
  store = new SqliteStore({ dir, shards: 2, synchronous: "normal" });
  delivery = new RecordingDelivery();
  accounts = new Accounts(store, delivery, 3_600_000);
  devices = new Devices(store, delivery, { linkCodeTtlMs: TTL, maxLinkCodes: MAX }, () => now);
  accounts.onLogin = (d, code) => devices.loggedIn(d, code);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function userWithDevice(name: string, phone: string): Promise<Caller> {
  const { code } = await accounts.createUser(name, phone);
  const l = await accounts.login(code, `${name}-phone`);
  return { user: l.user.id, device: l.device.id };
}

test(`the ${MAX + 1}th outstanding code is rate_limited until the oldest expires; it made no code`, async () => {
  const a = await userWithDevice("ann", "+15550001");
  const first = await devices.link(a);
  now += 10_000;
  await devices.link(a);
  const err = await devices.link(a).catch((e) => e);
  expect(err).toMatchObject({ code: "rate_limited", retryAfterMs: first.expires_at - now });
  expect(devices.usersWithCodes).toBe(1);
  now = first.expires_at; // still valid at exactly expires_at
  expect(await devices.link(a).catch((e) => e)).toMatchObject({ code: "rate_limited", retryAfterMs: 1 });
  now = first.expires_at + 1;
  await devices.link(a);
});

test("the code logs in (once) as the caller's user, and frees its slot; every connection of the user hears of it", async () => {
  const a = await userWithDevice("bo", "+15550002");
  delivery.sent = [];
  const codes = [await devices.link(a), await devices.link(a)];
  const l = await accounts.login(codes[0]!.code, "tablet");
  expect(l.user.id).toBe(a.user);
  expect(await accounts.login(codes[0]!.code, "again").catch((e) => e)).toMatchObject({ code: "unauthorized" });
  await devices.link(a); // the used code's slot is free
  const ev: DeviceEvent = { ev: "device", user: a.user, action: "linked", device: l.device };
  expect(delivery.sent).toEqual([{ users: [a.user], frame: ev }]);
});

test("a code past its expiry is refused at login", async () => {
  const a = await userWithDevice("cy", "+15550003");
  now = Date.now() - TTL - 1; // made in the past: expired by the wall clock Accounts.login reads
  const { code, expires_at } = await devices.link(a);
  expect(expires_at).toBeLessThan(Date.now());
  expect(await accounts.login(code, "late").catch((e) => e)).toMatchObject({ code: "unauthorized" });
});

test("the sweep forgets expired codes of users who never link again", async () => {
  const a = await userWithDevice("di", "+15550004");
  const b = await userWithDevice("ed", "+15550005");
  const ra = await devices.link(a);
  now += 1000;
  await devices.link(b);
  devices.sweep();
  expect(devices.usersWithCodes).toBe(2);
  now = ra.expires_at + 1;
  devices.sweep();
  expect(devices.usersWithCodes).toBe(1);
  now += 1000;
  devices.sweep();
  expect(devices.usersWithCodes).toBe(0);
});

test("revoking: own devices only (not_found otherwise, nothing closed or sent); the revoked device's sockets close before the event", async () => {
  const a = await userWithDevice("fa", "+15550006");
  const b = await userWithDevice("gu", "+15550007");
  delivery.sent = [];
  expect(await devices.revoke(a, b.device).catch((e) => e)).toMatchObject({ code: "not_found" });
  expect(delivery.closed).toEqual([]);
  expect(delivery.sent).toEqual([]);
  expect((await devices.list(b)).map((d) => d.id)).toEqual([b.device]);

  const { code } = await devices.link(a);
  const tablet = await accounts.login(code, "tablet");
  delivery.sent = [];
  await devices.revoke(a, tablet.device.id);
  expect(delivery.closed).toEqual([{ device: tablet.device.id, code: 4401 }]);
  expect(delivery.sent).toEqual([{ users: [a.user], frame: { ev: "device", user: a.user, action: "revoked", device: tablet.device } }]);
  expect((await devices.list(a)).map((d) => [d.id, d.current])).toEqual([[a.device, true]]);
});
