// Deliveries in a cluster: every event goes to this node's connections (the
// hub) and, in the order published, to every live peer over its link, which
// hands it to its own hub. So an event leaves the channel's owner once, in
// seq order, and reaches every member's connections on whatever node.
// Presence: each node tells the others when a user's first connection opens
// and last one closes there, and sends its whole list to a peer it meets and
// at the end of every batch that tells a peer to resync.

import type { ConnRef, Delivery } from "../domain/ports.ts";
import type { Hub } from "../transport/hub.ts";
import type { ClusterNode } from "./node.ts";

/** A connection on another node: its id there and that node. */
export interface RemoteConnRef extends ConnRef {
  node: string;
  user: string;
}

type Ev =
  | { t: "u"; u: string[]; f: string; x?: number; xu?: string }
  | { t: "c"; c: string; m: string[]; f: string; x?: number; xu?: string }
  | { t: "cd"; d: string; code: number; r: string }
  | { t: "cu"; u: string; code: number; r: string }
  | { t: "on"; u: string; on: boolean }
  | { t: "snap"; u: string[] };

export class ClusterDelivery implements Delivery {
  /** Users online on other nodes: user -> nodes. */
  private readonly remote = new Map<string, Set<string>>();

  constructor(
    private readonly hub: Hub,
    private readonly node: ClusterNode,
  ) {
    hub.onPresence = (user, online) => node.broadcast({ t: "on", u: user, on: online } satisfies Ev);
    node.peerMet = (peer) => node.sendTo(peer, { t: "snap", u: hub.onlineUsers() } satisfies Ev);
    node.peerGone = (peer) => this.forget(peer);
    // Events a peer will not get: lost deliveries make its clients gap-fill (resync); lost
    // presence changes are repaired by our whole list, sent after them. A dropped backlog
    // keeps the closes of revoked devices (a gap-fill does not redo them).
    for (const link of node.links.values())
      link.policy = {
        keep: (ev) => (ev as Ev).t === "cd" || (ev as Ev).t === "cu",
        needsResync: (ev) => (ev as Ev).t === "u" || (ev as Ev).t === "c",
        onResync: () => [{ t: "snap", u: hub.onlineUsers() } satisfies Ev],
      };
  }

  /** `except` as the hub sees it (a connection here) and as a peer does (its id, if on that peer). */
  private skip(except: ConnRef | undefined): { local?: ConnRef; x?: number; xu?: string; on?: string } {
    if (!except) return {};
    const r = except as Partial<RemoteConnRef>;
    if (r.node === undefined) return { local: except };
    return { x: r.id, xu: r.user, on: r.node };
  }

  toUsers(users: Iterable<string>, frame: string, except?: ConnRef): void {
    const u = [...users];
    const s = this.skip(except);
    this.hub.toUsers(u, frame, s.local);
    this.node.broadcastEach((peer) => ({ t: "u", u, f: frame, ...(s.on === peer ? { x: s.x, xu: s.xu } : {}) }) satisfies Ev);
  }

  toChannel(channel: string, members: readonly string[], frame: string, except?: ConnRef): void {
    const s = this.skip(except);
    this.hub.toChannel(channel, members, frame, s.local);
    const m = [...members];
    this.node.broadcastEach((peer) => ({ t: "c", c: channel, m, f: frame, ...(s.on === peer ? { x: s.x, xu: s.xu } : {}) }) satisfies Ev);
  }

  isOnline(user: string): boolean {
    return this.hub.isOnline(user) || (this.remote.get(user)?.size ?? 0) > 0;
  }

  closeDevice(device: string, code: number, reason: string): void {
    this.hub.closeDevice(device, code, reason);
    this.node.broadcast({ t: "cd", d: device, code, r: reason } satisfies Ev);
  }

  closeUser(user: string, code: number, reason: string): void {
    this.hub.closeUser(user, code, reason);
    this.node.broadcast({ t: "cu", u: user, code, r: reason } satisfies Ev);
  }

  /** A peer's events, in its order. */
  deliver(from: string, events: unknown[], resync: boolean): void {
    if (resync) this.hub.toAll(JSON.stringify({ ev: "resync" }));
    for (const raw of events) {
      const e = raw as Ev;
      switch (e.t) {
        case "u":
          this.hub.toUsers(e.u, e.f, e.x !== undefined ? this.hub.find(e.xu!, e.x) : undefined);
          break;
        case "c":
          this.hub.toChannel(e.c, e.m, e.f, e.x !== undefined ? this.hub.find(e.xu!, e.x) : undefined);
          break;
        case "cd":
          this.hub.closeDevice(e.d, e.code, e.r);
          break;
        case "cu":
          this.hub.closeUser(e.u, e.code, e.r);
          break;
        case "on":
          this.mark(e.u, from, e.on);
          break;
        case "snap":
          this.forget(from);
          for (const u of e.u) this.mark(u, from, true);
          break;
      }
    }
  }

  private mark(user: string, node: string, online: boolean): void {
    let set = this.remote.get(user);
    if (online) {
      if (!set) this.remote.set(user, (set = new Set()));
      set.add(node);
    } else if (set) {
      set.delete(node);
      if (set.size === 0) this.remote.delete(user);
    }
  }

  private forget(node: string): void {
    for (const [u, set] of this.remote) {
      set.delete(node);
      if (set.size === 0) this.remote.delete(u);
    }
  }
}
