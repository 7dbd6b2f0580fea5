// A cluster over one libSQL server (`--store`): the rows are already remote, so
// when the node that owns the store's shard dies, a survivor takes ownership
// after the lease without restoring anything from the replica, and every
// acknowledged message is still there, seqs dense; the node's return hands the
// shard back the same way.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { startTestHranaServer, type TestHranaServer } from "../support/hrana-server.ts";
import { api, tempDir, type TestUser } from "../harness.ts";

let c: Cluster;
let remote: TestHranaServer;
let dbDir: string;

beforeAll(async () => {
  dbDir = tempDir("natter-cluster-libsql-");
  remote = startTestHranaServer(join(dbDir, "natter.db"));
  c = await startCluster({ nodes: 3, args: ["--store", remote.url] });
  await c.waitSameMap();
  await c.waitHealthy();
}, 60_000);

afterAll(async () => {
  await c?.stop();
  remote?.stop();
  if (dbDir) rmSync(dbDir, { recursive: true, force: true });
});

/** Sends through node `via`, retrying `unavailable` (a shard moving) with the same client id, as clients do. */
async function send(via: string, from: TestUser, to: TestUser, client_id: string): Promise<number> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await api(c.server(via), from.token, "sendMessage", { to: to.user.id, client_id, type: "text", content: client_id });
    if (r.status === 200) return r.body.message.seq;
    if (r.body?.error?.code !== "unavailable" || Date.now() > end) throw new Error(`send ${client_id} via ${via}: ${r.status} ${JSON.stringify(r.body)}`);
    await Bun.sleep(Math.min(1000, r.body.error.retry_after_ms ?? 200));
  }
}

test("the store's owner is killed: a survivor serves it without a restore, nothing acknowledged lost; it returns and gets it back", async () => {
  await c.run(async () => {
    const before = await c.status("n1");
    const owners = [...new Set(before.shards.map((s) => s.node))];
    expect(owners.length).toBeGreaterThan(0);
    const victim = before.shards[0]!.node;
    const survivors = c.ids.filter((id) => id !== victim);

    const alice = await c.makeUser("Alice", { createdOn: survivors[0], loginOn: survivors[1] });
    const bob = await c.makeUser("Bob", { createdOn: survivors[1] });
    const bobWs = await c.connect(bob, survivors[0]!);
    const acked: number[] = [];
    for (let i = 0; i < 10; i++) acked.push(await send(c.ids[i % 3]!, alice, bob, `before-${i}`));

    await c.kill9(victim);
    await c.waitSameMap({ ids: survivors, notOn: [victim] });
    for (const id of survivors) await c.waitHealthy(id);
    for (let i = 0; i < 10; i++) acked.push(await send(survivors[i % 2]!, alice, bob, `during-${i}`));

    // Ownership moved without a restore: the rows were on the libSQL server all along.
    for (const id of survivors) expect(c.logs(id)).not.toContain("shard restored from the replica");
    expect(acked).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await bobWs.until(() => bobWs.events.filter((e) => e.ev === "message").length === 20, 15_000, "20 live messages on bob's socket");

    await c.restart(victim);
    await c.waitSameMap();
    await c.waitHealthy();
    for (let i = 0; i < 5; i++) acked.push(await send(c.ids[i % 3]!, alice, bob, `after-${i}`));
    expect(acked).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    for (const id of c.ids) {
      const all = await api(c.server(id), bob.token, "getAll", {});
      expect(all.status).toBe(200);
      const h = await api(c.server(id), bob.token, "getMessages", { channel: all.body.channels[0].id, limit: 100 });
      expect(h.body.messages.map((m: any) => m.content)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => `before-${i}`),
        ...Array.from({ length: 10 }, (_, i) => `during-${i}`),
        ...Array.from({ length: 5 }, (_, i) => `after-${i}`),
      ]);
    }
    expect(remote.requests()).toBeGreaterThan(0);
  });
}, 180_000);
