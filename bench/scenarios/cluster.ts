// cluster: what clustering costs on this box, run as `npm run bench -- cluster [options]`.
// 1 node (no cluster flags) vs 3 nodes (test/support/cluster.ts) under the same
// load: direct durable sends between pairs whose two clients sit on different
// nodes (so most messages cross a node link), and group sends with members
// spread over the nodes; on 3 nodes also same-node pairs (both clients and
// their channel's owner on one node) at the same rate (cross-node vs
// same-node send -> deliver, and by node links crossed); both loads again at
// the most they take ("max": the throughput ratio); and a kill -9 of one
// node: time until its failure is seen, its shards are served again and all
// its clients are back on the survivors. Three processes share the cores: the 1-vs-3 ratio is the cost of
// clustering, not scale. The generator runs in this process (both ends of
// every message, on different nodes, must be seen by one clock).

import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startCluster, type Cluster } from "../../test/support/cluster.ts";
import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import { cpuPercent, cpuSample, machineInfo } from "../lib/procstat.ts";
import { fmt, makeProgress, ratio, table, type Progress } from "../lib/report.ts";
import { directChannelId } from "../../src/server/ids.ts";
import { shardOf } from "../../src/server/store/layout.ts";

export const CLUSTER_HELP = `natter cluster benchmark: npm run bench -- cluster [options]

Starts 1 node, then 3 nodes (one replica dir, loopback), and measures:
  direct     pairs send 100-byte texts at aggregate rate R; each pair's two
             clients on different nodes (3 nodes), so messages cross links
  same-node  (3 nodes) the same rate with both clients of a pair and their
             channel's owner on one node (no link crossed)
  max        direct and group again, offered more than they take (paced by
             the in-flight cap): the 1-vs-3 throughput ratio
  group      G groups of N members spread over the nodes, at rate R
  failover   (3 nodes) kill -9 of n2: time to its shards served again by the
             survivors, and to all of its clients reconnected to them

Options:
  --quick              small and short (under a minute or two)
  --clients C          direct: clients, in pairs (default 200; quick 60)
  --rate R             direct: messages/s offered (default 2000; quick 500)
  --groups G           group: groups (default 2; quick 1)
  --group-size N       group: members each (default 50; quick 20)
  --group-rate R       group: messages/s offered (default 200; quick 50)
  --duration S         measured seconds per step (default 10; quick 3)
  --warmup S           warm-up seconds before measuring (default 2; quick 0.5)
  --failover-clients N clients connected during the kill (default 300; quick 60)
  --no-failover        skip the kill -9 measurement
  --no-max             skip the "max" steps (direct and group offered more than
                       they take, paced by the in-flight cap: throughput)
  --clients-back-timeout S  wait at most S seconds for the killed node's
                       clients to be back (default 60)
  --only 1|3|failover  run only the 1-node steps, the 3-node steps, or the
                       kill -9 (on a fresh 3-node cluster)
  --server-arg ARG     extra flag for every natter serve (repeatable)
  --json               print the results as JSON on stdout
  --out FILE           also write the JSON results to FILE
  -h, --help           this text

Exits 2 when this natter has no cluster support (serve --help lacks --node-id).
`;

export interface ClusterBenchOptions {
  quick: boolean;
  clients: number;
  rate: number;
  groups: number;
  groupSize: number;
  groupRate: number;
  durationMs: number;
  warmupMs: number;
  failoverClients: number;
  failover: boolean;
  /** Also run each load at the most it takes ("max" steps): the throughput ratio. */
  maxRate: boolean;
  /** How long to wait for the killed node's clients. */
  clientsBackMs: number;
  /** Run only this part: the load steps on 1 node, on 3 nodes, or the kill -9. */
  only: "1" | "3" | "failover" | null;
  serverArgs: string[];
  json: boolean;
  out: string | null;
}

function onlyOf(v: string | undefined): ClusterBenchOptions["only"] {
  if (v === undefined) return null;
  if (v === "1" || v === "3" || v === "failover") return v;
  throw new Error(`--only must be 1, 3 or failover (got ${JSON.stringify(v)})`);
}

