// What a cluster node needs from this process (ShardHost): its local copy of
// the shards, taking one over from the replica, replication of the served
// set, forwarded ops, peers' deliveries. And the status GET /admin/cluster shows.

import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Chat } from "../domain/chat.ts";
import type { Dispatch } from "../domain/ops.ts";
import type { Caller } from "../domain/ports.ts";
import type { Logger } from "../log.ts";
import { forgetGeneration, localGeneration, restoreShard } from "../replication/restore-shard.ts";
import type { ReplicationSupervisor } from "../replication/supervisor.ts";
import type { ReplicaTarget } from "../replication/target.ts";
import type { ShardedStore } from "../store/sharded-store.ts";
import type { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Hub } from "../transport/hub.ts";
import type { MediaService } from "../media/media-service.ts";
import type { ClusterDelivery } from "./delivery.ts";
import type { ClusterNode, ShardHost } from "./node.ts";
import { mergeShard, snapshotShard, takeoverDir } from "./takeover.ts";

export interface HostParts {
  local: ShardedStore;
  sqlite: SqliteStore | null;
  replication: ReplicationSupervisor | null;
  replica: ReplicaTarget | null;
  dataDir: string;
  dispatch: Dispatch;
  delivery: ClusterDelivery;
  chat: Chat;
  hub: Hub;
  media: MediaService | null;
  log: Logger;
}

export function shardHost(p: HostParts): ShardHost {
  return {
    reader: (i) => p.local.shardReader(i),
    write: (i, op, args) => p.local.writeShard(i, op, args),
    adopt: (s) => adopt(p, s),
    flush: async (s) => {
      if (!p.replication) return true;
      const whole = await p.replication.waitShardCaughtUp(s, 5_000);
      if (!whole) p.log.warn("cluster: handing a shard over before the replica caught up (its rows are merged back when it is taken again)", { shard: s });
      return whole;
    },
    served: async (set) => {
      p.sqlite?.forgetChannels();
      await p.replication?.setReplicated(set);
    },
    // Everything this node wrote is in the replica: its copy holds nothing to merge back later.
    forget: (s) => p.sqlite && forgetGeneration(p.sqlite.shards[s]!.path),
    op: (op, caller, params) => p.dispatch(op, caller as Caller, params),
    deliver: (from, events, resync) => p.delivery.deliver(from, events, resync),
    connections: () => p.hub.size,
    blob: (sha) => p.media?.blobs.get(sha) ?? null,
  };
}

/**
 * Makes this node's copy of shard `s` the shard: the replica's latest copy, with this node's own
 * unreplicated rows merged in; the messages among them are appended again once the shard is served.
 * With a libSQL store (rows already remote) or no copy in the replica, the local copy stands.
 */
async function adopt(p: HostParts, s: number): Promise<(() => Promise<void>) | null> {
  if (!p.sqlite || !p.replica) return null;
  const dir = takeoverDir(p.dataDir);
  const restored = join(dir, `restore-${s}.db`);
  const prev = join(dir, `prev-${s}.db`);
  const base = join(dir, `base-${s}.db`);
  const path = p.sqlite.shards[s]!.path;
  const t0 = performance.now();
  if (!(await restoreShard(p.replica, s, restored, join(dir, "work")))) return null;
  let lost: Awaited<ReturnType<typeof mergeShard>>["lost"] = [];
  try {
    // This node's own copy holds acknowledged rows only if it replicated the shard (it had a
    // generation): what the replica got of that generation is the base its own rows are told from.
    const gen = localGeneration(path);
    if (gen && snapshotShard(path, prev)) {
      const haveBase = await restoreShard(p.replica, s, base, join(dir, "work"), gen).catch(() => false);
      const m = mergeShard(restored, prev, haveBase ? base : null);
      lost = m.lost;
      if (m.skipped) p.log.warn("cluster: own copy not merged", { shard: s, reason: m.skipped });
      if (m.rows > 0 || lost.length > 0) p.log.info("cluster: own unreplicated rows kept", { shard: s, rows: m.rows, messages: lost.length });
    }
    await p.sqlite.replaceShard(s, restored);
    forgetGeneration(path); // the old generation's rows are in the new copy now
  } finally {
    for (const f of [restored, prev, base]) for (const ext of ["", "-wal", "-shm"]) rmSync(f + ext, { force: true });
  }
  p.log.info("cluster: shard restored from the replica", { shard: s, ms: Math.round(performance.now() - t0) });
  if (lost.length === 0) return null;
  return async () => {
    const appended = await p.chat.recoverLost(lost, (m, e) =>
      p.log.warn("cluster: an unreplicated message could not be appended again", { channel: m.channel, error: String(e) }),
    );
    p.log.info("cluster: unreplicated messages appended again", { shard: s, appended, of: lost.length });
  };
}

export function clusterStatus(node: ClusterNode, replication: ReplicationSupervisor | null) {
  const st = node.status();
  const rep = replication?.status();
  return {
    ...st,
    shards: node.shardMap.map((owner, shard) => ({
      shard,
      node: owner,
      served_here: st.serving.includes(shard),
      replica_lag_ms: st.serving.includes(shard) ? (rep?.shards[shard]?.lag_ms ?? null) : null,
    })),
  };
}
