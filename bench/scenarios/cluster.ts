// cluster: what clustering costs on this box, run as `npm run bench -- cluster [options]`.
// 1 node (no cluster flags) vs 3 nodes (test/support/cluster.ts) under the same
// load: direct durable sends between pairs whose two clients sit on different
// nodes (so most messages cross a node link), and group sends with members
// spread over the nodes; on 3 nodes also same-node pairs at the same rate
// (cross-node vs same-node send -> deliver), and a kill -9 of one node: time
// until its shards are served again and until all its clients are back on the
// survivors. Three processes share the cores: the 1-vs-3 ratio is the cost of
// clustering, not scale. The generator runs in this process (both ends of
// every message, on different nodes, must be seen by one clock).

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startCluster, type Cluster } from "../../test/support/cluster.ts";
import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import { cpuPercent, cpuSample, machineInfo } from "../lib/procstat.ts";
import { fmt, makeProgress, ratio, table, type Progress } from "../lib/report.ts";

export const CLUSTER_HELP = `natter cluster benchmark: npm run bench -- cluster [options]

Starts 1 node, then 3 nodes (one replica dir, loopback), and measures:
  direct     pairs send 100-byte texts at aggregate rate R; each pair's two
             clients on different nodes (3 nodes), so messages cross links
  same-node  (3 nodes) the same rate with both clients of a pair on one node
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
  serverArgs: string[];
  json: boolean;
  out: string | null;
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
  private moving = false;

  constructor(readonly token: string, readonly userId: string) {}

  open(node: string, url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(this.token)}`);
      this.ws = ws;
      ws.onmessage = (e) => {
        const f = JSON.parse(String(e.data));
        if (f.ev === "hello") {
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
      ws.onerror = () => reject(new Error(`websocket to ${node} failed`));
      ws.onclose = () => {
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
      } catch {}
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
}

export interface FailoverResult {
  clients_on_killed: number;
  shards_moved: number;
  /** kill -9 -> every shard of the killed node served by a survivor (same map on both, both healthy). */
  shards_served_s: number;
  /** kill -9 -> every client of the killed node connected (hello) to a survivor. */
  clients_back_s: number | null;
}

export interface ClusterBenchReport {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  options: Omit<ClusterBenchOptions, "json" | "out">;
  steps: ClusterStep[];
  failover: FailoverResult | null;
  ratios: Record<string, number>;
}

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
  senders: Array<{ client: Client; channel: string; recipients: Client[] }>,
  rate: number,
  o: ClusterBenchOptions,
): Promise<ClusterStep> {
  const hist = new Histogram();
  const sentAt = new Map<string, { t: number; want: number; got: number; measured: boolean }>();
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
          hist.add(performance.now() - e.t);
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
  let measuring = false;
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  while (performance.now() < end) {
    const now = performance.now();
    if (!measuring && now >= measureFrom) {
      measuring = true;
      cpu0 = pids.map(cpuSample);
    }
    const due = Math.floor(((now - t0) / 1000) * rate) - sent;
    for (let k = 0; k < due && inflight.size < 2000; k++, sent++) {
      const s = senders[sent % senders.length]!;
      const id = `${name}-${seq++}`;
      const measured = measuring;
      sentAt.set(id, { t: performance.now(), want: s.recipients.length, got: 0, measured });
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
  };
}

/** Pairs (2k, 2k+1) on nodes `nodeOf`; both send to each other over their direct channel. */
async function directSenders(c: Cluster, clients: Client[]) {
  const out: Array<{ client: Client; channel: string; recipients: Client[] }> = [];
  for (let i = 0; i + 1 < clients.length; i += 2) {
    const [a, b] = [clients[i]!, clients[i + 1]!];
    const r = await a.call("sendMessage", { to: b.userId, client_id: `first-${i}`, type: "text", content: "hi" });
    if (!r.ok) throw new Error(`first message failed: ${JSON.stringify(r.error)}`);
    out.push({ client: a, channel: r.message.channel, recipients: [b] }, { client: b, channel: r.message.channel, recipients: [a] });
  }
  return out;
}

async function groupSenders(clients: Client[], size: number) {
  const out: Array<{ client: Client; channel: string; recipients: Client[] }> = [];
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
  const onVictim = clients.filter((cl) => cl.node === victim);
  const shards = before.shards.filter((s) => s.node === victim).length;
  progress(`failover: kill -9 ${victim} (${shards} shards, ${onVictim.length} clients)`);
  const t0 = performance.now();
  await c.kill9(victim);
  const survivors = c.ids.filter((id) => id !== victim);
  await c.waitSameMap({ ids: survivors, notOn: [victim], ms: 120_000 });
  await Promise.all(survivors.map((id) => c.waitHealthy(id, 120_000)));
  const served = (performance.now() - t0) / 1000;
  const deadline = performance.now() + 120_000;
  const moved = (cl: Client) => cl.node !== victim && cl.backAt > t0;
  while (!onVictim.every(moved) && performance.now() < deadline) await Bun.sleep(20);
  const back = onVictim.every(moved) ? Math.max(0, ...onVictim.map((cl) => cl.backAt - t0)) / 1000 : null;
  for (const cl of clients) cl.close();
  return { clients_on_killed: onVictim.length, shards_moved: shards, shards_served_s: Math.round(served * 100) / 100, clients_back_s: back === null ? null : Math.round(back * 100) / 100 };
}

async function runOn(nodes: number, o: ClusterBenchOptions, progress: Progress, report: ClusterBenchReport): Promise<void> {
  const c = await startCluster({ nodes, cluster: nodes > 1, args: [...BENCH_ARGS, ...o.serverArgs], env: { NATTER_MAX_GROUPS_PER_HOUR: "10000000" } });
  const opened: Client[] = [];
  try {
    await c.waitHealthy(undefined, 120_000);
    if (nodes > 1) await c.waitSameMap({ ms: 120_000 });
    const at = (i: number) => c.ids[i % nodes]!;
    progress(`${nodes} node(s): ${o.clients} direct clients`);
    // Cross-node pairs: client i on node i % nodes, its partner on the next node.
    const direct = await makeClients(c, o.clients, at, `d${nodes}-`);
    opened.push(...direct);
    const step = async (name: string, s: Awaited<ReturnType<typeof directSenders>>, rate: number) => {
      progress(`${nodes} node(s) ${name}: ${fmt(rate)} msg/s for ${o.durationMs / 1000} s (+${o.warmupMs / 1000} s warm-up)`);
      const r = await loadStep(c, `${name}-${nodes}`, s, rate, o);
      progress(`  acked ${fmt(r.acked_per_sec)}/s, delivered ${fmt(r.deliveries_per_sec)}/s, p50 ${r.send_to_deliver.p50_ms} ms, p99 ${r.send_to_deliver.p99_ms} ms, lost ${r.lost}, dup ${r.duplicates}, err ${r.errors}, nodes CPU ${r.nodes_cpu_percent}%`);
      report.steps.push({ ...r, name });
    };
    await step(nodes > 1 ? "direct cross-node" : "direct", await directSenders(c, direct), o.rate);
    if (nodes > 1) {
      // Same-node pairs: both clients of a pair on one node.
      const same = await makeClients(c, o.clients, (i) => at(Math.floor(i / 2)), `s${nodes}-`);
      opened.push(...same);
      await step("direct same-node", await directSenders(c, same), o.rate);
    }
    const n = o.groups * o.groupSize;
    progress(`${nodes} node(s): ${n} group members`);
    const members = await makeClients(c, n, at, `g${nodes}-`);
    opened.push(...members);
    await step("group", await groupSenders(members, o.groupSize), o.groupRate);
    for (const cl of opened.splice(0)) cl.close();
    if (nodes > 1 && o.failover) report.failover = await failover(c, o, progress);
  } finally {
    for (const cl of opened) cl.close();
    await c.stop();
  }
}

function render(r: ClusterBenchReport): string {
  const rows = r.steps.map((s) => [`${s.name}, ${s.nodes} node(s)`, fmt(s.rate_offered), fmt(s.acked_per_sec), fmt(s.deliveries_per_sec), s.send_to_deliver.p50_ms, s.send_to_deliver.p99_ms, s.send_to_deliver.max_ms, s.lost, s.duplicates, s.errors, s.nodes_cpu_percent]);
  const parts = [`natter cluster bench  ${r.date}  ${r.machine.nproc} cores ${r.machine.cpu_model}  load ${r.machine.loadavg}`];
  parts.push(table(["step", "offered/s", "acked/s", "deliv/s", "p50 ms", "p99 ms", "max ms", "lost", "dup", "err", "nodes CPU%"], rows));
  if (r.failover) {
    const f = r.failover;
    parts.push(table(["failover (kill -9 n2)", "shards", "clients", "shards served s", "clients back s"], [["", f.shards_moved, f.clients_on_killed, f.shards_served_s, f.clients_back_s ?? "not all"]]));
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
  await runOn(1, o, progress, report);
  await runOn(3, o, progress, report);
  report.ratios = ratios(report.steps);
  if (o.out) writeFileSync(o.out, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + "\n" : render(report) + "\n");
  return 0;
}
