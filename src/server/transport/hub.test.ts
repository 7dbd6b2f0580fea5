import { expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import { Metrics } from "../metrics.ts";
import { Hub } from "./hub.ts";

/** A stand-in for Bun's socket that records what the hub asks of it. */
function fakeSocket(log: string[], name: string) {
  const rec = (what: string) => () => void log.push(`${name} ${what}`);
  return {
    subscribe: () => {},
    unsubscribe: () => {},
    publish: (topic: string) => void log.push(`${name} publish ${topic}`),
    close: (code: number) => void log.push(`${name} close ${code}`),
    terminate: rec("terminate"),
    ping: rec("ping"),
  } as unknown as ServerWebSocket<unknown>;
}

function hubWith(log: string[]): Hub {
  const hub = new Hub(new Metrics());
  hub.server = { publish: (topic: string) => void log.push(`server publish ${topic}`) } as unknown as Server<unknown>;
  return hub;
}

test("first and last connection of a user; size counts live connections; removing twice is a no-op", () => {
  const hub = hubWith([]);
  const a1 = hub.add(fakeSocket([], "a1"), "a", "d1");
  const a2 = hub.add(fakeSocket([], "a2"), "a", "d2");
  expect([a1.first, a2.first]).toEqual([true, false]);
  expect(hub.size).toBe(2);
  expect(hub.remove(a1.conn)).toBe(false);
  expect(hub.remove(a1.conn)).toBe(false);
  expect(hub.size).toBe(1);
  expect(hub.isOnline("a")).toBe(true);
  expect(hub.remove(a2.conn)).toBe(true);
  expect(hub.isOnline("a")).toBe(false);
  expect(hub.size).toBe(0);
});

test("fan-out skips the sending socket while it is live; a removed sender's ref no longer hides the others", () => {
  const log: string[] = [];
  const hub = hubWith(log);
  const a1 = hub.add(fakeSocket(log, "a1"), "a", "d1").conn;
  hub.add(fakeSocket(log, "a2"), "a", "d2");
  hub.toUsers(["a"], "{}", a1.caller.conn);
  expect(log).toEqual(["a1 publish u:a"]);
  log.length = 0;
  hub.remove(a1);
  hub.toUsers(["a"], "{}", a1.caller.conn);
  expect(log).toEqual(["server publish u:a"]);
});

test("closeDevice, closeAll and heartbeat reach every live connection", () => {
  const log: string[] = [];
  const hub = hubWith(log);
  const a = hub.add(fakeSocket(log, "a"), "a", "d1").conn;
  hub.add(fakeSocket(log, "b1"), "b", "d2");
  hub.add(fakeSocket(log, "b2"), "b", "d3");
  hub.closeDevice("d2", 4401, "revoked");
  expect(log).toEqual(["b1 close 4401"]);
  log.length = 0;
  expect(hub.heartbeat()).toBe(0);
  a.alive = true;
  expect(hub.heartbeat()).toBe(2);
  expect(log.sort()).toEqual(["a ping", "a ping", "b1 ping", "b1 terminate", "b2 ping", "b2 terminate"]);
  log.length = 0;
  hub.closeAll(1001, "bye");
  expect(log.sort()).toEqual(["a close 1001", "b1 close 1001", "b2 close 1001"]);
});

test("a publish Bun reports dropped closes and counts, once, each recipient past the hard send-buffer bound; the others stay", () => {
  const log: string[] = [];
  const metrics = new Metrics();
  const hub = new Hub(metrics, { softBytes: 10, hardBytes: 1000, stallMs: 5000 });
  let result = -1;
  hub.server = { publish: (topic: string) => (log.push(`server publish ${topic}`), result) } as unknown as Server<unknown>;
  const sock = (name: string, buffered: number) =>
    Object.assign(fakeSocket(log, name), { getBufferedAmount: () => buffered }) as unknown as ServerWebSocket<unknown>;
  hub.add(sock("full", 1001), "a", "d1");
  hub.add(sock("ok", 1000), "b", "d2");
  hub.add(sock("c", 0), "c", "d3");
  hub.toChannel("g", ["a", "b", "c"], "{}"); // backpressured, nothing dropped: nobody closed
  expect(log.filter((l) => l.includes("terminate"))).toEqual([]);
  result = 0;
  hub.toChannel("g", ["a", "b", "c"], "{}");
  hub.toUsers(["a"], "{}");
  expect(log.filter((l) => l.includes("terminate"))).toEqual(["full terminate"]);
  expect(metrics.slowConsumers.get()).toBe(1);
});

test("the stall rule: over the soft bound and not drained for stallMs is closed; draining, or under the bound, is kept", () => {
  const log: string[] = [];
  const metrics = new Metrics();
  const hub = new Hub(metrics, { softBytes: 100, hardBytes: 1_000_000, stallMs: 5000 });
  hub.server = { publish: () => 1 } as unknown as Server<unknown>;
  const buffered: Record<string, number> = { stopped: 0, reading: 0, idle: 0 };
  const sock = (name: string) =>
    Object.assign(fakeSocket(log, name), { getBufferedAmount: () => buffered[name]! }) as unknown as ServerWebSocket<unknown>;
  hub.add(sock("stopped"), "a", "d1");
  const reading = hub.add(sock("reading"), "b", "d2").conn;
  hub.add(sock("idle"), "c", "d3");
  hub.closeStalled(0);
  buffered.stopped = 5000; // behind, never drains again
  buffered.reading = 5000; // behind, but drains (Bun's drain) now and then
  for (let t = 1000; t <= 20_000; t += 1000) {
    if (t % 3000 === 0) hub.drained(reading, t);
    hub.closeStalled(t);
  }
  expect(log.filter((l) => l.includes("terminate"))).toEqual(["stopped terminate"]);
  expect(metrics.slowConsumers.get()).toBe(1);
});
