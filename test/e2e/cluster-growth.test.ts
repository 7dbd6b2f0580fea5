// Growth: three nodes become four by the rolling restart docs/cluster.md
// ("Growth") describes, under steady acknowledged traffic from websocket
// clients (1:1 chats and a group). n4 starts with the four-node --peers; then
// n1, n2 and n3 are restarted one at a time with it, waiting between restarts
// for /healthz 200 on the nodes that hold the majority (the old list's while
// the new one has fewer than a majority of its nodes). Clients move to another
// node when theirs stops or refuses them, and resend a refused or unanswered
// send with the same client_id. Afterwards: every acknowledged message is there
// exactly once, seqs are dense in every channel, all four nodes report one
// shard map with some shards on n4, each serving its part, and a write to every
// shard is taken. No node logs a refusal or a failed phone check.

import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { groupIdFor } from "../../src/server/ids.ts";
import { shardOf } from "../../src/server/store/layout.ts";
import { api, WsClient, type TestUser } from "../harness.ts";
import { startCluster, type Cluster, type ClusterStatus } from "../support/cluster.ts";

setDefaultTimeout(240_000);

const OLD = ["n1", "n2", "n3"];
const ALL = ["n1", "n2", "n3", "n4"];

let c: Cluster;
afterAll(async () => {
  await c?.stop();
});

interface Ack {
  channel: string;
  client_id: string;
  /** When the send was first tried, and when it was acknowledged (ms since the epoch). */
  tried: number;
  acked: number;
  /** Tries refused `unavailable` (or unanswered) before the one acknowledged. */
  refused: number;
  /** The restart step under way when it was first tried. */
  step: string;
}

const CLOSED = Symbol("closed");

/** One client sending in one channel, moving between nodes as a client does. */
function sender(u: TestUser, tag: string, target: { to: string } | { channel: string }, pauseMs: number, state: { stop: boolean; step: string; acks: Ack[]; errors: string[] }) {
  let ws: WsClient | null = null;
  let next = Number(tag.replace(/\D/g, "")) || 0;
  const connect = async (): Promise<WsClient> => {
    for (;;) {
      // Any running node; one that refuses the upgrade (out of its quorum, stopping) is skipped.
      const up = ALL.filter((id) => c.running(id));
      const id = up[next++ % up.length]!;
      try {
        return await WsClient.connect(c.server(id), u.token);
      } catch {
        await Bun.sleep(100);
      }
    }
  };
  return (async () => {
    for (let i = 0; !state.stop && state.errors.length === 0; i++) {
      const client_id = `${tag}-${i}`;
      const tried = Date.now();
      const step = state.step;
      for (let refused = 0, tries = 0; ; tries++) {
        if (tries > 600) throw new Error(`send ${client_id} never acknowledged`);
        if (!ws || ws.closed) ws = await connect();
        const w = ws;
        const id = w.send("sendMessage", { ...target, type: "text", content: client_id, client_id });
        const r = await w.until(() => w.replies.get(id) ?? (w.closed ? CLOSED : null), 15_000, `reply to ${client_id}`).catch(() => CLOSED);
        if (r !== CLOSED && r.ok) {
          state.acks.push({ channel: r.message.channel, client_id, tried, acked: Date.now(), refused, step });
          break;
        }
        if (r === CLOSED) {
          refused++;
          w.close();
          ws = null;
          continue;
        }
        // Over the device's rate: not a refusal of the shard; a client waits as told.
        if (r.error?.code === "unavailable") refused++;
        else if (r.error?.code !== "rate_limited") throw new Error(`send ${client_id}: ${JSON.stringify(r.error)}`);
        await Bun.sleep(Math.min(1000, r.error.retry_after_ms ?? 250));
      }
      await Bun.sleep(pauseMs);
    }
    ws?.close();
  })().catch((e) => {
    ws?.close();
    state.errors.push(String(e));
  });
}

/** Every message of `channel`, read as `u` through node `via` (retrying `unavailable`). */
async function history(via: string, u: TestUser, channel: string): Promise<any[]> {
  const out: any[] = [];
  for (let tries = 0; ; tries++) {
    const r = await api(c.server(via), u.token, "getMessages", { channel, after_seq: out.at(-1)?.seq ?? 0, limit: 200 });
    if (r.status === 503 && tries < 100) {
      await Bun.sleep(200);
      continue;
    }
    expect(r.status).toBe(200);
    out.push(...r.body.messages);
    if (!r.body.has_more) return out;
  }
}