export function parseClusterOptions(argv: string[]): ClusterBenchOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      out: { type: "string" },
      clients: { type: "string" },
      rate: { type: "string" },
      groups: { type: "string" },
      "group-size": { type: "string" },
      "group-rate": { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      "failover-clients": { type: "string" },
      "no-failover": { type: "boolean" },
      "no-max": { type: "boolean" },
      "clients-back-timeout": { type: "string" },
      only: { type: "string" },
      "server-arg": { type: "string", multiple: true },
    },
  });
  if (values.help) return "help";
  if (positionals.length) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const q = values.quick === true;
  const num = (k: keyof typeof values, def: number, min: number): number => {
    const v = values[k];
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${k} must be a number >= ${min} (got ${JSON.stringify(v)})`);
    return n;
  };
  return {
    quick: q,
    clients: Math.max(2, Math.floor(num("clients", q ? 60 : 200, 2) / 2) * 2),
    rate: num("rate", q ? 500 : 2000, 1),
    groups: num("groups", q ? 1 : 2, 1),
    groupSize: num("group-size", q ? 20 : 50, 2),
    groupRate: num("group-rate", q ? 50 : 200, 1),
    durationMs: num("duration", q ? 3 : 10, 0.5) * 1000,
    warmupMs: num("warmup", q ? 0.5 : 2, 0) * 1000,
    failoverClients: num("failover-clients", q ? 60 : 300, 1),
    failover: values["no-failover"] !== true,
    maxRate: values["no-max"] !== true,
    clientsBackMs: num("clients-back-timeout", 60, 1) * 1000,
    only: onlyOf(values.only),
    serverArgs: values["server-arg"] ?? [],
    json: values.json === true,
    out: values.out ?? null,
  };
}

/** A protocol client that knows every node's URL and, when its node dies, moves to another (full-jitter backoff). */
class Client {
  ws: WebSocket | null = null;
  node = "";
  private nextId = 1;
  private readonly pending = new Map<number, (r: any) => void>();
  onMessage: (m: { client_id: string; sender: string; channel: string }) => void = () => {};
  /** Set while the client should come back after a close. */
  reconnectTo: string[] | null = null;
  backAt = 0;
  moving = false;
  /** Connection attempts, and those given up after CONNECT_TIMEOUT_MS without a hello. */
  attempts = 0;
  timeouts = 0;
  lastError = "";

  constructor(readonly token: string, readonly userId: string) {}

  open(node: string, url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(this.token)}`);
      this.ws = ws;
      this.attempts++;
      // As src/client does (connectTimeoutMs): an upgrade or hello that never comes is given up.
      const timer = setTimeout(() => {
        this.timeouts++;
        this.lastError = `no hello from ${node} within ${CONNECT_TIMEOUT_MS} ms (readyState ${ws.readyState})`;
        reject(new Error(this.lastError));
        ws.close();
      }, CONNECT_TIMEOUT_MS);
      ws.onmessage = (e) => {
        const f = JSON.parse(String(e.data));
        if (f.ev === "hello") {
          clearTimeout(timer);
          // `node` names where the client is served: set only once that node said hello.
          this.node = node;
          this.backAt = performance.now();
          resolve();
        } else if (f.ev === "message") this.onMessage(f.message);
        else if ("re" in f) {
          const cb = this.pending.get(f.re);
          this.pending.delete(f.re);
          cb?.(f);
        }
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`websocket to ${node} failed`));
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        this.lastError = `closed ${e.code}${e.reason ? ` ${e.reason}` : ""} (${node})`;
        for (const cb of this.pending.values()) cb({ ok: false, error: { code: "closed" } });
        this.pending.clear();
        reject(new Error(`closed before hello (${node})`));
        if (this.ws === ws && this.reconnectTo && !this.moving) void this.moveOn(node);
      };
    });
  }

  private async moveOn(dead: string): Promise<void> {
    this.moving = true;
    const others = this.reconnectTo!.filter((u) => !u.startsWith(`${dead}=`));
    for (let attempt = 0; this.reconnectTo; attempt++) {
      await Bun.sleep(Math.random() * Math.min(2000, 50 * 2 ** attempt));
      const pick = others[Math.floor(Math.random() * others.length)]!;
      const eq = pick.indexOf("=");
      try {
        await this.open(pick.slice(0, eq), pick.slice(eq + 1));
        break;
      } catch (e) {
        this.lastError = (e as Error).message;
      }
    }
    this.moving = false;
  }

  call(op: string, params: Record<string, unknown>): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws!.send(JSON.stringify({ id, op, ...params }));
    });
  }

  close(): void {
    this.reconnectTo = null;
    this.ws?.close();
  }
}

