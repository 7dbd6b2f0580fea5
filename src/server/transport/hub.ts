// Live connections and fan-out. Each connection subscribes to its user's Bun
// topic; publishing to a user is one native publish, and publishing through
// the sender's socket skips that socket. Events of larger channels (groups)
// go out as one publish to a channel topic, whose subscribers are reconciled
// with the channel's current members right before every publish, so the topic
// can never reach someone who is no longer a member.

import type { Server, ServerWebSocket } from "bun";
import type { Caller, ConnRef, Delivery } from "../domain/ports.ts";
import { NO_LABELS, type Metrics } from "../metrics.ts";

/** One live connection. It is also the Caller its ops run as, and its own ConnRef (so fan-out can skip it). */
export class Conn implements Caller, ConnRef {
  /** Set by any frame or pong; cleared at each heartbeat. */
  alive = true;
  /** True once the hub has removed it (a ref held by an op in flight may outlive it). */
  removed = false;
  /** True once closed for a send buffer past the bound (counted once). */
  slow = false;
  /** When the send buffer was last seen to drain (Bun's drain), or under the soft bound (ms, Date.now()). */
  progressAt = Date.now();
  /** Channel topics this connection is subscribed to. */
  readonly channels = new Set<string>();
  /** Set by the websocket while an op of this connection runs (see Caller.handedOver). */
  handedOver?: () => void;

  constructor(
    readonly id: number,
    readonly user: string,
    readonly device: string,
    readonly raw: ServerWebSocket<unknown>,
  ) {}

  /** The caller every op on this connection runs as. */
  get caller(): Caller {
    return this;
  }

  get conn(): ConnRef {
    return this;
  }
}

export const userTopic = (user: string) => "u:" + user;
export const channelTopic = (channel: string) => "c:" + channel;
/** Channels with at least this many members fan out through a channel topic. */
export const CHANNEL_TOPIC_MIN_MEMBERS = 3;

/**
 * The slow-consumer rule. A connection is closed as a slow consumer when its
 * send buffer passes `hardBytes` (Bun drops the frame: memory stays bounded),
 * or when it stays over `softBytes` without draining for `stallMs` (it
 * stopped reading). A client that reads, however far behind, is kept.
 */
export interface SendBufferRule {
  softBytes: number;
  hardBytes: number;
  stallMs: number;
}

export class Hub implements Delivery {
  /** Every live connection, by user: a few at most each, and an array costs a fifth of a Set. */
  private byUser = new Map<string, Conn[]>();
  private count = 0;
  /** Connections subscribed to each channel topic. */
  private topicSubs = new Map<string, Set<Conn>>();
  private nextId = 1;
  server: Server<unknown> | null = null;
  /** Told when a user's first connection opens and their last closes (the cluster's directory). */
  onPresence: ((user: string, online: boolean) => void) | null = null;

  private readonly rule: SendBufferRule;
  private stallTimer: ReturnType<typeof setInterval> | null = null;

  /** `rule`: when a connection is a slow consumer (the hard bound is Bun's backpressureLimit). */
  constructor(
    private readonly metrics: Metrics,
    rule: Partial<SendBufferRule> = {},
  ) {
    this.rule = { softBytes: Infinity, hardBytes: Infinity, stallMs: Infinity, ...rule };
  }

  get size(): number {
    return this.count;
  }

  /** Registers a connection; returns it and whether it is the user's first. */
  add(raw: ServerWebSocket<unknown>, user: string, device: string): { conn: Conn; first: boolean } {
    const conn = new Conn(this.nextId++, user, device, raw);
    const list = this.byUser.get(user);
    const first = !list;
    if (list) list.push(conn);
    else this.byUser.set(user, [conn]);
    this.count++;
    raw.subscribe(userTopic(user));
    this.metrics.connections.set({}, this.count);
    this.metrics.connectionsTotal.inc();
    if (first) this.onPresence?.(user, true);
    return { conn, first };
  }

  /** Unregisters; returns true if it was the user's last connection. */
  remove(conn: Conn): boolean {
    if (conn.removed) return false;
    conn.removed = true;
    this.count--;
    for (const ch of conn.channels) {
      const subs = this.topicSubs.get(ch);
      subs?.delete(conn);
      if (subs?.size === 0) this.topicSubs.delete(ch);
    }
    const list = this.byUser.get(conn.user);
    const i = list ? list.indexOf(conn) : -1;
    if (i >= 0) list!.splice(i, 1);
    this.metrics.connections.set({}, this.count);
    if (list && list.length === 0) {
      this.byUser.delete(conn.user);
      this.onPresence?.(conn.user, false);
      return true;
    }
    return false;
  }

  toUsers(users: Iterable<string>, frame: string, except?: ConnRef): void {
    const skip = this.live(except);
    let delivered = 0;
    for (const u of users) {
      const list = this.byUser.get(u);
      if (!list) continue;
      if (skip && skip.user === u) {
        if (list.length > 1 && skip.raw.publish(userTopic(u), frame) === 0) this.closeSlow(list);
        delivered += list.length - 1;
      } else {
        if (this.server!.publish(userTopic(u), frame) === 0) this.closeSlow(list);
        delivered += list.length;
      }
    }
    if (delivered > 0) this.metrics.deliveries.inc(NO_LABELS, delivered);
  }