/** Polls until all four nodes report one fingerprint and shard map, and each serves exactly its shards. */
async function settled(ms = 60_000): Promise<ClusterStatus> {
  const end = Date.now() + ms;
  let seen = "";
  for (;;) {
    const all = await Promise.all(ALL.map((id) => c.status(id).catch(() => null)));
    if (all.every((s) => s)) {
      const sts = all as ClusterStatus[];
      const key = (s: ClusterStatus) => JSON.stringify([s.fingerprint, s.shards.map((x) => x.node)]);
      const mine = (s: ClusterStatus) => JSON.stringify(s.shards.filter((x) => x.node === s.node).map((x) => x.shard));
      seen = sts.map((s) => `${s.node}: ${key(s)} serving ${JSON.stringify(s.serving)}`).join("\n");
      if (sts.every((s) => key(s) === key(sts[0]!) && mine(s) === JSON.stringify(s.serving))) return sts[0]!;
    }
    if (Date.now() > end) throw new Error(`no settled shard map on ${ALL.join(", ")} after ${ms} ms; last seen:\n${seen}`);
    await Bun.sleep(100);
  }
}

test("n4 added by a rolling restart under traffic: its shards move to it, nothing acknowledged is lost or doubled, every shard takes writes", async () => {
  c = await startCluster({ nodes: 4, initial: OLD });
  await c.run(async () => {
    await c.waitHealthy();
    const before = await c.waitSameMap();
    const shards = before.shards.length;
    expect(before.shards.every((s) => OLD.includes(s.node))).toBe(true);

    const users: TestUser[] = [];
    for (let i = 0; i < 6; i++) users.push(await c.makeUser(`G${i}`, { createdOn: OLD[i % 3], loginOn: OLD[(i + 1) % 3] }));
    // A group of all six, and one probe group per shard (its id is fixed by creator + client_id).
    const admin = await WsClient.connect(c.server("n1"), users[0]!.token);
    const group = (await admin.call("createGroup", { name: "growth", members: users.slice(1).map((u) => u.user.id), client_id: "growth" })).channel.id;
    const probes: string[] = [];
    for (let s = 0; s < shards; s++) {
      let k = 0;
      while (shardOf(groupIdFor(users[0]!.user.id, `probe-${k}`), shards) !== s) k++;
      probes.push((await admin.call("createGroup", { name: `probe ${s}`, members: users.slice(1).map((u) => u.user.id), client_id: `probe-${k}` })).channel.id);
      expect(shardOf(probes[s]!, shards)).toBe(s);
    }
    admin.close();

    // Steady traffic: three 1:1 chats (both ways), two senders in the group, and one sender in each
    // probe group, so every shard is written while it moves.
    const state = { stop: false, step: "3 nodes", acks: [] as Ack[], errors: [] as string[] };
    const loops = [
      ...[0, 2, 4].flatMap((i) => [
        sender(users[i]!, `d${i}`, { to: users[i + 1]!.user.id }, 20, state),
        sender(users[i + 1]!, `d${i + 1}`, { to: users[i]!.user.id }, 20, state),
      ]),
      sender(users[0]!, "g0", { channel: group }, 20, state),
      sender(users[3]!, "g3", { channel: group }, 20, state),
      ...probes.map((channel, s) => sender(users[s % 6]!, `p${s}`, { channel }, 100, state)),
    ];
    /** Waits for `n` more acknowledged sends (traffic goes on between the steps). */
    const more = async (n: number) => {
      const want = state.acks.length + n;
      for (const end = Date.now() + 60_000; state.acks.length < want; await Bun.sleep(50)) {
        if (state.errors.length > 0) throw new Error(state.errors.join("\n"));
        if (Date.now() > end) throw new Error(`traffic stalled at ${state.acks.length} acknowledged sends (step: ${state.step})`);
      }
    };
    await more(100);

    // 1. The new node, with the full list: it joins no group yet, and does not exit.
    state.step = "n4 started";
    await c.start("n4", { peers: ALL });
    // Each old node has answered it (a warning each, no refusal), and it still runs.
    const warned = () => c.logs("n4").split("another --peers list").length - 1;
    for (let i = 0; i < 300 && c.running("n4") && warned() < OLD.length; i++) await Bun.sleep(100);
    expect(warned()).toBe(OLD.length);
    await more(50);
    expect(c.running("n4")).toBe(true);
    expect(await c.health("n4")).toBe(503);

    // 2. The old nodes one at a time, with the full list.
    for (const [k, id] of OLD.entries()) {
      state.step = `${id} restarted`;
      await c.restart(id, { peers: ALL });
      // The majority is the old list's until the new list's nodes are a majority of four.
      const newList = ["n4", ...OLD.slice(0, k + 1)];
      for (const g of newList.length >= 3 ? newList : OLD.slice(k + 1)) await c.waitHealthy(g, 60_000);
      await more(50);
    }
    state.step = "4 nodes";
    const after = await settled();
    await c.waitHealthy();
    await more(100);
    state.stop = true;
    await Promise.all(loops);
    expect(state.errors).toEqual([]);

    // One shard map on all four, some of it on n4, each node serving its part.
    expect(after.shards.some((s) => s.node === "n4")).toBe(true);
    expect(new Set(after.shards.map((s) => s.node))).toEqual(new Set(ALL));
    const final = await settled();
    expect(final.fingerprint).toBe(after.fingerprint);

    // Every acknowledged message exactly once; dense seqs per channel.
    const readers = new Map<string, TestUser>([[group, users[0]!], ...probes.map((p) => [p, users[0]!] as const)]);
    for (const i of [0, 2, 4]) {
      const ch = state.acks.find((a) => a.client_id.startsWith(`d${i}-`))!.channel;
      readers.set(ch, users[i]!);
    }
    expect(readers.size).toBe(4 + shards);
    const present = new Map<string, number>();
    for (const [k, [channel, u]] of [...readers].entries()) {
      const h = await history(ALL[k % 4]!, u, channel);
      expect(h.map((m) => m.seq)).toEqual(Array.from({ length: h.length }, (_, i) => i + 1));
      for (const m of h) present.set(`${channel}/${m.client_id}`, (present.get(`${channel}/${m.client_id}`) ?? 0) + 1);
    }
    const doubled = [...present].filter(([, n]) => n > 1);
    expect(doubled).toEqual([]);
    const lost = state.acks.filter((a) => !present.has(`${a.channel}/${a.client_id}`));
    expect(lost).toEqual([]);

    // A write to every shard is taken (none is stuck moving).
    const probe = await WsClient.connect(c.server("n4"), users[0]!.token);
    for (const [s, channel] of probes.entries()) {
      let r: any;
      for (let tries = 0; tries < 40; tries++) {
        r = await probe.request("sendMessage", { channel, type: "text", content: `probe ${s}`, client_id: `probe-${s}` });
        if (r.ok || r.error?.code !== "unavailable") break;
        await Bun.sleep(250);
      }
      expect({ shard: s, ok: r.ok, error: r.error }).toEqual({ shard: s, ok: true, error: undefined });
    }
    probe.close();

    // No node took the rolling restart for a misconfiguration, or logged a false phone-check error:
    // each start checked the phones once, when every shard was served.
    const count = (id: string, what: string) => c.logs(id).split(what).length - 1;
    for (let i = 0; i < 300 && !ALL.every((id) => count(id, '"phones checked"') === count(id, " start: ")); i++) await Bun.sleep(100);
    for (const id of ALL) {
      expect(count(id, '"phones checked"')).toBe(count(id, " start: "));
      expect(c.logs(id)).not.toContain("phone check skipped");
      const log = c.logs(id);
      expect(log).not.toContain("refusing to join");
      expect(log).not.toContain("node refused us");
      expect(log).not.toContain("phone check failed");
    }

    // What clients saw: how long a send kept being refused while its shard moved, per step.
    const refusedMs = (a: Ack) => (a.refused > 0 ? a.acked - a.tried : 0);
    const bySteps = new Map<string, number[]>();
    for (const a of state.acks) bySteps.set(a.step, [...(bySteps.get(a.step) ?? []), refusedMs(a)]);
    const worst = [...bySteps].map(([s, ms]) => `${s}: ${ms.length} sends, ${ms.filter((x) => x > 0).length} refused first, longest ${Math.max(...ms)} ms`);
    const byShard = Array.from({ length: shards }, (_, sh) => Math.max(0, ...state.acks.filter((a) => shardOf(a.channel, shards) === sh).map(refusedMs)));
    worst.push(`longest refusal per shard (ms): ${JSON.stringify(byShard)}`);
    const counters = await Promise.all(ALL.map(async (id) => `${id} ${JSON.stringify(((await c.status(id)) as any).counters)}`));
    const lines = (re: RegExp) => ALL.map((id) => c.logs(id).split("\n").filter((l) => re.test(l)).length).join("/");
    console.log(
      `acknowledged ${state.acks.length}; map after: ${JSON.stringify(after.shards.map((s) => s.node))}\n${worst.join("\n")}\n${counters.join("\n")}\n` +
        `per node n1/n2/n3/n4: restored ${lines(/shard restored from the replica/)}, own rows kept ${lines(/own unreplicated rows kept/)}, ` +
        `handed over early ${lines(/before the replica caught up/)}, list warnings ${lines(/another --peers list/)}`,
    );
  });
});
