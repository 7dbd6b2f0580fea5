// A real partition: every node link crosses its own tcp-proxy process, and
// the test blackholes every link into and out of n3 (its clients' sockets are
// not cut). n3's lease runs out: it closes its websockets with 4503, /healthz
// answers 503, new upgrades and HTTP writes are refused `unavailable` with a
// retry-after. A client library instance given the three URLs moves to a
// survivor and keeps sending in a chat whose shard n3 owned; the majority
// takes n3's shards over. After the heal n3 rejoins, the shard map is the
// same on every node (and the one before the cut), and nothing acknowledged
// is lost: each acknowledged message exactly once, seqs dense, and the
// receiving client got them all in order.

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { api, WsClient, type TestUser } from "../harness.ts";
import { startCluster, type Cluster, type ClusterStatus } from "../support/cluster.ts";
import { chatOwnedBy, checkDelivered, history, libraryClient, ownerOf } from "./cluster-chat-helpers.ts";
import { FAST } from "./cluster-nodes.ts";

setDefaultTimeout(150_000);

let c: Cluster;
let map0: ClusterStatus;

beforeAll(async () => {
  c = await startCluster({ nodes: 3, proxied: true, args: FAST });
  await c.waitHealthy();
  map0 = await c.waitSameMap();
});
afterAll(async () => {
  await c?.stop();
});

test("n3 cut off from n1 and n2: it stops taking writes, its clients move, the majority takes its shards; healed, it rejoins with one shard map and nothing acknowledged lost", async () => {
  await c.run(async () => {
    const alice: TestUser = await c.makeUser("alice", { createdOn: "n1" });
    const { b: bob, channel } = await chatOwnedBy(c, map0, alice, "n3", "bob");
    expect(ownerOf(map0, channel)).toBe("n3");

    // Bob reads on n1; Alice writes through n3 first (her library instance knows all three URLs).
    const rx = libraryClient(bob.token, [c.url("n1"), c.url("n2")]);
    const tx = libraryClient(alice.token, [c.url("n3"), c.url("n1"), c.url("n2")]);
    const raw = await c.connect(alice, "n3"); // a second device of hers on n3, to see the close code
    await rx.client.waitOpen();
    await tx.client.waitOpen();
    expect(tx.client.server).toBe(c.url("n3"));

    const acked: string[] = [];
    let stop = false;
    const sender = (async () => {
      for (let i = 0; !stop; i++) {
        const m = await tx.client.sendMessage({ to: bob.user.id, content: `m${i}` });
        acked.push(m.client_id);
      }
    })();
    const until = async (f: () => boolean, what: string, ms = 60_000) => {
      const end = Date.now() + ms;
      while (!f()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await Bun.sleep(20);
      }
    };
    await until(() => acked.length >= 10, "ten messages through n3");

    await c.partition("n3");
    const atCut = acked.length;

    // n3 loses its lease: its sockets close with 4503, /healthz is 503, upgrades and writes are refused.
    await raw.until(() => raw.closed, 20_000, "n3 to close its websockets");
    expect(raw.closed!.code).toBe(4503);
    expect(await c.waitUnhealthy("n3")).toBe(503);
    const upgrade = await fetch(`${c.url("n3")}/ws?token=${encodeURIComponent(bob.token)}`, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": btoa("0123456789abcdef") },
    });
    expect(upgrade.status).toBe(503);
    await expect(WsClient.connect(c.server("n3"), bob.token)).rejects.toThrow();
    const write = await api(c.server("n3"), bob.token, "sendMessage", { to: alice.user.id, type: "text", content: "to the cut-off node", client_id: crypto.randomUUID() });
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe("unavailable");
    expect(write.body.error.retry_after_ms).toBeGreaterThan(0);

    // The majority declares n3 dead and serves its shards; Alice's client moved and keeps sending.
    // (n3 takes no write now, so whatever is acknowledged from here on went through n1 or n2.)
    const refused = acked.length;
    const without = await c.waitSameMap({ ids: ["n1", "n2"], notOn: ["n3"], ms: 60_000 });
    expect(ownerOf(without, channel)).not.toBe("n3");
    await until(() => acked.length >= refused + 10, "ten more messages after the cut");
    expect(tx.client.server).not.toBe(c.url("n3"));
    expect(await c.health("n1")).toBe(200);
    expect(await c.health("n2")).toBe(200);

    // Heal: n3 rejoins and gets its shards back; one map everywhere, the one before the cut.
    await c.heal("n3");
    await c.waitHealthy(undefined, 60_000);
    const back = await c.waitSameMap({ ms: 60_000 });
    const pairs = (m: ClusterStatus) => [...m.shards].sort((a, b) => a.shard - b.shard).map((s) => [s.shard, s.node]);
    expect(pairs(back)).toEqual(pairs(map0));
    const atHeal = acked.length;
    await until(() => acked.length >= atHeal + 5, "five more messages after the heal");
    stop = true;
    await sender;

    // Nothing acknowledged is lost or doubled, on every node; Bob got the whole history in order.
    const hist = await history(c, "n3", bob.token, channel);
    for (const id of ["n1", "n2"]) expect((await history(c, id, bob.token, channel)).map((m) => m.id)).toEqual(hist.map((m) => m.id));
    await until(() => rx.got.filter((m) => m.channel === channel).length >= hist.length, "Bob to receive every message", 30_000);
    checkDelivered(hist, acked, rx.got, channel);
    console.log(`partition: ${acked.length} acknowledged (${atCut} before the cut, ${atHeal - refused} once n3 refused writes); history ${hist.length}`);
    rx.client.close();
    tx.client.close();
  });
});
