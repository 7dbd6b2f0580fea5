// Privacy and the group-creation cap on a three-node cluster, where the node
// that runs an op is often not the one that owns the user's shard: the cap is
// exact under creates raced through every node at once (a count kept in each
// node's memory would let three times as many through), and a setting made
// through one node holds on the others.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { api } from "../harness.ts";
import { makeClusterUser, startCluster, type TestCluster } from "./cluster-nodes.ts";

const MAX_GROUPS = 4;
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3, args: ["--max-groups-per-hour", String(MAX_GROUPS)] });
  await c.waitSameMap();
  await c.waitHealthy();
}, 60_000);
afterAll(async () => {
  await c?.stop();
});

test(`--max-groups-per-hour ${MAX_GROUPS}: ${3 * MAX_GROUPS} creates raced through three nodes make exactly ${MAX_GROUPS} groups`, async () => {
  const a = await makeClusterUser(c.node("n1"), "Racer");
  const tries = Array.from({ length: 3 * MAX_GROUPS }, (_, i) => api(c.node(c.ids[i % 3]!), a.token, "createGroup", { name: `race ${i}` }));
  const answers = await Promise.all(tries);
  const made = answers.filter((r) => r.status === 200);
  const limited = answers.filter((r) => r.status === 429 && r.body.error.code === "rate_limited" && r.body.error.retry_after_ms > 0);
  expect({ made: made.length, limited: limited.length }).toEqual({ made: MAX_GROUPS, limited: 2 * MAX_GROUPS });
  const listed = (await api(c.node("n3"), a.token, "getAll")).body.channels.map((ch: { id: string }) => ch.id).sort();
  expect(listed).toEqual(made.map((r) => r.body.channel.id).sort());
});

test("a setting made through one node holds on every node: hidden from findUser, refused by createGroup", async () => {
  const owner = await makeClusterUser(c.node("n1"), "Hidden");
  const other = await makeClusterUser(c.node("n2"), "Seeker");
  expect((await api(c.node("n2"), owner.token, "setPrivacy", { find_by_phone: "nobody", add_to_groups: "contacts" })).status).toBe(200);
  for (const id of c.ids) {
    expect((await api(c.node(id), owner.token, "getPrivacy")).body.privacy).toEqual({ find_by_phone: "nobody", add_to_groups: "contacts" });
    expect((await api(c.node(id), other.token, "findUser", { phone: owner.user.phone })).status).toBe(404);
  }
  const g = await api(c.node("n3"), other.token, "createGroup", { name: "try", client_id: "try-1", members: [owner.user.id] });
  expect(g.body.refused).toEqual([owner.user.id]);
  // The owner writes to them: now a contact, added through another node.
  await api(c.node("n1"), owner.token, "sendMessage", { to: other.user.id, client_id: "hi", type: "text", content: "hi" });
  const added = await api(c.node("n1"), other.token, "addMembers", { channel: g.body.channel.id, members: [owner.user.id] });
  expect(added.body.refused).toEqual([]);
  expect(added.body.channel.members).toContain(owner.user.id);
});
