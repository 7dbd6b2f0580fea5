// Cluster harness for tests and benchmarks: starts N `natter serve` processes
// on free loopback ports, one temp dir holding a 0600 secret file, the shared
// replica dir, each node's data dir and each node's log. With `proxied`, every
// directed node link (i -> j) crosses its own tcp-proxy process, so a test
// partitions a node for real by blackholing every link into and out of it.
//
// Node flags (the cluster contract):
//   serve --node-id n1 --peers n1=URL,n2=URL,... --cluster-secret-file FILE
//         --replica DIR --data DIR --port P --host 127.0.0.1 [args...]
// With `cluster: false` (the default for one node) no cluster flags are
// passed: plain single-node servers, so the harness itself can be tested
// before a server understands them. Only processes started here are ended,
// by PID; `stop` removes the temp dir.

import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { adminFetch, login, NATTER, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { freePort } from "./ports.ts";
import { spawnProxy, type ProxyProcess } from "./tcp-proxy.ts";

export interface ClusterOptions {
  /** Node count (ids n1..nN). Default 3. */
  nodes?: number;
  /** Pass the cluster flags (default: true when nodes > 1). */
  cluster?: boolean;
  /** Put a tcp-proxy process on every directed node link. */
  proxied?: boolean;
  /** Extra `serve` flags for every node. */
  args?: string[];
  /** Extra `serve` flags per node id. */
  nodeArgs?: Record<string, string[]>;
  env?: Record<string, string>;
  /** Give the secret as NATTER_CLUSTER_SECRET instead of --cluster-secret-file. */
  secretInEnv?: boolean;
  /** Command instead of bin/natter. */
  bin?: string;
  /** Where the cluster's temp dir is made (default: the system tmp dir). */
  tmpBase?: string;
  /** How long a node may take to listen. Default 30 s. */
  startTimeoutMs?: number;
  /** The nodes started at first, each with only these in --peers (a cluster grown later by `start`/`restart` with `peers`). Default: all. */
  initial?: string[];
}

export interface ClusterNode {
  id: string;
  port: number;
  url: string;
  dataDir: string;
  logFile: string;
  proc: Subprocess | null;
  /** This node's admin token (cluster-wide in cluster mode). */
  adminToken: string;
  /** The node ids in the --peers it was (last) started with. */
  peers: string[];
}

/** Cluster status as GET /admin/cluster answers it. */
export interface ClusterStatus {
  node: string;
  fingerprint: string;
  quorum: boolean;
  nodes: Array<{ id: string; url: string; live: boolean; heartbeat_age_ms: number; connections: number }>;
  shards: Array<{ shard: number; node: string; replica_lag_ms: number | null }>;
  /** The shards this node serves now. */
  serving: number[];
}

/** A free loopback port outside the ephemeral range, so a proxy or client socket cannot take it before the node binds it. */
export { freePort };

/** Polls `f` until it returns something truthy; throws `what` (and `detail()`) after `ms`. No fixed sleeps in callers. */
async function poll<V>(f: () => Promise<V | null | undefined | false>, ms: number, what: string, detail: () => string = () => ""): Promise<V> {
  const end = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = String((e as Error)?.message ?? e);
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}${detail()}`);
    await Bun.sleep(50);
  }
}

let phoneCounter = 0;

/**
 * Runs `f` again while it fails with a 503 `unavailable` (a shard moving, no
 * quorum yet), waiting its retry_after_ms; gives up after `ms`.
 */
async function retryUnavailable<T>(f: () => Promise<T>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      const m = /\b503\b.*"retry_after_ms":(\d+)/.exec(String((e as Error)?.message));
      if (!m || Date.now() > end) throw e;
      await Bun.sleep(Math.min(2000, Number(m[1])));
    }
  }
}

export class Cluster {
  readonly nodes = new Map<string, ClusterNode>();
  /** proxies.get("n1>n2"): the link n1 uses to reach n2. */
  readonly proxies = new Map<string, ProxyProcess>();
  readonly secretFile: string;
  readonly replicaDir: string;
  readonly secret: string;
  private readonly clients: WsClient[] = [];
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly opts: Required<Pick<ClusterOptions, "nodes" | "cluster" | "proxied">> & ClusterOptions,
  ) {
    this.secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
    this.secretFile = join(dir, "cluster.secret");
    writeFileSync(this.secretFile, this.secret + "\n", { mode: 0o600 });
    chmodSync(this.secretFile, 0o600);
    this.replicaDir = join(dir, "replica");
    mkdirSync(this.replicaDir);
  }

  get ids(): string[] {
    return [...this.nodes.keys()];
  }

  /** The admin token of n1 (the same on every node of a cluster). */
  get adminToken(): string {
    return this.node(this.ids[0]!).adminToken;
  }

  node(id: string): ClusterNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id} (nodes: ${this.ids.join(", ")})`);
    return n;
  }

  url(id: string): string {
    return this.node(id).url;
  }

  /** Whether the node's process is running. */
  running(id: string): boolean {
    const p = this.node(id).proc;
    return p !== null && p.exitCode === null && p.signalCode === null;
  }

  /** The node as a TestServer, for the helpers in test/harness.ts and test/e2e/server-helpers.ts. */
  server(id: string): TestServer {
    const n = this.node(id);
    return {
      url: n.url,
      wsUrl: n.url.replace(/^http/, "ws") + "/ws",
      port: n.port,
      dataDir: n.dataDir,
      adminToken: n.adminToken,
      proc: n.proc!,
      output: () => this.logs(id),
      stop: async () => (await this.stopNode(id)) ?? 0,
      kill: () => this.kill9(id),
      cleanup: () => this.stop(),
    };
  }

  /** Everything node `id` logged, over all its runs. */
  logs(id: string): string {
    const f = this.node(id).logFile;
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  /** The last `lines` log lines of every node, headed by node id. */
  allLogs(lines = 60): string {
    return this.ids.map((id) => `--- ${id} (${this.running(id) ? "running" : "down"}) ---\n${this.logs(id).split("\n").slice(-lines).join("\n")}`).join("\n");
  }

  /** Runs `fn`; on failure prints every node's log tail and rethrows. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      console.error(`cluster test failed; node logs (${this.dir}):\n${this.allLogs()}`);
      throw e;
    }
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const count = options.nodes ?? 3;
    const opts = { ...options, nodes: count, cluster: options.cluster ?? count > 1, proxied: options.proxied ?? false };
    const c = new Cluster(mkdtempSync(join(options.tmpBase ?? tmpdir(), "natter-cluster-")), opts);
    try {
      const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
      for (const id of ids) {
        const port = freePort();
        const dataDir = join(c.dir, id);
        mkdirSync(dataDir);
        c.nodes.set(id, { id, port, url: `http://127.0.0.1:${port}`, dataDir, logFile: join(c.dir, `${id}.log`), proc: null, adminToken: "", peers: options.initial ?? ids });
      }
      if (opts.proxied)
        for (const from of ids)
          for (const to of ids) if (from !== to) c.proxies.set(`${from}>${to}`, await spawnProxy({ host: "127.0.0.1", port: c.node(to).port }));
      await Promise.all((options.initial ?? ids).map((id) => c.startNode(id)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** The URL node `from` uses for node `to` (its proxy when proxied). */
  linkUrl(from: string, to: string): string {
    const p = this.proxies.get(`${from}>${to}`);
    return p ? `http://127.0.0.1:${p.port}` : this.url(to);
  }

  /** `--peers` as node `id` is given it. */
  peersFor(id: string): string {
    return this.node(id).peers.map((j) => `${j}=${j === id ? this.url(j) : this.linkUrl(id, j)}`).join(",");
  }

  /** Starts node `id` (not running), with `peers` (ids) in its --peers if given, else the list it had. */
  async start(id: string, opts: { peers?: string[] } = {}): Promise<void> {
    await this.startNode(id, opts.peers);
  }

  private async startNode(id: string, peers?: string[]): Promise<void> {
    const n = this.node(id);
    if (this.running(id)) throw new Error(`${id} is already running (pid ${n.proc!.pid})`);
    if (peers) n.peers = peers;
    const o = this.opts;
    const clusterArgs = o.cluster
      ? ["--node-id", id, "--peers", this.peersFor(id), ...(o.secretInEnv ? [] : ["--cluster-secret-file", this.secretFile]), "--replica", this.replicaDir]
      : [];
    const cmd = [o.bin ?? NATTER, "serve", "--host", "127.0.0.1", "--port", String(n.port), "--data", n.dataDir, ...clusterArgs, ...(o.args ?? []), ...(o.nodeArgs?.[id] ?? [])];
    const logFrom = existsSync(n.logFile) ? statSync(n.logFile).size : 0;
    const fd = openSync(n.logFile, "a");
    writeFileSync(fd, `# ${new Date().toISOString()} start: ${cmd.join(" ")}\n`);
    try {
      n.proc = Bun.spawn(cmd, {
        stdout: fd,
        stderr: fd,
        stdin: "ignore",
        env: { ...process.env, NATTER_LOG_LEVEL: "info", ...(o.secretInEnv && o.cluster ? { NATTER_CLUSTER_SECRET: this.secret } : {}), ...o.env },
      });
    } finally {
      closeSync(fd);
    }
    const proc = n.proc;
    const exited = () => proc.exitCode !== null || proc.signalCode !== null;
    await poll(
      async () => exited() || readFileSync(n.logFile, "utf8").slice(logFrom).includes('"msg":"listening"'),
      o.startTimeoutMs ?? 30_000,
      `${id} to listen`,
      () => `\n${this.logs(id).slice(-4000)}`,
    );
    if (exited()) throw new Error(`${id} exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${this.logs(id).slice(-4000)}`);
    n.adminToken = readFileSync(join(n.dataDir, "admin.token"), "utf8").trim();
  }

  /** SIGKILL node `id` and wait for it to be gone. */
  async kill9(id: string): Promise<void> {
    const p = this.node(id).proc;
    if (!p || !this.running(id)) return;
    p.kill("SIGKILL");
    await p.exited;
  }

  /** SIGTERM node `id` (a clean shutdown); SIGKILL after `ms`. Returns its exit code. */
  async stopNode(id: string, ms = 20_000): Promise<number | null> {
    const p = this.node(id).proc;
    if (!p || !this.running(id)) return p?.exitCode ?? null;
    p.kill("SIGTERM");
    const code = await Promise.race([p.exited, Bun.sleep(ms).then(() => null)]);
    if (code === null) {
      p.kill("SIGKILL");
      await p.exited;
    }
    return code;
  }

  /** Starts node `id` again on its port (stopping it first if it runs); its data dir kept unless `wipeData`; `peers` as in `start`. */
  async restart(id: string, opts: { wipeData?: boolean; peers?: string[] } = {}): Promise<void> {
    await this.stopNode(id);
    const n = this.node(id);
    if (opts.wipeData) {
      rmSync(n.dataDir, { recursive: true, force: true });
      mkdirSync(n.dataDir);
    }
    await this.startNode(id, opts.peers);
  }

  /** GET /healthz of node `id`: its status, or 0 when it cannot be reached. */
  async health(id: string): Promise<number> {
    try {
      return (await fetch(`${this.url(id)}/healthz`, { signal: AbortSignal.timeout(2000) })).status;
    } catch {
      return 0;
    }
  }

  /** Polls /healthz of node `id` (or every running node) until 200. */
  async waitHealthy(id?: string, ms = 30_000): Promise<void> {
    const ids = id ? [id] : this.ids.filter((x) => this.running(x));
    await Promise.all(ids.map((x) => poll(async () => (await this.health(x)) === 200, ms, `${x} healthy`, () => `\n${this.logs(x).slice(-3000)}`)));
  }

  /** Polls /healthz of node `id` until it is not 200 (503, or unreachable). */
  async waitUnhealthy(id: string, ms = 30_000): Promise<number> {
    return poll(async () => {
      const s = await this.health(id);
      return s !== 200 ? s || -1 : false;
    }, ms, `${id} unhealthy`);
  }

  /** GET /admin/cluster on node `id`. */
  async status(id: string): Promise<ClusterStatus> {
    const res = await fetch(`${this.url(id)}/admin/cluster`, { headers: { authorization: `Bearer ${this.node(id).adminToken}` }, signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`${id} /admin/cluster: ${res.status} ${await res.text()}`);
    return (await res.json()) as ClusterStatus;
  }

  /**
   * Waits until every running node (or those in `ids`) reports the same
   * fingerprint and shard map, with no shard on a node in `notOn`; returns that map.
   */
  async waitSameMap(opts: { ids?: string[]; notOn?: string[]; ms?: number } = {}): Promise<ClusterStatus> {
    const ids = opts.ids ?? this.ids.filter((x) => this.running(x));
    const key = (s: ClusterStatus) => JSON.stringify([s.fingerprint, [...s.shards].sort((a, b) => a.shard - b.shard).map((x) => [x.shard, x.node])]);
    let seen = "";
    return poll(
      async () => {
        const all = await Promise.all(ids.map((id) => this.status(id)));
        seen = all.map((s) => `${s.node}: ${key(s)}`).join("\n");
        const first = key(all[0]!);
        if (!all.every((s) => key(s) === first)) return false;
        if (opts.notOn?.length && all[0]!.shards.some((s) => opts.notOn!.includes(s.node))) return false;
        return all[0]!;
      },
      opts.ms ?? 30_000,
      `the same shard map on ${ids.join(", ")}`,
      () => `\nlast seen:\n${seen}`,
    );
  }

  private links(id: string): ProxyProcess[] {
    if (!this.opts.proxied) throw new Error("partition/heal need a proxied cluster (startCluster({ proxied: true }))");
    this.node(id);
    return [...this.proxies.entries()].filter(([k]) => k.split(">").includes(id)).map(([, p]) => p);
  }

  /** Blackholes every link into and out of node `id` (its clients are not cut). */
  async partition(id: string): Promise<void> {
    await Promise.all(this.links(id).map((p) => p.blackhole()));
  }

  /** Lets every link into and out of node `id` forward again. */
  async heal(id: string): Promise<void> {
    await Promise.all(this.links(id).map((p) => p.heal()));
  }

  /** Creates a user through node `via` (admin HTTP); returns the user and a login code. Retries `unavailable` (503) as a client does. */
  async createUser(name: string, via = this.ids[0]!, phone?: string): Promise<{ user: TestUser["user"]; code: string }> {
    const number = phone ?? `+1556${String(process.pid % 1000).padStart(3, "0")}${String(++phoneCounter).padStart(4, "0")}`;
    return retryUnavailable(async () => {
      const res = await adminFetch(this.server(via), "POST", "/admin/users", { name, phone: number });
      if (res.status === 200 || res.status === 201) return (await res.json()) as { user: TestUser["user"]; code: string };
      throw new Error(`create user on ${via}: ${res.status} ${await res.text()}`);
    });
  }

  /** Logs a device in through node `via` with a login code (retrying `unavailable`). */
  async login(code: string, via = this.ids[0]!, device = "dev1"): Promise<TestUser> {
    const l = await retryUnavailable(() => login(this.server(via), code, device));
    return { user: l.user, token: l.token, deviceId: l.device.id };
  }

  /** A user created through `createdOn` and logged in through `loginOn`. */
  async makeUser(name: string, opts: { createdOn?: string; loginOn?: string; device?: string } = {}): Promise<TestUser> {
    const { code } = await this.createUser(name, opts.createdOn);
    return this.login(code, opts.loginOn ?? opts.createdOn, opts.device);
  }

  /**
   * A websocket as `u` to node `id` (waits for hello), closed by `stop`;
   * `through` another URL that leads to it (a link's proxy). A refused upgrade (a node just started and still busy, a shard moving) is
   * tried again for up to `ms`, as a client would; use WsClient directly to
   * test a refusal.
   */
  async connect(u: TestUser, id: string, opts: { through?: string; ms?: number } = {}): Promise<WsClient> {
    const ms = opts.ms ?? 20_000;
    const end = Date.now() + ms;
    const server = this.server(id);
    if (opts.through) server.wsUrl = `${opts.through.replace(/^http/, "ws")}/ws`;
    for (;;) {
      try {
        const c = await WsClient.connect(server, u.token);
        this.clients.push(c);
        return c;
      } catch (e) {
        if (Date.now() > end) throw new Error(`${id}: ${(e as Error).message} (for ${ms} ms)`);
        await Bun.sleep(100);
      }
    }
  }

  /** Ends every node and proxy started here (by PID) and removes the temp dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.close();
    await Promise.all(this.ids.map((id) => this.stopNode(id, 5000)));
    await Promise.all([...this.proxies.values()].map((p) => p.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** PIDs of every process this cluster started and still has (nodes and proxies). */
  pids(): number[] {
    return [...this.ids.map((id) => this.node(id).proc?.pid ?? 0).filter((p) => p > 0), ...[...this.proxies.values()].map((p) => p.pid)];
  }
}

export function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.start(opts);
}
