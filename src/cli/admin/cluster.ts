// natter admin cluster status: the node's view of the cluster (nodes, shard map, fingerprint, lag).
import type { Command } from "commander";
import type { ClusterStatus } from "../../protocol/index.ts";
import { table } from "../table.ts";
import { adminAction } from "./index.ts";

export function formatClusterStatus(s: ClusterStatus): string {
  const head =
    `node:        ${s.node}\n` +
    `view:        ${s.fingerprint} (${s.quorum ? `in a quorum, lease ${s.lease_ms_left} ms left` : "NO QUORUM: writes refused"})\n\n`;
  const nodes = table(
    ["NODE", "URL", "STATE", "HEARTBEAT AGE MS", "CONNECTIONS"],
    s.nodes.map((n) => [n.id, n.url, n.refused ? `refused: ${n.refused}` : n.live ? "live" : "DEAD", n.heartbeat_age_ms, n.connections]),
  );
  const shards = table(
    ["SHARD", "NODE", "REPLICA LAG MS"],
    s.shards.map((x) => [String(x.shard).padStart(2, "0"), x.node, x.served_here ? x.replica_lag_ms : "-"]),
  );
  return head + nodes + "\n" + shards;
}

export function registerCluster(admin: Command): void {
  const cluster = admin.command("cluster").description("the cluster as the node at --server sees it");
  adminAction(
    cluster.command("status").description("nodes (live, heartbeat age, connections), the shard map, the view's fingerprint, replica lag"),
    (c) => c.call<ClusterStatus>("GET", "/admin/cluster"),
    formatClusterStatus,
  );
}