  /**
   * Sends a channel's event to the connections of `members` (its current
   * members, unique), except `except`. Small channels go user by user; larger
   * ones through the channel topic after reconciling its subscribers.
   */
  toChannel(channel: string, members: readonly string[], frame: string, except?: ConnRef): void {
    if (members.length < CHANNEL_TOPIC_MIN_MEMBERS) return this.toUsers(members, frame, except);
    const topic = channelTopic(channel);
    let subs = this.topicSubs.get(channel);
    if (!subs) this.topicSubs.set(channel, (subs = new Set()));
    let memberConns = 0;
    for (const u of members) {
      const list = this.byUser.get(u);
      if (!list) continue;
      for (const c of list) {
        memberConns++;
        if (!subs.has(c)) {
          subs.add(c);
          c.channels.add(channel);
          c.raw.subscribe(topic);
        }
      }
    }
    if (subs.size > memberConns) {
      // Someone subscribed is no longer a member: drop them before publishing.
      const allowed = new Set(members);
      for (const c of subs) {
        if (allowed.has(c.user)) continue;
        subs.delete(c);
        c.channels.delete(channel);
        c.raw.unsubscribe(topic);
      }
    }
    if (subs.size === 0) {
      this.topicSubs.delete(channel);
      return;
    }
    const skip = this.live(except);
    let delivered: number;
    if (skip && subs.has(skip)) {
      if (subs.size > 1 && skip.raw.publish(topic, frame) === 0) this.closeSlow(subs);
      delivered = subs.size - 1;
    } else {
      if (this.server!.publish(topic, frame) === 0) this.closeSlow(subs);
      delivered = subs.size;
    }
    if (delivered > 0) this.metrics.deliveries.inc(NO_LABELS, delivered);
  }

  /**
   * After a send or publish that Bun reports dropped (0: a recipient's send
   * buffer had passed the bound): closes and counts each of `conns` past it.
   * Bun would close such a socket itself, later and with its buffer already
   * reset, so this is where a slow consumer is decided and counted. (One large
   * frame may pass the bound, backpressured (-1) but not dropped: a big
   * history page is not a slow consumer.)
   */
  closeSlow(conns: Iterable<Conn>): void {
    const slow: Conn[] = [];
    for (const c of conns) if (!c.removed && !c.slow && c.raw.getBufferedAmount() > this.rule.hardBytes) slow.push(c);
    for (const c of slow) this.terminateSlow(c);
  }

  /** Bun's drain: the connection's send buffer made progress. */
  drained(conn: Conn, now = Date.now()): void {
    conn.progressAt = now;
  }

  /**
   * One pass of the stall rule: closes each connection over the soft bound
   * that has not drained for stallMs; returns how many it closed.
   */
  closeStalled(now = Date.now()): number {
    const stalled: Conn[] = [];
    for (const c of this.all()) {
      if (c.slow) continue;
      if (c.raw.getBufferedAmount() <= this.rule.softBytes) c.progressAt = now;
      else if (now - c.progressAt >= this.rule.stallMs) stalled.push(c);
    }
    for (const c of stalled) this.terminateSlow(c);
    return stalled.length;
  }

  /** Runs closeStalled every `everyMs` (a quarter of stallMs, at most a second) until stopStallWatch. */
  startStallWatch(): void {
    if (!Number.isFinite(this.rule.stallMs)) return;
    this.stallTimer = setInterval(() => this.closeStalled(), Math.max(10, Math.min(1000, this.rule.stallMs / 4)));
    this.stallTimer.unref?.();
  }

  stopStallWatch(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
  }

  private terminateSlow(c: Conn): void {
    c.slow = true;
    this.metrics.slowConsumers.inc();
    c.raw.terminate(); // a close frame would wait behind the full buffer
  }

  /** The connection `ref` names, while it is live. */
  private live(ref: ConnRef | undefined): Conn | undefined {
    return ref instanceof Conn && !ref.removed ? ref : undefined;
  }

  /** A snapshot of every live connection. */
  private all(): Conn[] {
    return [...this.byUser.values()].flat();
  }

  /** Live connections of `user`. */
  countOf(user: string): number {
    return this.byUser.get(user)?.length ?? 0;
  }

  isOnline(user: string): boolean {
    return this.byUser.has(user);
  }

  /** The live connection `id` of `user` (an event from another node names the socket to skip). */
  find(user: string, id: number): Conn | undefined {
    return this.byUser.get(user)?.find((c) => c.id === id);
  }

  /** Users with at least one connection here. */
  onlineUsers(): string[] {
    return [...this.byUser.keys()];
  }

  /** Sends `frame` to every connection. */
  toAll(frame: string): void {
    for (const c of this.all()) c.raw.send(frame);
  }

  closeDevice(device: string, code: number, reason: string): void {
    for (const c of this.all()) if (c.device === device) c.raw.close(code, reason);
  }

  closeUser(user: string, code: number, reason: string): void {
    for (const c of [...(this.byUser.get(user) ?? [])]) c.raw.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    for (const c of this.all()) c.raw.close(code, reason);
  }

  /** One heartbeat round: close connections silent since the last round, ping the rest. */
  heartbeat(): number {
    let closed = 0;
    for (const c of this.all()) {
      if (!c.alive) {
        c.raw.terminate();
        closed++;
        continue;
      }
      c.alive = false;
      c.raw.ping();
    }
    return closed;
  }
}
