// The Store of a cluster node: the same rules (sharded-store.ts) over shards
// that live on several nodes. A shard this node serves is read and written
// here; any other is read and written on its owner, over the node link. A
// write to a shard this node owns but does not serve yet (it is being taken
// over) is refused `unavailable`, as is every write without a quorum.

import type { Exec } from "../store/exec.ts";
import { ShardedStore } from "../store/sharded-store.ts";
import type { ChannelState } from "../store/types.ts";
import type { WriteArgs, WriteOp, WriteResult } from "../store/write-ops.ts";
import type { ClusterNode } from "./node.ts";

export class ClusterStore extends ShardedStore {
  constructor(
    /** This node's copy of every shard (it serves some of them). */
    readonly local: ShardedStore,
    private readonly node: ClusterNode,
  ) {
    super();
  }

  protected get shardCount(): number {
    return this.local.numShards;
  }
  protected reader(i: number): Exec {
    return this.node.reader(i);
  }
  protected write<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    return this.node.write(i, op, args);
  }

  override async getChannel(id: string): Promise<ChannelState | null> {
    // A shard served here has the local store's exact channel cache.
    return this.node.isServing(this.shardOf(id)) ? this.local.getChannel(id) : super.getChannel(id);
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
