// The node link under real faults: every node link crosses its own tcp-proxy
// process. A member connected to another node than the channel's owner
// receives every message, in seq order, once, when
// - the link between the owner and the member's node is blackholed while
//   messages are sent, then healed (the owner resends: the raw socket gets
//   every message pushed, no resync);
// - the same with a tiny --link-max-queued-events on the owner (the backlog
//   overflows: the member's node sends `resync`, the client library gap-fills);
// - the owner is restarted mid-stream (SIGTERM, then started again with its
//   data dir): the survivors take its shards over and hand them back.

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { Message } from "../../src/protocol/index.ts";
import { api, type TestUser, type WsClient } from "../harness.ts";
import { startCluster, type Cluster, type ClusterStatus } from "../support/cluster.ts";
import { chatOwnedBy, checkDelivered, history, libraryClient } from "./cluster-chat-helpers.ts";
import { FAST } from "./cluster-nodes.ts";

setDefaultTimeout(150_000);

/** n1's event queue to each peer holds 4 events; n2 and n3 keep the default. */
const SMALL_QUEUE = 4;

let c: Cluster;
let map0: ClusterStatus;
let alice: TestUser;

beforeAll(async () => {
  c = await startCluster({ nodes: 3, proxied: true, args: FAST, nodeArgs: { n1: ["--link-max-queued-events", String(SMALL_QUEUE)] } });
  await c.waitHealthy();
  map0 = await c.waitSameMap();
  alice = await c.makeUser("alice", { createdOn: "n1" });
});
afterAll(async () => {
  await c?.stop();
});

async function until(f: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Sends `content` from Alice to `to` through node `via` over HTTP, retrying `unavailable` with the same client id; returns the message. */
async function send(via: string, to: string, content: string): Promise<Message> {
  const client_id = crypto.randomUUID();
  for (let i = 0; ; i++) {
    const r = await api(c.server(via), alice.token, "sendMessage", { to, type: "text", content, client_id });
    if (r.status === 200) return r.body.message;
    if (r.status !== 503 || i > 200) throw new Error(`send through ${via}: ${r.status} ${JSON.stringify(r.body)}`);
    await Bun.sleep(Math.min(1000, r.body.error?.retry_after_ms ?? 100));
  }
}

const pushed = (w: WsClient, channel: string) => w.events.filter((e: any) => e.ev === "message" && e.message.channel === channel).map((e: any) => e.message as Message);

/** Blackholes (or heals) both directions of the link between nodes a and b. */
async function cut(a: string, b: string, on: boolean): Promise<void> {
  await Promise.all([`${a}>${b}`, `${b}>${a}`].map((k) => (on ? c.proxies.get(k)!.blackhole() : c.proxies.get(k)!.heal())));
}

/**
 * A chat from Alice to a new member whose channel `owner` owns; the member on node `on` with a raw
 * socket and a library client; `before` messages sent through node `via` and pushed to the raw socket.
 */
async function memberElsewhere(owner: string, on: string, via: string, name: string, before: number) {
  const { b: bob, channel } = await chatOwnedBy(c, map0, alice, owner, name);
  const raw = await c.connect(bob, on);
  const rx = libraryClient(bob.token, [c.url(on)]);
  await rx.client.waitOpen();
  const acked: string[] = [];
  for (let i = 0; i < before; i++) acked.push((await send(via, bob.user.id, `before ${i}`)).client_id);
  await until(() => pushed(raw, channel).length === before, "the first messages pushed");
  return { bob, channel, raw, rx, acked };
}

test("the owner's link to the member's node blackholed while messages are sent, then healed: the owner resends, every message arrives once, in order", async () => {
  await c.run(async () => {
    const { bob, channel, raw, rx, acked } = await memberElsewhere("n2", "n3", "n1", "bobA", 5);

    await cut("n2", "n3", true);
    for (let i = 0; i < 20; i++) acked.push((await send("n1", bob.user.id, `during ${i}`)).client_id);
    const before = await c.status("n2");
    expect(pushed(raw, channel)).toHaveLength(5); // nothing crossed the cut
    await cut("n2", "n3", false);

    await until(() => pushed(raw, channel).length === 25, "every message pushed after the heal");
    const hist = await history(c, "n2", bob.token, channel);
    expect(pushed(raw, channel).map((m) => m.seq)).toEqual(hist.map((m) => m.seq));
    expect(raw.events.some((e) => e.ev === "resync")).toBe(false);
    await until(() => rx.got.filter((m) => m.channel === channel).length >= hist.length, "the library client to have every message");
    checkDelivered(hist, acked, rx.got, channel);
    const link = ((await c.status("n2")) as any).links.n3;
    expect(link.resends).toBeGreaterThan((before as any).links.n3.resends); // the batch lost in the cut was sent again
    rx.client.close();
  });
});

test("past --link-max-queued-events the owner drops the backlog: the member's node sends resync and the client library catches up", async () => {
  await c.run(async () => {
    const { bob, channel, raw, rx, acked } = await memberElsewhere("n1", "n2", "n3", "bobB", 3);
    const dropped0 = ((await c.status("n1")) as any).links.n2.eventsDropped as number;

    await cut("n1", "n2", true);
    for (let i = 0; i < 3 * SMALL_QUEUE; i++) acked.push((await send("n3", bob.user.id, `during ${i}`)).client_id);
    expect(((await c.status("n1")) as any).links.n2.eventsDropped).toBeGreaterThan(dropped0);
    await cut("n1", "n2", false);

    await raw.until(() => raw.events.some((e) => e.ev === "resync"), 30_000, "a resync on n2");
    const hist = await history(c, "n1", bob.token, channel);
    expect(hist).toHaveLength(3 + 3 * SMALL_QUEUE);
    expect(pushed(raw, channel).length).toBeLessThan(hist.length); // some were dropped: only a resync brings them
    await until(() => rx.got.filter((m) => m.channel === channel).length >= hist.length, "the library client to catch up");
    checkDelivered(hist, acked, rx.got, channel);
    rx.client.close();
  });
});

test("the owner restarted mid-stream: the member receives every acknowledged message once, in order", async () => {
  await c.run(async () => {
    const { b: bob, channel } = await chatOwnedBy(c, map0, alice, "n2", "bobC");
    const rx = libraryClient(bob.token, [c.url("n3"), c.url("n1")]);
    const tx = libraryClient(alice.token, [c.url("n1"), c.url("n3")]);
    await rx.client.waitOpen();
    await tx.client.waitOpen();
    const acked: string[] = [];
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop; i++) acked.push((await tx.client.sendMessage({ to: bob.user.id, content: `m${i}` })).client_id);
    })();
    await until(() => acked.length >= 10, "ten messages");
    await c.stopNode("n2");
    const atKill = acked.length;
    await until(() => acked.length >= atKill + 10, "ten messages while the owner is down", 60_000);
    await c.restart("n2");
    await c.waitHealthy(undefined, 60_000);
    await c.waitSameMap({ ms: 60_000 });
    const atBack = acked.length;
    await until(() => acked.length >= atBack + 10, "ten messages after the owner is back", 60_000);
    stop = true;
    await sender;

    const hist = await history(c, "n2", bob.token, channel);
    await until(() => rx.got.filter((m) => m.channel === channel).length >= hist.length, "the member to have every message", 60_000);
    checkDelivered(hist, acked, rx.got, channel);
    console.log(`owner restart: ${acked.length} acknowledged (${atKill} before the stop, ${atBack - atKill} while down); history ${hist.length}`);
    rx.client.close();
    tx.client.close();
  });
});
