// cluster-idle: many idle websockets held by one cluster, run as
// `npm run bench -- cluster-idle [options]`. Starts N node processes
// (test/support/cluster.ts, one replica dir, loopback), creates a few users
// (creating users is slow, ~100/s) and opens C idle websockets spread evenly
// over the nodes, several per user (the server's --max-connections-per-user
// raised to fit). The file-descriptor limit is per process (here 20,000
// hard): every node holds one fd per socket, and so does every client, so the
// sockets are opened by load-worker processes (bench/worker.ts), each bound
// to one node and holding at most --per-worker of them. Reports per node: the
// connections it counts, its RSS before (users made, settled) and after
// (settled), RSS per connection, the seconds its workers took, its fd count
// and fd limit.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startCluster, type Cluster } from "../../test/support/cluster.ts";
import type { ClientSpec } from "../lib/messages.ts";
import { Pool } from "../lib/pool.ts";
import { cpuPercent, cpuSample, machineInfo, memSample, settledMem } from "../lib/procstat.ts";
import { fmt, makeProgress, table, type Progress } from "../lib/report.ts";

export const CLUSTER_IDLE_HELP = `natter cluster idle-connection benchmark: npm run bench -- cluster-idle [options]

Starts N natter nodes as one cluster (one replica dir, loopback), creates U
users, and opens C idle websockets spread evenly over the nodes (connection j:
user j mod U, node j mod N), through load-worker processes each bound to one
node. Reports per node: connections, RSS before and after, RSS per connection
(after minus the idle baseline), seconds to open them, open fds and fd limit.

Options:
  --quick               6 nodes, 6,000 connections (a minute or so)
  --nodes N             node processes (default 6)
  --connections C       idle websockets in all (default 100000; quick 6000)
  --users U             users they belong to (default ceil(C / 1000)); each
                        node gets --max-connections-per-user ceil(C / U)
  --per-worker K        most sockets one client process holds (default 16000;
                        every socket is an fd and the limit is per process)
  --concurrency K       upgrades in flight per worker (default 50)
  --timeout S           give up connecting after S seconds (default 240)
  --server-arg ARG      extra flag for every natter serve (repeatable)
  --json                print the results as JSON on stdout
  --out FILE            also write the JSON results to FILE
  -h, --help            this text
`;

export interface ClusterIdleOptions {
  quick: boolean;
  nodes: number;
  connections: number;
  users: number;
  perWorker: number;
  concurrency: number;
  timeoutMs: number;
  serverArgs: string[];
  json: boolean;
  out: string | null;
}

export function parseClusterIdleOptions(argv: string[]): ClusterIdleOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      out: { type: "string" },
      nodes: { type: "string" },
      connections: { type: "string" },
      users: { type: "string" },
      "per-worker": { type: "string" },
      concurrency: { type: "string" },
      timeout: { type: "string" },
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
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
    return n;
  };
  const connections = num("connections", q ? 6000 : 100_000, 1);
  return {
    quick: q,
    nodes: num("nodes", 6, 1),
    connections,
    users: Math.min(connections, num("users", Math.ceil(connections / 1000), 1)),
    perWorker: num("per-worker", 16_000, 1),
    concurrency: num("concurrency", 50, 1),
    timeoutMs: num("timeout", 240, 1) * 1000,
    serverArgs: values["server-arg"] ?? [],
    json: values.json === true,
    out: values.out ?? null,
  };
}

export interface IdleNodeResult {
  node: string;
  pid: number;
  /** Sockets this node's workers asked for, and those that said hello. */
  asked: number;
  connected: number;
  /** Connections the node itself counts (GET /admin/cluster, its own row). */
  node_counts: number | null;
  rss_before_mib: number;
  rss_after_mib: number;
  rss_per_conn_kib: number;
  peak_rss_mib: number;
  /** Seconds from the first upgrade to the last hello of this node's workers. */
  open_s: number;
  /** Open fds after connecting, and the process's fd limit (soft/hard). */
  fds: number | null;
  fd_limit: string;
  cpu_percent: number;
  rss_settled: boolean;
  /** Its log lines during the run: view changes and quorum losses (a busy box can starve node heartbeats). */
  view_changes: number;
  quorum_lost: number;
  /** Seconds from the first upgrade to the first quorum loss, if any. */
  quorum_lost_after_s: number | null;
}

