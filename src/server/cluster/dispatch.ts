// Ops in a cluster: an op on a channel runs on the node that owns the
// channel's shard (its only writer, from which its events leave in seq
// order); every other op runs here, its store calls going to their shards'
// owners. The forwarded op keeps its caller, and its connection by node and
// id, so fan-out still skips the socket that sent it.

import type { Dispatch } from "../domain/ops.ts";
import type { Caller } from "../domain/ports.ts";
import { directChannelId } from "../ids.ts";
import type { RemoteConnRef } from "./delivery.ts";
import type { ClusterNode } from "./node.ts";

/** The channel an op acts on, read from its raw params (the owner validates them). */
export function channelOf(op: string, user: string, params: unknown): string | null {
  if (typeof params !== "object" || params === null) return null;
  const p = params as Record<string, unknown>;
  if (op === "createGroup" || op === "getAll" || op === "findUser" || op === "getUsers" || op === "ping") return null;
  if (typeof p.channel === "string") return p.channel;
  if (op === "sendMessage" && typeof p.to === "string" && p.to !== user) return directChannelId(user, p.to);
  return null;
}

export function clusterDispatch(local: Dispatch, node: ClusterNode): Dispatch {
  const self = node.o.self;
  // Forwarded ops of one connection leave one at a time, so they commit in arrival order.
  const chains = new Map<string, Promise<unknown>>();
  return (async (op: string, caller: Caller, params: unknown) => {
    const channel = channelOf(op, caller.user, params);
    const owner = channel === null ? self : node.ownerOfKey(channel);
    if (owner === self) return local(op, caller, params);
    const conn: RemoteConnRef | undefined = caller.conn ? { id: caller.conn.id, node: self, user: caller.user } : undefined;
    const wire = { user: caller.user, device: caller.device, ...(conn ? { conn } : {}) };
    if (!caller.conn) return node.forwardOp(owner, op, wire, params);
    const key = `${caller.device}#${caller.conn.id}`;
    const run = () => node.forwardOp(owner, op, wire, params);
    const prior = chains.get(key);
    const p = prior ? prior.then(run, run) : run();
    chains.set(key, p);
    p.then(
      () => chains.get(key) === p && chains.delete(key),
      () => chains.get(key) === p && chains.delete(key),
    );
    return p;
  }) as Dispatch;
}
