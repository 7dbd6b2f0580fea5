// Several real natter nodes on loopback for the cluster's tests: fixed ports
// (the peer list names them), one secret, one replica directory, a data dir
// each. Nodes are child processes (bin/natter serve), killed and restarted by pid.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeUser, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";

export interface ClusterOptions {
  nodes: number;
  /** Extra serve flags for every node. */
  args?: string[];
  /** Per node id: flags that replace the common ones where they clash (e.g. another secret). */
  nodeArgs?: Record<string, string[]>;
  /** The nodes started at first, each with only these in --peers (a cluster that grows later); default all. */
  initial?: string[];
}

export interface TestCluster {
  ids: string[];
  dir: string;
  replica: string;
  secretFile: string;
  node(id: string): TestServer;
  /** Any live node (the first). */
  any(): TestServer;
  /** (Re)starts node `id` on its port and data dir; `args` are added last (they win). */
  start(id: string, opts?: { wipe?: boolean; args?: string[]; peers?: string[] }): Promise<TestServer>;
  kill9(id: string): Promise<void>;
  waitHealthy(ids?: string[], ms?: number): Promise<void>;
  status(id: string): Promise<any>;
  /** Every node in `ids` sees exactly `ids` live, the same fingerprint and shard map, and serves its shards; returns the map. */
  waitSameMap(ids?: string[], ms?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** Faster failure detection for tests (the defaults are 200 / 2000 / 3000 ms). */
export const FAST = ["--cluster-heartbeat-ms", "100", "--lease-ms", "1500", "--failure-after-ms", "2000", "--replica-sync-ms", "50", "--replica-monitor-ms", "50"];

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

export async function startCluster(o: ClusterOptions): Promise<TestCluster> {
  const dir = tempDir("natter-cluster-");
  const replica = join(dir, "replica");
  mkdirSync(replica);
  const secretFile = join(dir, "cluster.secret");
  writeFileSync(secretFile, crypto.randomUUID() + crypto.randomUUID() + "\n", { mode: 0o600 });
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const ports = new Map(ids.map((id) => [id, freePort()]));
  const peersOf = (which: string[]) => which.map((id) => `${id}=http://127.0.0.1:${ports.get(id)}`).join(",");
  const nodes = new Map<string, TestServer>();
  const dataOf = (id: string) => join(dir, id);

  const start = async (id: string, opts: { wipe?: boolean; args?: string[]; peers?: string[] } = {}) => {
    if (opts.wipe) rmSync(dataOf(id), { recursive: true, force: true });
    mkdirSync(dataOf(id), { recursive: true });
    const args = [
      "--port", String(ports.get(id)),
      "--node-id", id,
      "--peers", peersOf(opts.peers ?? ids),
      "--cluster-secret-file", secretFile,
      "--replica", replica,
      ...FAST,
      ...(o.args ?? []),
      ...(o.nodeArgs?.[id] ?? []),
      ...(opts.args ?? []),
    ];
    const s = await startServer({ dataDir: dataOf(id), args });
    nodes.set(id, s);
    return s;
  };
  const c: TestCluster = {
    ids,
    dir,
    replica,
    secretFile,
    node: (id) => nodes.get(id)!,
    any: () => nodes.get(ids.find((i) => nodes.get(i)!.proc.exitCode === null && !nodes.get(i)!.proc.killed)!)!,
    start,
    async kill9(id) {
      await nodes.get(id)!.kill();
    },
    async waitHealthy(which = ids, ms = 20_000) {
      await until(
        async () => {
          for (const id of which) {
            const r = await fetch(nodes.get(id)!.url + "/healthz").catch(() => null);
            if (r?.status !== 200) return false;
          }
          return true;
        },
        ms,
        `nodes ${which.join(",")} healthy`,
      );
    },
    async status(id) {
      const s = nodes.get(id)!;
      const r = await fetch(s.url + "/admin/cluster", { headers: { authorization: `Bearer ${s.adminToken}` } });
      if (r.status !== 200) throw new Error(`cluster status of ${id}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async waitSameMap(which = ids, ms = 20_000) {
      let map: string[] = [];
      await until(
        async () => {
          const sts = await Promise.all(which.map((id) => c.status(id).catch(() => null)));
          if (sts.some((s) => !s)) return false;
          const maps = sts.map((s: any) => JSON.stringify(s.shards.map((x: any) => x.node)));
          const fps = new Set(sts.map((s: any) => s.fingerprint));
          map = JSON.parse(maps[0]!);
          // Every node of `which` sees exactly `which` live, and serves its part of the map.
          const views = sts.every((s: any) => s.nodes.filter((n: any) => n.live).map((n: any) => n.id).join() === [...which].sort().join());
          const serving = sts.every((s: any) => JSON.stringify(s.serving) === JSON.stringify(map.flatMap((o, i) => (o === s.node ? [i] : []))));
          return fps.size === 1 && new Set(maps).size === 1 && views && serving;
        },
        ms,
        "the same shard map on every node",
      );
      return map;
    },
    async stop() {
      await Promise.all([...nodes.values()].map((s) => s.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await Promise.all((o.initial ?? ids).map((id) => start(id, { peers: o.initial ?? ids })));
  return c;
}

/** makeUser, retried while the cluster answers `unavailable` (a shard moving, a view changing), as a client would. */
export async function makeClusterUser(server: TestServer, name: string): Promise<TestUser> {
  for (let i = 0; ; i++) {
    try {
      return await makeUser(server, name);
    } catch (e) {
      if (i > 100 || !String(e).includes("unavailable")) throw e;
      await Bun.sleep(200);
    }
  }
}
