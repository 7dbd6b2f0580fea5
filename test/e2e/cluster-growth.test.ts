// Growth: two nodes become three by a rolling restart with the longer --peers,
// under steady traffic. The new node gets its shards by hand-off, every
// acknowledged message is there exactly once, seqs stay dense.

import { afterAll, expect, test } from "bun:test";
import { directChannelId } from "../../src/server/ids.ts";
import { api, type TestUser } from "../harness.ts";
import { makeClusterUser, startCluster, type TestCluster } from "./cluster-nodes.ts";

let c: TestCluster;
afterAll(async () => {
  await c?.stop();
});

test("a node added by a rolling restart takes its shards with no lost or doubled writes", async () => {
  c = await startCluster({ nodes: 3, initial: ["n1", "n2"] });
  await c.waitSameMap(["n1", "n2"]);
  await c.waitHealthy(["n1", "n2"]);
  const users: TestUser[] = [];
  for (let i = 0; i < 6; i++) users.push(await makeClusterUser(c.node(i % 2 ? "n2" : "n1"), `R${i}`));
  const chats = users.map((u, i) => ({ from: u, to: users[(i + 1) % 6]! }));
  let entry = ["n1", "n2"];
  const acked = new Map<string, string>(); // client id -> channel
  let stop = false;
  let n = 0;
  const loops = chats.map(async (chat, k) => {
    for (let i = 0; !stop; i++) {
      const client_id = `g${k}-${i}`;
      for (let attempt = 0; ; attempt++) {
        const via = entry[(n++ + attempt) % entry.length]!;
        const r = await api(c.node(via), chat.from.token, "sendMessage", { to: chat.to.user.id, type: "text", content: client_id, client_id }).catch(() => null);
        if (r?.status === 200) {
          acked.set(client_id, r.body.message.channel);
          break;
        }
        if (attempt > 600) {
          for (const id of ["n1", "n2", "n3"]) console.log(id, c.node(id)?.output().split("\n").filter((l) => l.includes("cluster")).slice(-30).join("\n"));
          for (const id of ["n1", "n2", "n3"]) console.log(JSON.stringify(await c.status(id).catch((e) => String(e))).slice(0, 900));
          throw new Error(`send ${client_id} never accepted: ${JSON.stringify(r?.body)}`);
        }
        await Bun.sleep(25);
      }
      await Bun.sleep(10);
    }
  });
  const all = ["n1", "n2", "n3"];
  await c.start("n3", { peers: all });
  for (const id of ["n1", "n2"]) {
    entry = all.filter((x) => x !== id && (x !== "n3" || id === "n2"));
    await c.node(id).stop();
    await c.start(id, { peers: all });
    await c.waitHealthy([id]);
  }
  entry = all;
  const map = await c.waitSameMap(all);
  expect(map.includes("n3")).toBe(true);
  await c.waitHealthy(all);
  await Bun.sleep(500);
  stop = true;
  await Promise.all(loops);
  console.log(`acknowledged ${acked.size} sends during the growth`);
  const present = new Set<string>();
  for (const chat of chats) {
    const channel = directChannelId(chat.from.user.id, chat.to.user.id);
    let after = 0;
    const seqs: number[] = [];
    for (;;) {
      const r = await api(c.node("n3"), chat.from.token, "getMessages", { channel, after_seq: after, limit: 100 });
      expect(r.status).toBe(200);
      for (const m of r.body.messages) {
        seqs.push(m.seq);
        expect(present.has(m.client_id)).toBe(false); // nothing doubled
        present.add(m.client_id);
      }
      if (!r.body.has_more) break;
      after = seqs.at(-1)!;
    }
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  }
  for (const id of acked.keys()) expect(present.has(id)).toBe(true);
}, 180_000);
