// Three natter nodes on loopback as one server: any node serves any user,
// ops on a channel run on its owner, events reach members on every node in
// seq order, and the shard map is the same everywhere.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, login, runCli, WsClient, type TestUser } from "../harness.ts";
import { makeClusterUser, startCluster, type TestCluster } from "./cluster-nodes.ts";
import { bytes, download, sendMedia, sha256hex, uploadOk } from "./media-helpers.ts";

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3 });
  await c.waitSameMap();
  await c.waitHealthy();
}, 60_000);
afterAll(async () => {
  await c?.stop();
});

describe("a three-node cluster", () => {
  test("every node reports the same view and shard map, each shard on one live node, and /healthz 200", async () => {
    const map = await c.waitSameMap();
    expect(map.length).toBe(16);
    expect(new Set(map)).toEqual(new Set(c.ids)); // 16 shards over 3 nodes: each owns some
    const st = await c.status("n2");
    expect(st.quorum).toBe(true);
    expect(st.nodes.map((n: any) => [n.id, n.live])).toEqual([
      ["n1", true],
      ["n2", true],
      ["n3", true],
    ]);
    for (const n of st.nodes) if (n.id !== "n2") expect(n.heartbeat_age_ms).toBeLessThan(5_000);
    for (const id of c.ids) {
      const mine = (await c.status(id)).serving;
      expect(mine).toEqual(map.flatMap((owner, s) => (owner === id ? [s] : [])));
    }
    // The admin token is the cluster's: the same file on every node.
    expect(new Set(c.ids.map((id) => c.node(id).adminToken)).size).toBe(1);
  });

  test("natter admin cluster status prints the view (--json and text)", async () => {
    const n = c.node("n1");
    const j = await runCli(["admin", "--server", n.url, "--data", n.dataDir, "cluster", "status", "--json"]);
    expect(j.code).toBe(0);
    const st = JSON.parse(j.stdout);
    expect(st.node).toBe("n1");
    expect(st.shards).toHaveLength(16);
    const t = await runCli(["admin", "--server", n.url, "--data", n.dataDir, "cluster", "status"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(st.fingerprint);
    expect(t.stdout).toMatch(/n3\s.*live/);
  });

  test("a user created through one node logs in through another, and the token works on every node", async () => {
    const a = await makeClusterUser(c.node("n1"), "Ann");
    for (const id of c.ids) {
      const r = await api(c.node(id), a.token, "getAll");
      expect(r.status).toBe(200);
    }
    const res = await fetch(c.node("n3").url + `/admin/users/${a.user.id}/code`, { method: "POST", headers: { authorization: `Bearer ${c.node("n3").adminToken}` } });
    const { code } = (await res.json()) as { code: string };
    const l = await login(c.node("n2"), code, "second");
    expect(l.user.id).toBe(a.user.id);
  });

  test("users on different nodes chat 1:1: each connected to another node, events in seq order, nothing doubled", async () => {
    const a = await makeClusterUser(c.node("n1"), "Alma");
    const b = await makeClusterUser(c.node("n2"), "Bert");
    const ca = await WsClient.connect(c.node("n1"), a.token);
    const cb = await WsClient.connect(c.node("n3"), b.token);
    const sent: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await ca.request("sendMessage", { to: b.user.id, type: "text", content: `m${i}`, client_id: `c${i}` });
      expect(r.ok).toBe(true);
      sent.push(r.message.seq);
    }
    const got = await cb.until(() => {
      const ms = cb.events.filter((e: any) => e.ev === "message").map((e: any) => e.message.seq);
      return ms.length >= 30 && ms;
    }, 15_000, "30 messages at b");
    expect(got).toEqual(sent);
    expect(sent).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // And back, from the node that is neither's.
    const cb2 = await WsClient.connect(c.node("n2"), b.token);
    const r = await cb2.request("sendMessage", { to: a.user.id, type: "text", content: "back", client_id: "back" });
    expect(r.ok).toBe(true);
    await ca.until(() => ca.events.find((e: any) => e.ev === "message" && e.message.content === "back"), 10_000, "reply at a");
    // The sending socket does not get its own message back; the other device of b does.
    await cb.until(() => cb.events.find((e: any) => e.ev === "message" && e.message.content === "back"), 10_000, "reply at b's other device");
    expect(cb2.events.some((e: any) => e.ev === "message" && e.message.content === "back")).toBe(false);
    for (const x of [ca, cb, cb2]) x.close();
  });

  test("a group of 100 spread over the nodes: every member's connection gets every message in seq order", async () => {
    const ids = c.ids;
    const users: TestUser[] = [];
    for (let i = 0; i < 100; i++) users.push(await makeClusterUser(c.node(ids[i % 3]!), `G${i}`));
    const owner = users[0]!;
    const g = await api(c.node("n2"), owner.token, "createGroup", { name: "Hundred", members: users.slice(1).map((u) => u.user.id) });
    expect(g.status).toBe(200);
    const channel = g.body.channel.id;
    expect(g.body.channel.members).toHaveLength(100);
    const clients = await Promise.all(users.map((u, i) => WsClient.connect(c.node(ids[(i + 1) % 3]!), u.token)));
    // Three senders on three nodes, interleaved.
    const senders = [0, 1, 2].map((i) => clients[i * 7]!);
    for (let k = 0; k < 10; k++) for (const s of senders) expect((await s.request("sendMessage", { channel, type: "text", content: `k${k}`, client_id: `g${k}-${s === senders[0] ? 0 : s === senders[1] ? 1 : 2}` })).ok).toBe(true);
    const expected = 30;
    for (const [i, cl] of clients.entries()) {
      const own = senders.indexOf(cl) >= 0 ? 10 : 0;
      const seqs = await cl.until(() => {
        const s = cl.events.filter((e: any) => e.ev === "message" && e.message.channel === channel).map((e: any) => e.message.seq);
        return s.length >= expected - own && s;
      }, 20_000, `group messages at member ${i}`);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs); // in order
      expect(new Set(seqs).size).toBe(seqs.length); // nothing doubled
    }
    const hist = await api(c.node("n3"), users[50]!.token, "getMessages", { channel, limit: 100 });
    expect(hist.body.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const cl of clients) cl.close();
  }, 120_000);

  test("a file uploaded through one node downloads through another (the blob is fetched from its node once)", async () => {
    const a = await makeClusterUser(c.node("n1"), "Up");
    const b = await makeClusterUser(c.node("n2"), "Down");
    const body = bytes(300_000, 7);
    const m = await uploadOk(c.node("n1"), a.token, body);
    expect((await sendMedia(c.node("n2"), a, { to: b.user.id }, m.id)).status).toBe(200);
    for (const via of ["n3", "n2", "n3"]) {
      const r = await download(c.node(via), b.token, m.id);
      expect(r.status).toBe(200);
      expect(sha256hex(new Uint8Array(await r.arrayBuffer()))).toBe(sha256hex(body));
    }
    // Someone never in the chat gets not_found on every node, as on one.
    const x = await makeClusterUser(c.node("n3"), "Nosy");
    expect((await download(c.node("n3"), x.token, m.id)).status).toBe(404);
  });

  test("hello names the cluster's nodes", async () => {
    const a = await makeClusterUser(c.node("n1"), "Hal");
    const ws = await WsClient.connect(c.node("n2"), a.token);
    const hello: any = ws.events.find((e) => e.ev === "hello");
    expect(hello.nodes).toEqual(c.ids.map((id) => c.node(id).url));
    ws.close();
  });

  test("a node-to-node call without the cluster secret is refused and counted", async () => {
    const n = c.node("n1");
    const before = (await c.status("n1")).counters.refusedCalls;
    const r = await fetch(n.url + "/cluster/call", { method: "POST", headers: { "x-natter-node": "n2", "x-natter-cluster": "wrong" }, body: JSON.stringify({ fp: "x", calls: [] }) });
    expect(r.status).toBe(401);
    const r2 = await fetch(n.url + "/cluster/heartbeat", { method: "POST", body: "{}" });
    expect(r2.status).toBe(401);
    expect((await c.status("n1")).counters.refusedCalls).toBe(before + 2);
  });

  test("a node with another secret or shard count refuses to join (exit 2, saying why); a node id not in --peers does not start", async () => {
    await c.kill9("n3");
    const other = c.secretFile + ".other";
    await Bun.write(other, "another-secret-of-enough-length\n");
    const bad = await c.start("n3", { args: ["--cluster-secret-file", other] });
    expect(await bad.proc.exited).toBe(2);
    expect(bad.output()).toContain("refusing to join the cluster");
    expect(bad.output()).toContain("cluster secret not accepted");
    const shards = await c.start("n3", { wipe: true, args: ["--shards", "8"] });
    expect(await shards.proc.exited).toBe(2);
    expect(shards.output()).toContain("shard count differs");
    const r = await runCli(["serve", "--node-id", "n9", "--peers", "n1=127.0.0.1:1,n2=127.0.0.1:2", "--replica", c.replica, "--data", c.dir + "/n9"]);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toContain("--node-id n9 is not in --peers");
    // The good secret again: n3 rejoins and the map is whole.
    await c.start("n3", { wipe: true });
    await c.waitSameMap();
  }, 60_000);
});
