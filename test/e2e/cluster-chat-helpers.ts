// Helpers of the link and partition tests: pick a 1:1 chat whose channel a
// given node owns, read a channel's whole history, and check what a client
// library instance received against what was acknowledged.

import { expect } from "bun:test";
import { NatterClient } from "../../src/client/index.ts";
import type { Message } from "../../src/protocol/index.ts";
import { directChannelId } from "../../src/server/ids.ts";
import { shardOf } from "../../src/server/store/layout.ts";
import { api, type TestUser } from "../harness.ts";
import type { Cluster, ClusterStatus } from "../support/cluster.ts";

/** The node that owns `channel` in `map`. */
export function ownerOf(map: ClusterStatus, channel: string): string {
  const s = shardOf(channel, map.shards.length);
  return map.shards.find((x) => x.shard === s)!.node;
}

/** A new user whose direct chat with `a` is owned by `owner` (users created through `via`). */
export async function chatOwnedBy(c: Cluster, map: ClusterStatus, a: TestUser, owner: string, name: string, via = "n1"): Promise<{ b: TestUser; channel: string }> {
  for (let i = 0; i < 40; i++) {
    const b = await c.makeUser(`${name}${i}`, { createdOn: via });
    const channel = directChannelId(a.user.id, b.user.id);
    if (ownerOf(map, channel) === owner) return { b, channel };
  }
  throw new Error(`no chat owned by ${owner} after 40 users`);
}

/** Every message of `channel`, read through node `via` (retrying `unavailable`). */
export async function history(c: Cluster, via: string, token: string, channel: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let tries = 0; ; ) {
    const r = await api(c.server(via), token, "getMessages", { channel, after_seq: out.at(-1)?.seq ?? 0, limit: 200 });
    if (r.status === 503 && ++tries < 100) {
      await Bun.sleep(200);
      continue;
    }
    expect(r.status).toBe(200);
    out.push(...r.body.messages);
    if (!r.body.has_more) return out;
  }
}

/** A client library instance on `servers` (tried in this order), collecting what it receives. */
export function libraryClient(token: string, servers: string[]): { client: NatterClient; got: Message[] } {
  // random() near 1 keeps the given order (see src/client/servers.ts).
  const client = new NatterClient({ servers, token, random: () => 0.99, requestTimeoutMs: 30_000, backoff: { baseMs: 100, maxMs: 1000 } });
  const got: Message[] = [];
  client.on("message", (m) => got.push(m));
  client.connect();
  return { client, got };
}

/**
 * The stored history of the channel has dense seqs and each acknowledged
 * client id exactly once; what `got` received of the channel is that whole
 * history in seq order, every message once.
 */
export function checkDelivered(hist: Message[], acked: string[], got: Message[], channel: string): void {
  expect(hist.map((m) => m.seq)).toEqual(hist.map((_, i) => i + 1));
  const ids = hist.map((m) => m.client_id);
  expect(new Set(ids).size).toBe(ids.length);
  const missing = acked.filter((id) => !ids.includes(id));
  expect(missing).toEqual([]);
  // The receiver was connected before the chat's first message: it gets the whole history, in order, once.
  const mine = got.filter((m) => m.channel === channel);
  expect(mine.map((m) => `${m.seq} ${m.client_id}`)).toEqual(hist.map((m) => `${m.seq} ${m.client_id}`));
}
