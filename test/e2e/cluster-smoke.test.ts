// Three natter nodes on loopback, one replica dir: they come up healthy with
// one shard map, a user created through one node logs in through the others,
// and users chat 1:1 with each client on a different node.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { allMessages, freshCode, isMsg } from "./server-helpers.ts";
import { WsClient, type TestUser } from "../harness.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";

setDefaultTimeout(90_000);

let cluster: Cluster;

describe("cluster smoke (3 nodes)", () => {
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("three nodes come up healthy with the same shard map and admin token", async () => {
    await cluster.run(async () => {
      await cluster.waitHealthy();
      const map = await cluster.waitSameMap();
      expect(map.shards.length).toBeGreaterThan(0);
      for (const s of map.shards) expect(cluster.ids).toContain(s.node);
      for (const id of cluster.ids) {
        const st = await cluster.status(id);
        expect(st.node).toBe(id);
        expect(st.quorum).toBe(true);
        expect(st.nodes.map((n) => n.id).sort()).toEqual(cluster.ids);
        expect(st.nodes.every((n) => n.live)).toBe(true);
        expect(cluster.node(id).adminToken).toBe(cluster.adminToken);
      }
    });
  });

  test("a user created on n1 logs in on n2 and n3, and the token works on every node", async () => {
    await cluster.run(async () => {
      const { user, code } = await cluster.createUser("alice", "n1");
      const on2 = await cluster.login(code, "n2", "phone");
      expect(on2.user.id).toBe(user.id);
      const on3 = await cluster.login(await freshCode(cluster.server("n1"), user.id), "n3", "laptop");
      expect(on3.user.id).toBe(user.id);
      for (const id of cluster.ids) {
        const c = await cluster.connect(on2, id);
        const hello = c.events.find((e) => e.ev === "hello") as any;
        expect(hello.user.id).toBe(user.id);
      }
    });
  });

  test("1:1 chats between users spread over the nodes, each client on a different node", async () => {
    await cluster.run(async () => {
      // Six users created through different nodes: their home shards spread over the nodes.
      const users: TestUser[] = [];
      for (let i = 0; i < 6; i++) users.push(await cluster.makeUser(`u${i}`, { createdOn: cluster.ids[i % 3], loginOn: cluster.ids[(i + 1) % 3] }));
      const conns: WsClient[] = [];
      for (let i = 0; i < 6; i++) conns.push(await cluster.connect(users[i]!, cluster.ids[i % 3]!));
      // Every pair (i, j), i < j: i and j sit on different nodes whenever i % 3 != j % 3.
      for (let i = 0; i < 6; i++)
        for (let j = i + 1; j < 6; j++) {
          if (i % 3 === j % 3) continue;
          const [a, b] = [conns[i]!, conns[j]!];
          const first = await a.call("sendMessage", { to: users[j]!.user.id, client_id: `p${i}-${j}-1`, type: "text", content: `hi ${j}` });
          await b.event(isMsg(first.message.id), 20_000, `u${j} gets u${i}'s message`);
          const back = await b.call("sendMessage", { channel: first.message.channel, client_id: `p${i}-${j}-2`, type: "text", content: `hi ${i}` });
          await a.event(isMsg(back.message.id), 20_000, `u${i} gets u${j}'s reply`);
          const again = await a.call("sendMessage", { channel: first.message.channel, client_id: `p${i}-${j}-3`, type: "text", content: "again" });
          await b.event(isMsg(again.message.id), 20_000, `u${j} gets the third message`);
          // Dense seqs, in order, the same seen from both ends.
          const fromA = await allMessages(a, first.message.channel);
          const fromB = await allMessages(b, first.message.channel);
          expect(fromA.map((m) => m.seq)).toEqual([1, 2, 3]);
          expect(fromB.map((m) => m.id)).toEqual([first.message.id, back.message.id, again.message.id]);
        }
    });
  });
});

describe("cluster smoke: a partitioned node (3 nodes, a proxy on every link)", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ nodes: 3, proxied: true });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test("cut off, it leaves the quorum and its shards move; healed, it gets them back", async () => {
    await c.run(async () => {
      await c.waitHealthy();
      const whole = await c.waitSameMap();
      expect(whole.shards.some((s) => s.node === "n2")).toBe(true);
      await c.partition("n2");
      expect(await c.waitUnhealthy("n2")).toBe(503);
      const without = await c.waitSameMap({ ids: ["n1", "n3"], notOn: ["n2"] });
      expect(without.fingerprint).not.toBe(whole.fingerprint);
      await c.waitHealthy("n1");
      await c.waitHealthy("n3");
      await c.heal("n2");
      await c.waitHealthy("n2");
      const back = await c.waitSameMap();
      expect(back.shards.some((s) => s.node === "n2")).toBe(true);
    });
  });
});
