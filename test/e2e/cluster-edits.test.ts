// Edits, deletes and reactions in a cluster: the op runs on the channel's owner (whichever node the
// caller is on), and its event reaches the members on every node in seq order with the messages.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { allMessages, isMsg } from "./server-helpers.ts";
import type { WsClient } from "../harness.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";

setDefaultTimeout(90_000);

let cluster: Cluster;

describe("cluster: edits, deletes, reactions (3 nodes)", () => {
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("each client on another node: changes reach everyone in seq order; history is the same from every node", async () => {
    await cluster.run(async () => {
      await cluster.waitHealthy();
      await cluster.waitSameMap();
      const users = [];
      for (let i = 0; i < 3; i++) users.push(await cluster.makeUser(`e${i}`, { createdOn: cluster.ids[i]!, loginOn: cluster.ids[i]! }));
      const conns: WsClient[] = [];
      for (let i = 0; i < 3; i++) conns.push(await cluster.connect(users[i]!, cluster.ids[i]!));
      const [a, b, c] = conns as [WsClient, WsClient, WsClient];
      const g = (await a.call("createGroup", { name: "g", members: [users[1]!.user.id, users[2]!.user.id] })).channel.id;
      const m = (await b.call("sendMessage", { channel: g, client_id: "1", type: "text", content: "helo" })).message;
      await c.event(isMsg(m.id), 20_000, "the message on n3");
      await b.call("editMessage", { channel: g, seq: m.seq, content: "hello" });
      await c.call("react", { channel: g, seq: m.seq, emoji: "👍" });
      const after = (await a.call("sendMessage", { channel: g, client_id: "2", type: "text", content: "next" })).message;
      await a.call("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" }); // a is the group's admin
      for (const x of conns) {
        await x.until(() => x.events.some((e: any) => e.ev === "delete" && e.seq === m.seq), 20_000, "the delete event");
        const seqs = x.events
          .filter((e: any) => e.channel === g || e.message?.channel === g)
          .map((e: any) => (e.ev === "message" ? e.message.seq : e.change_seq))
          .filter((s: unknown) => typeof s === "number");
        // In seq order on every node (the sender's own message arrives as its reply, not an event).
        expect([...seqs].sort((p, q) => p - q)).toEqual(seqs);
        expect(seqs).toContain(after.seq + 1);
      }
      const fromEach = await Promise.all(conns.map((x) => allMessages(x, g)));
      for (const h of fromEach) expect(h).toEqual(fromEach[0]!);
      expect(fromEach[0]!.find((x: any) => x.seq === m.seq)).toMatchObject({ content: "", deleted_at: expect.any(Number), reactions: [] });
      expect(fromEach[0]!.map((x: any) => x.type)).toEqual(["text", "change", "change", "text", "change"]);
    });
  });
});