export interface ClusterStep {
  name: string;
  nodes: number;
  rate_offered: number;
  acked_per_sec: number;
  deliveries_per_sec: number;
  send_to_deliver: LatencySummary;
  lost: number;
  duplicates: number;
  errors: number;
  /** CPU of all node processes together, percent of one core. */
  nodes_cpu_percent: number;
  /** CPU of this process (the generator and every client), percent of one core. */
  bench_cpu_percent: number;
  /**
   * Direct steps: send -> deliver by the node links a message crossed: "0 hops"
   * (sender, channel owner and recipient on one node), "1 hop", "2 hops".
   */
  by_hops?: Record<string, LatencySummary>;
}

type Sender = { client: Client; channel: string; recipients: Client[] };

export interface FailoverResult {
  clients_on_killed: number;
  shards_moved: number;
  /** kill -9 -> every shard of the killed node served by a survivor (same map on both, both healthy). */
  shards_served_s: number;
  /** kill -9 -> every client of the killed node connected (hello) to a survivor. */
  clients_back_s: number | null;
  /** Clients of the killed node back on a survivor when the wait ended, and when half of them were. */
  clients_back: number;
  clients_back_p50_s: number | null;
  /** Their connection attempts after the kill, and those given up without a hello (CONNECT_TIMEOUT_MS). */
  attempts: number;
  connect_timeouts: number;
  /** The last error of each client not back, counted. */
  not_back: Record<string, number>;
  /** kill -9 -> the first survivor's view change (failure detected). */
  detected_s: number | null;
  /** Each of the victim's shards: restore from the replica, ms (survivors' logs). */
  restore_ms: number[];
  /** Files in the replica dir at the kill (snapshots and WAL segments a restore reads from). */
  replica_files: number;
}

export interface ClusterBenchReport {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  options: Omit<ClusterBenchOptions, "json" | "out">;
  steps: ClusterStep[];
  failover: FailoverResult | null;
  ratios: Record<string, number>;
}

/** "Max" steps: an offered rate no run reaches, so the in-flight cap (2,000 direct, GROUP_MAX_INFLIGHT group sends) sets the pace. */
const MAX_RATE = 1_000_000;
const GROUP_MAX_INFLIGHT = 200;

/** src/client's default connect timeout (requestTimeoutMs). */
const CONNECT_TIMEOUT_MS = 15_000;

const BENCH_ARGS = ["--rate-burst", "10000000", "--rate-per-sec", "10000000"];

