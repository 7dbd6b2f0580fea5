// The node link against a real receiving ClusterNode over real sockets, with
// an in-process TCP proxy between them that can blackhole the link: batching,
// resend after the link comes back, duplicates dropped, the bounded event
// queue turning into a resync, call backpressure, and the cluster secret.

import { afterEach, expect, test } from "bun:test";
import { NatterError } from "../../protocol/index.ts";
import { createLogger } from "../log.ts";
import { TcpProxy } from "../../../test/support/tcp-proxy.ts";
import { PeerLink, type LinkOptions } from "./link.ts";
import { ClusterNode, type ShardHost } from "./node.ts";
import { linkToken } from "./setup.ts";

const TOKEN = linkToken("a-cluster-secret-for-tests-0123456789");

interface Delivered {
  events: unknown[];
  resync: boolean;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

/** A receiving node "r" (peer "s" may call it) behind a proxy; `answer` may replace its responses. */
function receiver(opts: { answer?: (req: Request, res: Response, n: number) => Response } = {}) {
  const delivered: Delivered[] = [];
  const node = new ClusterNode({
    self: "r",
    peers: new Map([
      ["r", "http://127.0.0.1:1"],
      ["s", "http://127.0.0.1:1"],
    ]),
    token: TOKEN,
    shards: 4,
    heartbeatMs: 60_000,
    leaseMs: 1000,
    failureAfterMs: 1500,
    log: createLogger("error", () => {}),
  });
  const host = {
    op: async (_op: string, _caller: unknown, params: unknown) => params,
    deliver: (_from: string, events: unknown[], resync: boolean) => delivered.push({ events, resync }),
    connections: () => 0,
    served: async () => {},
  } as unknown as ShardHost;
  node.start(host);
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const res = await node.handle(req);
      return opts.answer ? opts.answer(req, res, requests.filter((p) => p === path).length) : res;
    },
  });
  const proxy = TcpProxy.start({ host: "127.0.0.1", port: 0 }, { host: "127.0.0.1", port: server.port! });
  cleanups.push(() => {
    node.stop();
    proxy.close();
    server.stop(true);
  });
  const link = (o: Partial<LinkOptions> = {}) => {
    const l = new PeerLink({ self: "s", peer: "r", url: `http://127.0.0.1:${proxy.port}`, token: TOKEN, inc: "inc-1", fingerprint: () => node.fingerprint, timeoutMs: 400, ...o });
    cleanups.unshift(() => l.close());
    return l;
  };
  /** Every event delivered, in order. */
  const events = () => delivered.flatMap((d) => d.events);
  return { node, proxy, delivered, events, requests, link };
}

async function until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

test("calls queued together leave in one request, and each gets its own answer", async () => {
  const r = receiver();
  const link = r.link();
  const answers = await Promise.all(range(0, 300).map((i) => link.call({ k: "op", op: "echo", caller: null, params: i })));
  expect(answers).toEqual(range(0, 300));
  expect(link.stats.callBatches).toBe(1);
  expect(r.requests.filter((p) => p === "/cluster/call")).toHaveLength(1);
});

test("events reach the peer in order, batched: the ones queued while a batch is out leave together", async () => {
  const r = receiver();
  const link = r.link();
  for (const i of range(0, 500)) link.event(i);
  await until(() => r.events().length === 500, "500 events");
  expect(r.events()).toEqual(range(0, 500));
  expect(link.stats.eventBatches).toBeLessThanOrEqual(2);
  expect(r.delivered.every((d) => !d.resync)).toBe(true);
});

test("a blackholed link that comes back: the batch is resent and every event arrives once, in order, without a resync", async () => {
  const r = receiver();
  const link = r.link();
  link.event("before");
  await until(() => r.events().length === 1, "the first event");
  r.proxy.blackhole();
  for (const i of range(0, 20)) link.event(i);
  await until(() => r.proxy.stats.dropped_up > 0 && link.stats.resends >= 1, "a batch lost in the blackhole and resent");
  expect(r.events()).toEqual(["before"]);
  r.proxy.heal();
  await until(() => r.events().length === 21, "every event after the heal");
  expect(r.events()).toEqual(["before", ...range(0, 20)]);
  expect(r.delivered.every((d) => !d.resync)).toBe(true);
});

test("a batch applied whose answer was lost is resent, and the peer drops the repeat", async () => {
  const r = receiver({ answer: (req, res, n) => (new URL(req.url).pathname === "/cluster/events" && n === 1 ? new Response("lost", { status: 503 }) : res) });
  const link = r.link();
  for (const i of range(0, 5)) link.event(i);
  await until(() => link.eventBacklog === 0 && link.stats.eventsSent === 5, "the events taken");
  expect(r.requests.filter((p) => p === "/cluster/events").length).toBeGreaterThanOrEqual(3);
  expect(link.stats.resends).toBeGreaterThanOrEqual(1);
  expect(r.events()).toEqual(range(0, 5));
});