export interface ClusterIdleReport {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  options: Omit<ClusterIdleOptions, "json" | "out">;
  fd_limit_bench: string;
  fd_limit_worker: string;
  workers: number;
  users_setup_s: number;
  asked: number;
  connected: number;
  open_s: number;
  connects_per_sec: number;
  rss_before_mib: number;
  rss_after_mib: number;
  /** All nodes: RSS growth / connections. */
  rss_per_conn_kib: number;
  /** Client side: RSS of the worker processes per socket they hold. */
  worker_rss_per_conn_kib: number;
  errors: Record<string, number>;
  /** Connections that had said hello and were closed by their node, by close code (4503: node out of quorum). */
  dropped: Record<string, number>;
  nodes: IdleNodeResult[];
  elapsed_s: number;
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

/** "soft/hard" of a process's "Max open files". */
function fdLimit(pid: number | "self"): string {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? `${m[1]}/${m[2]}` : "unknown";
  } catch {
    return "unknown";
  }
}

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

async function makeUsers(c: Cluster, n: number, progress: Progress): Promise<{ user: string; token: string }[]> {
  const out: { user: string; token: string }[] = new Array(n);
  let next = 0;
  const lanes = Array.from({ length: Math.min(8, n) }, async () => {
    for (let i = next++; i < n; i = next++) {
      const node = c.ids[i % c.ids.length]!;
      const u = await c.makeUser(`idle${i}`, { createdOn: node, loginOn: node, device: "idle" });
      out[i] = { user: u.user.id, token: u.token };
      if ((i + 1) % 100 === 0) progress(`  ${fmt(i + 1)} users`);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Each node's own connection count as it reports it. */
async function nodeCounts(c: Cluster): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  await Promise.all(
    c.ids.map(async (id) => {
      try {
        const s = await c.status(id);
        out.set(id, s.nodes.find((n) => n.id === id)?.connections ?? null);
      } catch {
        out.set(id, null);
      }
    }),
  );
  return out;
}

export async function runClusterIdle(argv: string[]): Promise<number> {
  let o: ClusterIdleOptions;
  try {
    const parsed = parseClusterIdleOptions(argv);
    if (parsed === "help") {
      process.stdout.write(CLUSTER_IDLE_HELP);
      return 0;
    }
    o = parsed;
  } catch (e) {
    process.stderr.write(`bench cluster-idle: ${(e as Error).message}\n\n${CLUSTER_IDLE_HELP}`);
    return 2;
  }
  const progress = makeProgress(false);
  const t0 = performance.now();
  const { json: _j, out: _o, ...shown } = o;
  const machine = machineInfo();
  progress(`machine: ${machine.nproc} cores, ${machine.cpu_model}, ${machine.mem_total_gib} GiB, load ${machine.loadavg}; fd limit of this process ${fdLimit("self")}`);
  const perUser = Math.ceil(o.connections / o.users);
  const perNode = Math.ceil(o.connections / o.nodes);
  const fdHard = Number(fdLimit("self").split("/")[1]);
  if (Number.isFinite(fdHard) && perNode > fdHard - 500)
    progress(`warning: ${fmt(perNode)} sockets per node is above what a process with ${fmt(fdHard)} fds can hold; add nodes`);
  const args = ["--rate-burst", "10000000", "--rate-per-sec", "10000000", "--max-connections", String(Math.max(18_000, perNode + 100)), "--max-connections-per-user", String(perUser), ...o.serverArgs];
  progress(`starting ${o.nodes} nodes (${args.join(" ")})`);
  const c = await startCluster({ nodes: o.nodes, cluster: o.nodes > 1, args, startTimeoutMs: 60_000 });
  let pool: Pool | null = null;
  try {
    await c.waitHealthy(undefined, 120_000);
    if (o.nodes > 1) await c.waitSameMap({ ms: 120_000 });
    progress(`cluster up; creating ${fmt(o.users)} users (${fmt(perUser)} connections each)`);
    const tu = performance.now();
    const users = await makeUsers(c, o.users, progress);
    const usersS = (performance.now() - tu) / 1000;
    // Connection j: user j % U on node j % N; each node's share split over workers of at most perWorker sockets.
    const byNode: ClientSpec[][] = c.ids.map(() => []);
    for (let j = 0; j < o.connections; j++) byNode[j % o.nodes]!.push(users[j % o.users]!);
    const jobs: { node: string; clients: ClientSpec[] }[] = [];
    for (const [i, list] of byNode.entries()) {
      const k = Math.max(1, Math.ceil(list.length / o.perWorker));
      const size = Math.ceil(list.length / k);
      for (let w = 0; w < k; w++) jobs.push({ node: c.ids[i]!, clients: list.slice(w * size, (w + 1) * size) });
    }
    pool = new Pool(jobs.length);
    const pids = new Map(c.ids.map((id) => [id, c.node(id).proc!.pid] as const));
    progress(`idle baseline: waiting for every node's RSS to settle`);
    const before = new Map(await Promise.all(c.ids.map(async (id) => [id, await settledMem(pids.get(id)!)] as const)));
    const cpu0 = new Map(c.ids.map((id) => [id, cpuSample(pids.get(id)!)] as const));
    progress(
      `opening ${fmt(o.connections)} websockets through ${jobs.length} client processes (${jobs.map((j) => `${j.node}:${fmt(j.clients.length)}`).join(" ")}); RSS before ${c.ids.map((id) => `${id} ${mib(before.get(id)?.mem.rssBytes ?? 0)}`).join(", ")} MiB`,
    );
    const t1 = performance.now();
    const openedAt = Date.now();
    let done = false;
    const ticker = (async () => {
      while (!done) {
        await Bun.sleep(5000);
        if (done) break;
        const counts = await nodeCounts(c);
        const total = [...counts.values()].reduce<number>((s, v) => s + (v ?? 0), 0);
        progress(`  ${((performance.now() - t1) / 1000).toFixed(0)} s: ${fmt(total)} connections (${c.ids.map((id) => `${id} ${fmt(counts.get(id) ?? 0)}`).join(", ")})`);
      }
    })();
    const p = pool;
    const res = await p.all((w) => ({ t: "connect", wsUrl: c.url(jobs[w]!.node).replace(/^http/, "ws") + "/ws", clients: jobs[w]!.clients, concurrency: o.concurrency, timeoutMs: o.timeoutMs }), "connected");
    const openS = (performance.now() - t1) / 1000;
    done = true;
    await ticker;
    const cpu1 = new Map(c.ids.map((id) => [id, cpuSample(pids.get(id)!)] as const));
    const connected = res.reduce((s, r) => s + r.r.connected, 0);
    progress(`${fmt(connected)} of ${fmt(o.connections)} connected in ${openS.toFixed(1)} s; waiting for RSS to settle`);
    const after = new Map(await Promise.all(c.ids.map(async (id) => [id, await settledMem(pids.get(id)!)] as const)));
    const counts = await nodeCounts(c);
    const errors: Record<string, number> = {};
    for (const { r } of res) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const dropped: Record<string, number> = {};
    for (const { r } of res) for (const [k, v] of Object.entries(r.dropped ?? {})) dropped[k] = (dropped[k] ?? 0) + v;
    const logLines = (id: string, what: string) => c.logs(id).split("\n").filter((l) => l.includes(what));
    const logCount = (id: string, what: string) => logLines(id, what).length;
    const lostAfter = (id: string): number | null => {
      const t = /"time":"([^"]+)"/.exec(logLines(id, '"cluster: lost the quorum"')[0] ?? "")?.[1];
      return t ? Math.round((Date.parse(t) - openedAt) / 100) / 10 : null;
    };
    const workerRss = p.pids().reduce((s, pid) => s + (memSample(pid)?.rssBytes ?? 0), 0);
    const nodes: IdleNodeResult[] = c.ids.map((id) => {
      const mine = jobs.map((j, w) => ({ j, r: res[w]!.r })).filter((x) => x.j.node === id);
      const conn = mine.reduce((s, x) => s + x.r.connected, 0);
      const b = before.get(id)?.mem.rssBytes ?? 0;
      const a = after.get(id)?.mem.rssBytes ?? 0;
      return {
        node: id,
        pid: pids.get(id)!,
        asked: mine.reduce((s, x) => s + x.j.clients.length, 0),
        connected: conn,
        node_counts: counts.get(id) ?? null,
        rss_before_mib: mib(b),
        rss_after_mib: mib(a),
        rss_per_conn_kib: conn ? Math.round(((a - b) / conn / 1024) * 100) / 100 : 0,
        peak_rss_mib: mib(after.get(id)?.mem.peakRssBytes ?? 0),
        open_s: Math.round(Math.max(0, ...mine.map((x) => x.r.ms)) / 100) / 10,
        fds: fdCount(pids.get(id)!),
        fd_limit: fdLimit(pids.get(id)!),
        cpu_percent: cpuPercent(cpu0.get(id) ?? null, cpu1.get(id) ?? null),
        rss_settled: (before.get(id)?.settled ?? false) && (after.get(id)?.settled ?? false),
        view_changes: logCount(id, '"cluster: view changed"'),
        quorum_lost: logCount(id, '"cluster: lost the quorum"'),
        quorum_lost_after_s: lostAfter(id),
      };
    });
    const sumB = nodes.reduce((s, n) => s + n.rss_before_mib, 0);
    const sumA = nodes.reduce((s, n) => s + n.rss_after_mib, 0);
    const report: ClusterIdleReport = {
      date: new Date().toISOString(),
      machine,
      options: shown,
      fd_limit_bench: fdLimit("self"),
      fd_limit_worker: fdLimit(p.pids()[0]!),
      workers: jobs.length,
      users_setup_s: Math.round(usersS * 10) / 10,
      asked: o.connections,
      connected,
      open_s: Math.round(openS * 10) / 10,
      connects_per_sec: Math.round(connected / openS),
      rss_before_mib: Math.round(sumB * 10) / 10,
      rss_after_mib: Math.round(sumA * 10) / 10,
      rss_per_conn_kib: connected ? Math.round((((sumA - sumB) * 1024) / connected) * 100) / 100 : 0,
      worker_rss_per_conn_kib: connected ? Math.round((workerRss / 1024 / connected) * 100) / 100 : 0,
      errors,
      dropped,
      nodes,
      elapsed_s: 0,
    };
    report.elapsed_s = Math.round((performance.now() - t0) / 100) / 10;
    if (o.out) writeFileSync(o.out, JSON.stringify(report, null, 2) + "\n");
    process.stdout.write(o.json ? JSON.stringify(report, null, 2) + "\n" : render(report) + "\n");
    return connected === o.connections ? 0 : 1;
  } finally {
    progress(`closing the client processes and stopping the nodes`);
    await pool?.close();
    await c.stop();
  }
}

function render(r: ClusterIdleReport): string {
  const rows = r.nodes.map((n) => [
    n.node,
    fmt(n.asked),
    fmt(n.connected),
    n.node_counts === null ? "-" : fmt(n.node_counts),
    n.open_s,
    n.rss_before_mib,
    n.rss_after_mib,
    n.rss_per_conn_kib + (n.rss_settled ? "" : " (unsettled)"),
    n.peak_rss_mib,
    n.fds ?? "-",
    n.fd_limit,
    n.cpu_percent,
    `${n.view_changes}/${n.quorum_lost}${n.quorum_lost_after_s === null ? "" : ` (${n.quorum_lost_after_s} s)`}`,
  ]);
  rows.push(["all", fmt(r.asked), fmt(r.connected), fmt(r.nodes.reduce((s, n) => s + (n.node_counts ?? 0), 0)), r.open_s, r.rss_before_mib, r.rss_after_mib, r.rss_per_conn_kib, "", "", "", "", ""]);
  return [
    `natter cluster-idle bench  ${r.date}  ${r.machine.nproc} cores ${r.machine.cpu_model} ${r.machine.mem_total_gib} GiB  load ${r.machine.loadavg}`,
    table(["node", "asked", "connected", "node counts", "open s", "RSS before MiB", "RSS after MiB", "KiB/conn", "peak MiB", "fds", "fd limit", "CPU% opening", "views/no quorum"], rows),
    `${fmt(r.connected)} connections in ${r.open_s} s (${fmt(r.connects_per_sec)}/s), ${fmt(r.options.users)} users (made in ${r.users_setup_s} s), ${r.workers} client processes holding ${r.worker_rss_per_conn_kib} KiB RSS per socket; fd limit soft/hard: bench ${r.fd_limit_bench}, workers ${r.fd_limit_worker}` +
      (Object.keys(r.errors).length ? `; errors ${JSON.stringify(r.errors)}` : "") +
      (Object.keys(r.dropped).length ? `; closed by their node after hello, by code: ${JSON.stringify(r.dropped)}` : ""),
  ].join("\n\n");
}