async function makeClients(c: Cluster, n: number, nodeOf: (i: number) => string, prefix: string): Promise<Client[]> {
  const out: Client[] = new Array(n);
  let next = 0;
  const lanes = Array.from({ length: Math.min(16, n) }, async () => {
    for (let i = next++; i < n; i = next++) {
      const u = await c.makeUser(`${prefix}${i}`, { createdOn: c.ids[i % c.ids.length], loginOn: nodeOf(i), device: "bench" });
      const cl = new Client(u.token, u.user.id);
      await cl.open(nodeOf(i), c.url(nodeOf(i)));
      out[i] = cl;
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Sends at `rate`/s round-robin over `senders` for warm-up + duration, then waits for deliveries; one step's figures. */
async function loadStep(
  c: Cluster,
  name: string,
  senders: Sender[],
  rate: number,
  o: ClusterBenchOptions,
  opts: { maxInflight?: number; ownerOf?: (channel: string) => string } = {},
): Promise<ClusterStep> {
  const maxInflight = opts.maxInflight ?? 2000;
  const hist = new Histogram();
  const hops = [new Histogram(), new Histogram(), new Histogram()];
  const sentAt = new Map<string, { t: number; want: number; got: number; measured: boolean; from: string; owner: string }>();
  let dups = 0;
  let deliveries = 0;
  for (const s of senders)
    for (const r of s.recipients)
      r.onMessage = (m) => {
        const e = sentAt.get(m.client_id);
        if (!e) return;
        e.got++;
        if (e.got > e.want) return void dups++;
        if (e.measured) {
          const ms = performance.now() - e.t;
          hist.add(ms);
          if (opts.ownerOf) hops[Number(e.from !== e.owner) + Number(e.owner !== r.node)]!.add(ms);
          deliveries++;
        }
      };
  const pids = c.ids.filter((id) => c.running(id)).map((id) => c.node(id).proc!.pid);
  let acked = 0;
  let errors = 0;
  let seq = 0;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const end = measureFrom + o.durationMs;
  let cpu0: ReturnType<typeof cpuSample>[] = [];
  let self0 = process.cpuUsage();
  let selfAt0 = 0;
  let measuring = false;
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  while (performance.now() < end) {
    const now = performance.now();
    if (!measuring && now >= measureFrom) {
      measuring = true;
      cpu0 = pids.map(cpuSample);
      self0 = process.cpuUsage();
      selfAt0 = performance.now();
    }
    const due = Math.floor(((now - t0) / 1000) * rate) - sent;
    for (let k = 0; k < due && inflight.size < maxInflight; k++, sent++) {
      const s = senders[sent % senders.length]!;
      const id = `${name}-${seq++}`;
      const measured = measuring;
      sentAt.set(id, { t: performance.now(), want: s.recipients.length, got: 0, measured, from: s.client.node, owner: opts.ownerOf?.(s.channel) ?? "" });
      const p = s.client.call("sendMessage", { channel: s.channel, client_id: id, type: "text", content: "x".repeat(100) }).then((r) => {
        if (!r.ok) errors++;
        else if (measured) acked++;
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await Bun.sleep(5);
  }
  const cpu1 = pids.map(cpuSample);
  const self1 = process.cpuUsage(self0);
  const selfMs = performance.now() - selfAt0;
  await Promise.all(inflight);
  // Drain: wait (bounded) for every acked message's deliveries.
  const drainEnd = performance.now() + 5000;
  const missing = () => [...sentAt.values()].reduce((n, e) => n + Math.max(0, e.want - e.got), 0);
  while (missing() > 0 && performance.now() < drainEnd) await Bun.sleep(20);
  const secs = o.durationMs / 1000;
  return {
    name,
    nodes: pids.length,
    rate_offered: rate,
    acked_per_sec: Math.round(acked / secs),
    deliveries_per_sec: Math.round(deliveries / secs),
    send_to_deliver: hist.summary(),
    lost: missing(),
    duplicates: dups,
    errors,
    nodes_cpu_percent: Math.round(pids.reduce((s, _, i) => s + cpuPercent(cpu0[i] ?? null, cpu1[i] ?? null), 0) * 10) / 10,
    bench_cpu_percent: selfMs > 0 ? Math.round(((self1.user + self1.system) / 1000 / selfMs) * 1000) / 10 : 0,
    ...(opts.ownerOf ? { by_hops: Object.fromEntries(hops.map((h, i) => [`${i} hop${i === 1 ? "" : "s"}`, h.summary()])) } : {}),
  };
}

/** Pairs (2k, 2k+1) on nodes `nodeOf`; both send to each other over their direct channel. */
async function directSenders(c: Cluster, clients: Client[]) {
  const out: Sender[] = [];
  for (let i = 0; i + 1 < clients.length; i += 2) {
    const [a, b] = [clients[i]!, clients[i + 1]!];
    const r = await a.call("sendMessage", { to: b.userId, client_id: `first-${i}`, type: "text", content: "hi" });
    if (!r.ok) throw new Error(`first message failed: ${JSON.stringify(r.error)}`);
    out.push({ client: a, channel: r.message.channel, recipients: [b] }, { client: b, channel: r.message.channel, recipients: [a] });
  }
  return out;
}

async function groupSenders(clients: Client[], size: number) {
  const out: Sender[] = [];
  for (let g = 0; (g + 1) * size <= clients.length; g++) {
    const members = clients.slice(g * size, (g + 1) * size);
    const r = await members[0]!.call("createGroup", { name: `bench ${g}`, members: members.slice(1).map((m) => m.userId) });
    if (!r.ok) throw new Error(`createGroup failed: ${JSON.stringify(r.error)}`);
    for (const m of members) out.push({ client: m, channel: r.channel.id, recipients: members.filter((x) => x !== m) });
  }
  return out;
}

async function failover(c: Cluster, o: ClusterBenchOptions, progress: Progress): Promise<FailoverResult> {
  const all = c.ids.map((id) => `${id}=${c.url(id)}`);
  const clients = await makeClients(c, o.failoverClients, (i) => c.ids[i % c.ids.length]!, "f");
  for (const cl of clients) cl.reconnectTo = all;
  const before = await c.waitSameMap();
  const victim = "n2";
  // Users and logins made through the victim must be in the replica before the kill, or their tokens
  // are lost with it (within the recovery point, as documented) and those clients can never come back.
  const lagStart = performance.now();
  let lag: number[] = [];
  while (performance.now() - lagStart < 30_000) {
    lag = (await c.status(victim)).shards.filter((x) => x.node === victim).map((x) => x.replica_lag_ms ?? -1);
    if (lag.every((x) => x === 0)) break;
    await Bun.sleep(50);
  }
  progress(`failover: ${victim}'s shards replicated (lag ${lag.join(",")} ms) after ${((performance.now() - lagStart) / 1000).toFixed(2)} s`);
  const onVictim = clients.filter((cl) => cl.node === victim);
  const shards = before.shards.filter((s) => s.node === victim).length;
  progress(`failover: kill -9 ${victim} (${shards} shards, ${onVictim.length} clients)`);
  const replicaFiles = countFiles(c.replicaDir);
  const t0 = performance.now();
  const killedAt = Date.now();
  await c.kill9(victim);
  const survivors = c.ids.filter((id) => id !== victim);
  await c.waitSameMap({ ids: survivors, notOn: [victim], ms: 120_000 });
  await Promise.all(survivors.map((id) => c.waitHealthy(id, 120_000)));
  const served = (performance.now() - t0) / 1000;
  // Where the time went, from the survivors' logs: the view change (failure detected) and each shard's restore.
  const after = survivors.flatMap((id) =>
    c
      .logs(id)
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { time: string; msg: string; ms?: number })
      .filter((l) => Date.parse(l.time) >= killedAt),
  );
  const viewAt = Math.min(...after.filter((l) => l.msg === "cluster: view changed").map((l) => Date.parse(l.time)));
  const restores = after.filter((l) => l.msg === "cluster: shard restored from the replica").map((l) => l.ms ?? 0);
  const breakdown = {
    detected_s: Number.isFinite(viewAt) ? Math.round((viewAt - killedAt) / 10) / 100 : null,
    restore_ms: restores.sort((a, b) => a - b),
    replica_files: replicaFiles,
  };
  progress(`failover: shards served again after ${served.toFixed(2)} s (view changed after ${breakdown.detected_s} s; restores took ${restores.join(", ")} ms; ${fmt(replicaFiles)} files in the replica); waiting for ${victim}'s clients`);
  const attempts0 = onVictim.reduce((s, cl) => s + cl.attempts, 0);
  const timeouts0 = onVictim.reduce((s, cl) => s + cl.timeouts, 0);
  const deadline = performance.now() + o.clientsBackMs;
  const moved = (cl: Client) => cl.node !== victim && cl.backAt > t0;
  while (!onVictim.every(moved) && performance.now() < deadline) await Bun.sleep(20);
  const backs = onVictim.filter(moved).map((cl) => (cl.backAt - t0) / 1000).sort((a, b) => a - b);
  const back = backs.length === onVictim.length ? Math.max(0, ...backs) : null;
  const notBack: Record<string, number> = {};
  for (const cl of onVictim.filter((x) => !moved(x))) {
    // What a survivor answers this client's upgrade request, as plain HTTP (a WebSocket hides the status).
    const probe = await fetch(`${c.url(survivors[0]!)}/ws?token=${encodeURIComponent(cl.token)}`, {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
      signal: AbortSignal.timeout(5000),
    }).then(
      async (r) => `${survivors[0]} answers ${r.status} ${(await r.text()).slice(0, 120)}`,
      (e) => `${survivors[0]} probe failed: ${(e as Error).message}`,
    );
    const k = `${cl.moving ? "moving" : "idle"}, ws ${cl.ws?.readyState ?? "-"}, ${cl.lastError.replace(/\d{4,}/g, "N") || "no error"}; ${probe.replace(/"request_id":"[^"]*"/, "")}`;
    notBack[k] = (notBack[k] ?? 0) + 1;
  }
  for (const cl of clients) cl.close();
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    clients_on_killed: onVictim.length,
    shards_moved: shards,
    shards_served_s: r2(served),
    clients_back_s: back === null ? null : r2(back),
    clients_back: backs.length,
    clients_back_p50_s: backs.length * 2 >= onVictim.length && backs.length ? r2(backs[Math.ceil(onVictim.length / 2) - 1]!) : null,
    attempts: onVictim.reduce((s, cl) => s + cl.attempts, 0) - attempts0,
    connect_timeouts: onVictim.reduce((s, cl) => s + cl.timeouts, 0) - timeouts0,
    not_back: notBack,
    ...breakdown,
  };
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

/** channel -> the node that owns its shard, from node `via`'s shard map. */
async function ownerMap(c: Cluster, via: string): Promise<(channel: string) => string> {
  const st = await c.status(via);
  const owner = new Map(st.shards.map((x) => [x.shard, x.node] as const));
  return (channel) => owner.get(shardOf(channel, st.shards.length)) ?? "?";
}

/**
 * `count` clients in pairs where both clients AND their direct channel's owner
 * are on one node (pairs spread over the nodes): the zero-link path. Clients
 * made beyond the pairs are closed.
 */
async function sameNodePairs(c: Cluster, count: number, ownerOf: (channel: string) => string, prefix: string): Promise<{ pairs: Client[]; spare: Client[] }> {
  const pairs: Client[] = [];
  const spare: Client[] = [];
  for (const [k, node] of c.ids.entries()) {
    const want = Math.floor(count / 2 / c.ids.length) + (k < (count / 2) % c.ids.length ? 1 : 0);
    const free: Client[] = [];
    let got = 0;
    for (let batch = 0; got < want && batch < 20; batch++) {
      const made = await makeClients(c, batch === 0 ? 2 * want + 4 : 6, () => node, `${prefix}${node}-${batch}-`);
      for (const cl of made) {
        const j = got < want ? free.findIndex((f) => ownerOf(directChannelId(f.userId, cl.userId)) === node) : -1;
        if (j < 0) free.push(cl);
        else {
          pairs.push(free.splice(j, 1)[0]!, cl);
          got++;
        }
      }
    }
    spare.push(...free);
  }
  return { pairs, spare };
}

async function runOn(nodes: number, o: ClusterBenchOptions, progress: Progress, report: ClusterBenchReport): Promise<void> {
  const c = await startCluster({ nodes, cluster: nodes > 1, args: [...BENCH_ARGS, ...o.serverArgs], env: { NATTER_MAX_GROUPS_PER_HOUR: "10000000" } });
  const opened: Client[] = [];
  try {
    await c.waitHealthy(undefined, 120_000);
    if (nodes > 1) await c.waitSameMap({ ms: 120_000 });
    if (o.only === "failover") {
      report.failover = await failover(c, o, progress);
      return;
    }
    const ownerOf = nodes > 1 ? await ownerMap(c, c.ids[0]!) : undefined;
    const at = (i: number) => c.ids[i % nodes]!;
    const step = async (name: string, s: Sender[], rate: number, opts: { maxInflight?: number; ownerOf?: (ch: string) => string } = {}) => {
      progress(`${nodes} node(s) ${name}: ${fmt(rate)} msg/s for ${o.durationMs / 1000} s (+${o.warmupMs / 1000} s warm-up)`);
      const r = await loadStep(c, `${name}-${nodes}`, s, rate, o, opts);
      const hops = r.by_hops ? "; " + Object.entries(r.by_hops).filter(([, h]) => h.count).map(([k, h]) => `${k}: ${fmt(h.count)} p50 ${h.p50_ms} p99 ${h.p99_ms} ms`).join(", ") : "";
      progress(`  acked ${fmt(r.acked_per_sec)}/s, delivered ${fmt(r.deliveries_per_sec)}/s, p50 ${r.send_to_deliver.p50_ms} ms, p99 ${r.send_to_deliver.p99_ms} ms, lost ${r.lost}, dup ${r.duplicates}, err ${r.errors}, nodes CPU ${r.nodes_cpu_percent}%, bench CPU ${r.bench_cpu_percent}%${hops}`);
      report.steps.push({ ...r, name });
    };
    progress(`${nodes} node(s): ${o.clients} direct clients`);
    // Cross-node pairs: client i on node i % nodes, its partner on the next node.
    const direct = await makeClients(c, o.clients, at, `d${nodes}-`);
    opened.push(...direct);
    const directS = await directSenders(c, direct);
    await step(nodes > 1 ? "direct cross-node" : "direct", directS, o.rate, { ownerOf });
    if (nodes > 1) {
      // Same-node pairs: both clients of a pair and their channel's owner on one node.
      const { pairs, spare } = await sameNodePairs(c, o.clients, ownerOf!, `s${nodes}-`);
      opened.push(...pairs, ...spare);
      for (const cl of spare) cl.close();
      await step("direct same-node", await directSenders(c, pairs), o.rate, { ownerOf });
    }
    if (o.maxRate) await step("direct max", directS, MAX_RATE, { ownerOf });
    const n = o.groups * o.groupSize;
    progress(`${nodes} node(s): ${n} group members`);
    const members = await makeClients(c, n, at, `g${nodes}-`);
    opened.push(...members);
    const groupS = await groupSenders(members, o.groupSize);
    await step("group", groupS, o.groupRate);
    if (o.maxRate) await step("group max", groupS, MAX_RATE, { maxInflight: GROUP_MAX_INFLIGHT });
    for (const cl of opened.splice(0)) cl.close();
    if (nodes > 1 && o.failover) report.failover = await failover(c, o, progress);
  } finally {
    for (const cl of opened) cl.close();
    await c.stop();
  }
}

function render(r: ClusterBenchReport): string {
  const rows = r.steps.map((s) => [`${s.name}, ${s.nodes} node(s)`, s.rate_offered >= MAX_RATE ? "max" : fmt(s.rate_offered), fmt(s.acked_per_sec), fmt(s.deliveries_per_sec), s.send_to_deliver.p50_ms, s.send_to_deliver.p99_ms, s.send_to_deliver.max_ms, s.lost, s.duplicates, s.errors, s.nodes_cpu_percent, s.bench_cpu_percent]);
  const parts = [`natter cluster bench  ${r.date}  ${r.machine.nproc} cores ${r.machine.cpu_model} ${r.machine.mem_total_gib} GiB  load ${r.machine.loadavg}`];
  parts.push(table(["step", "offered/s", "acked/s", "deliv/s", "p50 ms", "p99 ms", "max ms", "lost", "dup", "err", "nodes CPU%", "bench CPU%"], rows));
  const hopRows = r.steps.flatMap((s) =>
    Object.entries(s.by_hops ?? {})
      .filter(([, h]) => h.count > 0)
      .map(([k, h]) => [`${s.name}, ${s.nodes} node(s)`, k, fmt(h.count), h.p50_ms, h.p99_ms, h.max_ms]),
  );
  if (hopRows.length) parts.push(table(["send -> deliver by node links crossed", "path", "deliveries", "p50 ms", "p99 ms", "max ms"], hopRows));
  if (r.failover) {
    const f = r.failover;
    parts.push(
      table(
        ["failover (kill -9 n2)", "shards", "clients", "detected s", "restore ms max", "shards served s", "clients back", "half back s", "all back s", "attempts", "connect timeouts"],
        [["", f.shards_moved, f.clients_on_killed, f.detected_s ?? "-", Math.max(0, ...f.restore_ms), f.shards_served_s, f.clients_back, f.clients_back_p50_s ?? "-", f.clients_back_s ?? "not all", f.attempts, f.connect_timeouts]],
      ),
    );
    if (Object.keys(f.not_back).length) parts.push("not back (state, last error): " + Object.entries(f.not_back).map(([k, v]) => `${v} x ${k}`).join("; "));
  }
  if (Object.keys(r.ratios).length) parts.push("ratios: " + Object.entries(r.ratios).map(([k, v]) => `${k} ${v}`).join(", "));
  return parts.join("\n\n");
}

function ratios(steps: ClusterStep[]): Record<string, number> {
  const get = (name: string, nodes: number) => steps.find((s) => s.name === name && s.nodes === nodes);
  const out: Record<string, number> = {};
  const d1 = get("direct", 1);
  const d3 = get("direct cross-node", 3);
  const s3 = get("direct same-node", 3);
  const g1 = get("group", 1);
  const g3 = get("group", 3);
  if (d1 && d3) out.direct_cpu_3_vs_1_same_rate = ratio(d3.nodes_cpu_percent, d1.nodes_cpu_percent);
  if (d1 && d3) out.direct_p99_3_vs_1 = ratio(d3.send_to_deliver.p99_ms, d1.send_to_deliver.p99_ms);
  if (d3 && s3) out.cross_vs_same_node_p99 = ratio(d3.send_to_deliver.p99_ms, s3.send_to_deliver.p99_ms);
  if (d3 && s3) out.cross_vs_same_node_p50 = ratio(d3.send_to_deliver.p50_ms, s3.send_to_deliver.p50_ms);
  if (g1 && g3) out.group_cpu_3_vs_1_same_rate = ratio(g3.nodes_cpu_percent, g1.nodes_cpu_percent);
  const dm1 = get("direct max", 1);
  const dm3 = get("direct max", 3);
  const gm1 = get("group max", 1);
  const gm3 = get("group max", 3);
  if (dm1 && dm3) out.direct_max_acked_3_vs_1 = ratio(dm3.acked_per_sec, dm1.acked_per_sec);
  if (gm1 && gm3) out.group_max_deliveries_3_vs_1 = ratio(gm3.deliveries_per_sec, gm1.deliveries_per_sec);
  return out;
}

/** `npm run bench -- cluster ...`: returns the exit code. */
export async function runClusterBench(argv: string[]): Promise<number> {
  let o: ClusterBenchOptions;
  try {
    const parsed = parseClusterOptions(argv);
    if (parsed === "help") {
      process.stdout.write(CLUSTER_HELP);
      return 0;
    }
    o = parsed;
  } catch (e) {
    process.stderr.write(`bench cluster: ${(e as Error).message}\n\n${CLUSTER_HELP}`);
    return 2;
  }
  const progress = makeProgress(false);
  const { json: _j, out: _o, ...shown } = o;
  const report: ClusterBenchReport = { date: new Date().toISOString(), machine: machineInfo(), options: shown, steps: [], failover: null, ratios: {} };
  progress(`machine: ${report.machine.nproc} cores, ${report.machine.cpu_model}, load ${report.machine.loadavg}`);
  if (o.only === null || o.only === "1") await runOn(1, o, progress, report);
  if (o.only !== "1") await runOn(3, o, progress, report);
  report.ratios = ratios(report.steps);
  if (o.out) writeFileSync(o.out, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + "\n" : render(report) + "\n");
  return 0;
}