test("past --link-max-queued-events the backlog is dropped and the next batch tells the peer to resync", async () => {
  const r = receiver();
  const link = r.link({ maxEvents: 3 });
  r.proxy.blackhole();
  for (const i of range(0, 10)) link.event(i);
  // 0 is out (in the blackhole); 1-3 and 4-6 overflowed; 7-9 wait.
  expect(link.stats.eventsDropped).toBe(6);
  expect(link.eventBacklog).toBe(4);
  r.proxy.heal();
  await until(() => r.events().length === 4, "the events kept");
  expect(r.delivered).toEqual([
    { events: [0], resync: false },
    { events: [7, 8, 9], resync: true },
  ]);
  expect(link.stats.resyncs).toBe(1);
});

test("a dropped backlog keeps what the policy keeps (closes of revoked devices), and the resync batch ends with the policy's tail (presence)", async () => {
  const r = receiver();
  const link = r.link({ maxEvents: 3 });
  link.policy = { keep: (e) => typeof e === "string", onResync: () => [{ snap: true }] };
  r.proxy.blackhole();
  for (const e of [0, 1, "close-a", 2, 3, 4, 5]) link.event(e);
  expect(link.stats.eventsDropped).toBe(4);
  r.proxy.heal();
  await until(() => r.delivered.length === 2, "the resync batch");
  expect(r.delivered).toEqual([
    { events: [0], resync: false },
    { events: ["close-a", 5, { snap: true }], resync: true },
  ]);
});

test("a peer that left the view and missed events gets an empty resync batch as soon as it is back", async () => {
  const r = receiver();
  const link = r.link();
  link.event("a");
  await until(() => r.events().length === 1, "the first event");
  link.dropEvents(); // nothing queued: nothing lost
  link.resume();
  link.missed("published while it was out");
  expect(r.delivered).toHaveLength(1);
  link.resume();
  await until(() => r.delivered.length === 2, "the resync batch");
  expect(r.delivered[1]).toEqual({ events: [], resync: true });
  // Nothing missed: resuming sends nothing.
  link.resume();
  link.event("b");
  await until(() => r.delivered.length === 3, "the next event");
  expect(r.delivered[2]).toEqual({ events: ["b"], resync: false });
});

test("lost events that need no gap-fill (presence, by the policy) bring only the tail, without a resync; lost deliveries bring both", async () => {
  const r = receiver();
  const link = r.link();
  link.policy = { needsResync: (e) => e === "delivery", onResync: () => ["presence list"] };
  link.event("a");
  await until(() => r.delivered.length === 1, "the first event");
  r.proxy.blackhole();
  link.event("presence change");
  await until(() => r.proxy.stats.dropped_up > 0, "the batch in the blackhole");
  link.dropEvents(); // the peer left the view with that batch unanswered
  r.proxy.heal();
  link.resume();
  await until(() => r.delivered.length === 2, "the tail");
  expect(r.delivered[1]).toEqual({ events: ["presence list"], resync: false });
  link.missed("delivery");
  link.resume();
  await until(() => r.delivered.length === 3, "the resync");
  expect(r.delivered[2]).toEqual({ events: ["presence list"], resync: true });
});

test("past --link-max-queued-calls a call is refused unavailable at once (backpressure), and counted", async () => {
  const r = receiver();
  const link = r.link({ maxInFlight: 1, maxQueued: 2 });
  r.proxy.blackhole();
  const first = link.call({ k: "op", op: "echo", caller: null, params: 1 });
  await Bun.sleep(0);
  const queued = [2, 3].map((i) => link.call({ k: "op", op: "echo", caller: null, params: i }));
  const refused = await link.call({ k: "op", op: "echo", caller: null, params: 4 }).catch((e) => e);
  expect(refused).toBeInstanceOf(NatterError);
  expect((refused as NatterError).code).toBe("unavailable");
  expect((refused as NatterError).retryAfterMs).toBeGreaterThan(0);
  expect(link.stats.refusedBackpressure).toBe(1);
  // The one in the blackhole times out unavailable (the caller retries); the queued ones go once it is back.
  expect(((await first.catch((e) => e)) as NatterError).code).toBe("unavailable");
  r.proxy.heal();
  expect(await Promise.all(queued)).toEqual([2, 3]);
});

test("a call or event batch without the cluster secret is refused and counted; nothing is delivered", async () => {
  const r = receiver();
  const bad = r.link({ token: linkToken("another-secret-of-sixteen-chars") });
  const e = await bad.call({ k: "op", op: "echo", caller: null, params: 1 }).catch((x) => x);
  expect((e as NatterError).code).toBe("unavailable");
  expect((e as NatterError).message).toContain("cluster secret not accepted");
  expect(r.node.counters.refusedCalls).toBe(1);
  bad.event("forged");
  await until(() => r.node.counters.refusedCalls >= 2, "the event batch refused");
  const none = await fetch(`http://127.0.0.1:${r.proxy.port}/cluster/call`, { method: "POST", body: "{}" });
  expect(none.status).toBe(401);
  expect(r.node.counters.refusedCalls).toBeGreaterThanOrEqual(3);
  expect(r.delivered).toEqual([]);
});
