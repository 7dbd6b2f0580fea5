// A cluster node: heartbeats with its peers, the view (live nodes, shard map,
// fingerprint), its lease, the shards it serves, and the node-to-node
// endpoints (/cluster/heartbeat, /cluster/call, /cluster/events).
//
// Shard life on a node: owned by the view's map -> acquired (the holders of
// the previous view release it: they stop writes, their replica catches up;
// then the replica's copy is restored here and this node's own copy merged
// in) -> served (reads and writes, replicated by this node) -> released
// (the map moved it, or the lease ran out: writes stop at once).
// See docs/cluster.md for the timing argument.

import { timingSafeEqual } from "node:crypto";
import { NatterError, type WireError } from "../../protocol/index.ts";
import type { Exec, Param } from "../store/exec.ts";
import { shardOf } from "../store/layout.ts";
import type { WriteArgs, WriteOp, WriteResult } from "../store/write-ops.ts";
import type { Logger } from "../log.ts";
import { newRequestId } from "../transport/errors.ts";
import { PeerLink, type CallOut, type CallResult } from "./link.ts";
import { Membership } from "./membership.ts";
import { shardMap, viewFingerprint } from "./ownership.ts";

export interface ClusterNodeOptions {
  self: string;
  /** Every node's URL as this node reaches it (self included). */
  peers: Map<string, string>;
  /** The link token (derived from the cluster secret). */
  token: string;
  shards: number;
  heartbeatMs: number;
  leaseMs: number;
  failureAfterMs: number;
  /** Per peer link: queued calls / events bounds (--link-max-queued-calls / --link-max-queued-events). */
  linkMaxQueuedCalls?: number;
  linkMaxQueuedEvents?: number;
  log: Logger;
  /** Refused to join (another secret, shard count or node list): the caller exits. */
  onRefused?: (why: string) => void;
}

/** What the node needs from this process to serve and move shards. */
export interface ShardHost {
  reader(shard: number): Exec;
  write<K extends WriteOp>(shard: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>>;
  /** Makes the local copy of `shard` current before serving it (restore from the replica and merge); returns work to run once served. */
  adopt(shard: number): Promise<(() => Promise<void>) | null>;
  /** Waits until the shard's commits are in the replica (bounded); false if it timed out. */
  flush(shard: number): Promise<boolean>;
  /** The set of shards served changed (replication follows it; cached channel state is dropped). */
  served(shards: ReadonlySet<number>): Promise<void>;
  /** This node's copy of the shard holds nothing the replica lacks (it was handed over whole). */
  forget(shard: number): void;
  /** Runs an op forwarded by a peer (the channel's owner is this node). */
  op(op: string, caller: unknown, params: unknown): Promise<unknown>;
  /** Applies a peer's delivery events to this node's connections. */
  deliver(from: string, events: unknown[], resync: boolean): void;
  connections(): number;
  /** A media blob stored on this node, by SHA-256. */
  blob(sha256: string): Blob | null;
}

interface PeerInfo {
  inc: string;
  holding: number[];
  connections: number;
  fp: string;
  at: number;
}

const now = () => performance.now();
const unavailable = (msg: string, retry = 250) => new NatterError("unavailable", msg, retry);

export class ClusterNode {
  readonly inc = crypto.randomUUID();
  readonly membership: Membership;
  readonly links = new Map<string, PeerLink>();
  private host: ShardHost | null = null;
  private live: string[] = [];
  private map: string[] = [];
  private fp = "";
  private readonly serving = new Set<number>();
  private readonly acquiring = new Map<number, Promise<void>>();
  private readonly releasing = new Map<number, Promise<void>>();
  private readonly peerInfo = new Map<string, PeerInfo>();
  private readonly hbInFlight = new Set<string>();
  private readonly refusedBy = new Map<string, string>();
  /** Peers whose node list differs from ours (warned once, until they answer a heartbeat). */
  private readonly listDiffers = new Set<string>();
  /** Per peer: the incarnation and last event batch taken from it. */
  private readonly streams = new Map<string, { inc: string; seq: number }>();
  private everQuorum = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  readonly counters = { refusedCalls: 0, viewMismatches: 0, takeovers: 0, handoffs: 0, lostReappended: 0 };
  private readonly guardMs: number;
  private readonly hbTimeoutMs: number;

  constructor(readonly o: ClusterNodeOptions) {
    const ids = [...o.peers.keys()].sort();
    // One way, a heartbeat or its answer takes at most its timeout (a later answer is dropped).
    this.hbTimeoutMs = Math.max(o.heartbeatMs * 2, Math.floor(o.leaseMs / 3));
    this.membership = new Membership(o.self, ids, {
      leaseMs: o.leaseMs,
      failureAfterMs: o.failureAfterMs,
      startedAt: now(),
      maxDelayMs: this.hbTimeoutMs,
      reportTtlMs: o.heartbeatMs * 3,
    });
    this.guardMs = Math.min(500, Math.floor(o.leaseMs / 4));
    for (const [id, url] of o.peers) {
      if (id === o.self) continue;
      this.links.set(id, new PeerLink({ self: o.self, peer: id, url, token: o.token, inc: this.inc, fingerprint: () => this.fp, maxQueued: o.linkMaxQueuedCalls, maxEvents: o.linkMaxQueuedEvents }));
    }
    // Until it hears from a majority, a node serves nothing; its view is every node.
    this.setView(ids);
  }

  get ids(): string[] {
    return this.membership.nodes as string[];
  }
  get fingerprint(): string {
    return this.fp;
  }
  get shardMap(): readonly string[] {
    return this.map;
  }
  get liveNodes(): readonly string[] {
    return this.live;
  }

  start(host: ShardHost): void {
    this.host = host;
    this.timer = setInterval(() => this.tick(), this.o.heartbeatMs);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) l.close();
  }

  // ---- ownership ----

  ownerOf(shard: number): string {
    return this.map[shard]!;
  }
  ownerOfKey(key: string): string {
    return this.ownerOf(shardOf(key, this.o.shards));
  }
  hasQuorum(): boolean {
    return this.membership.hasLease(now());
  }
  /** Writes are taken only well inside the lease: they commit before it can run out. */
  private mayWrite(): boolean {
    return now() < this.membership.leaseEnd() - this.guardMs;
  }
  isServing(shard: number): boolean {
    return this.serving.has(shard);
  }
  /** In a quorum and serving every shard the map gives this node (GET /healthz). */
  ready(): boolean {
    if (!this.hasQuorum()) return false;
    for (let s = 0; s < this.o.shards; s++) if (this.map[s] === this.o.self && !this.serving.has(s)) return false;
    return true;
  }

  /** How to read shard i from here: this node's copy while it serves it, else the owner's over the link. */
  reader(i: number): Exec {
    if (this.serving.has(i)) return this.host!.reader(i);
    const owner = this.map[i]!;
    if (owner === this.o.self) return refusingExec(i);
    const link = this.links.get(owner)!;
    return {
      get: <T>(sql: string, ...params: Param[]) => link.call({ k: "read", s: i, m: "get", sql, p: params }) as Promise<T | null>,
      all: <T>(sql: string, ...params: Param[]) => link.call({ k: "read", s: i, m: "all", sql, p: params }) as Promise<T[]>,
      run: () => Promise.reject(new Error("a remote shard takes no statement writes")),
    };
  }

  /** Commits write `op` in shard i, here or on its owner. */
  write<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    const owner = this.map[i]!;
    if (owner !== this.o.self) return this.links.get(owner)!.call({ k: "write", s: i, op, a: args }) as Promise<WriteResult<K>>;
    return this.localWrite(i, op, args);
  }

  private localWrite<K extends WriteOp>(i: number, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    if (!this.serving.has(i)) return Promise.reject(unavailable(`shard ${i} is moving to this node; retry`));
    if (!this.mayWrite()) return Promise.reject(unavailable("this node is not in a quorum of the cluster; retry, or use another node", 1000));
    this.writesInFlight[i] = (this.writesInFlight[i] ?? 0) + 1;
    return this.host!.write(i, op, args).finally(() => this.writesInFlight[i]!--);
  }

  /** Writes admitted to each shard and not yet answered (a release waits for them). */
  private readonly writesInFlight: number[] = [];

  /** Runs an op on the node that owns `channel`'s shard. */
  forwardOp(owner: string, op: string, caller: unknown, params: unknown): Promise<unknown> {
    // Out of the quorum the links may be cut: answer at once rather than after the link's timeout.
    if (!this.hasQuorum()) return Promise.reject(unavailable("this node is not in a quorum of the cluster; retry, or use another node", 1000));
    return this.links.get(owner)!.call({ k: "op", op, caller, params });
  }

  /** Queues a delivery event for every live peer, in order. */
  broadcast(ev: unknown): void {
    for (const [id, link] of this.links) {
      if (this.live.includes(id)) link.event(ev);
      else link.missed(ev); // told when it is back
    }
  }

  /** Queues for every live peer the event `make(peer)` builds for it, in order. */
  broadcastEach(make: (peer: string) => unknown): void {
    for (const [id, link] of this.links) {
      const ev = make(id);
      if (this.live.includes(id)) link.event(ev);
      else link.missed(ev);
    }
  }

  /** Queues a delivery event for one peer. */
  sendTo(peer: string, ev: unknown): void {
    this.links.get(peer)?.event(ev);
  }

  // ---- heartbeats and the view ----

  private tick(): void {
    if (this.stopped) return;
    const t = now();
    const body = this.heartbeatBody(t);
    for (const [id, link] of this.links) {
      if (this.hbInFlight.has(id)) continue;
      this.hbInFlight.add(id);
      const sentAt = now();
      link
        .heartbeat(body, this.hbTimeoutMs)
        .then(({ status, body: b }) => {
          if (status === 200 && b) {
            this.refusedBy.delete(id);
            this.listDiffers.delete(id);
            this.membership.acked(id, sentAt, now(), b.grant === true);
            this.notePeer(id, b);
          } else if (status === 401 || (status === 409 && b?.error?.kind !== "nodes")) {
            this.refused(id, b?.error?.message ?? `answered ${status}`);
          } else if (status === 409 && !this.refusedBy.has(id) && !this.listDiffers.has(id)) {
            // Another node list: a rolling restart that grows the cluster, not a misconfiguration. Said once per peer.
            this.listDiffers.add(id);
            this.o.log.warn("cluster: node has another --peers list; not counted until it has ours", { node: id, reason: b?.error?.message });
          }
        })
        .catch(() => {})
        .finally(() => this.hbInFlight.delete(id));
    }
    this.reconsider();
  }

  private heartbeatBody(t: number) {
    return {
      from: this.o.self,
      inc: this.inc,
      sent: t,
      shards: this.o.shards,
      nodes: this.ids.join(","),
      silence: this.membership.silences(t),
      holding: [...new Set([...this.serving, ...this.acquiring.keys(), ...this.releasing.keys()])],
      connections: this.host?.connections() ?? 0,
      fp: this.fp,
    };
  }

  private refused(peer: string, why: string): void {
    if (!this.refusedBy.has(peer)) this.o.log.error("cluster: node refused us", { node: peer, reason: why });
    this.refusedBy.set(peer, why);
    // Refused by a majority of the nodes (or by every other one) before ever joining: this node is the odd one out.
    if (!this.everQuorum && this.refusedBy.size >= Math.min(this.membership.majority, this.ids.length - 1))
      this.o.onRefused?.([...this.refusedBy].map(([n, w]) => `${n}: ${w}`).join("; "));
  }

  private notePeer(id: string, b: any): void {
    const t = now();
    this.membership.heard(id, t, b.silence, typeof b.sent === "number" ? { inc: String(b.inc), sent: b.sent } : undefined);
    const known = this.peerInfo.get(id);
    if (known && known.inc !== b.inc) this.o.log.info("cluster: node restarted", { node: id });
    if (!known || known.inc !== b.inc) this.peerMet?.(id);
    this.peerInfo.set(id, { inc: b.inc, holding: b.holding ?? [], connections: b.connections ?? 0, fp: b.fp ?? "", at: t });
  }

  /** Told when a peer (or a new incarnation of it) is first heard from: it needs our presence snapshot. */
  peerMet: ((peer: string) => void) | null = null;

  private setView(live: string[]): void {
    this.live = live;
    this.map = shardMap(this.o.shards, live);
    this.fp = viewFingerprint(this.o.shards, live);
  }

  private reconsider(): void {
    const t = now();
    const quorum = this.membership.hasLease(t);
    if (quorum) this.everQuorum = true;
    if (quorum !== this.hadQuorum) {
      this.hadQuorum = quorum;
      if (this.everQuorum) this.o.log[quorum ? "info" : "warn"](quorum ? "cluster: in a quorum again" : "cluster: lost the quorum");
      this.quorumChanged?.(quorum);
    }
    const live = this.membership.live(t);
    if (live.join(",") !== this.live.join(",")) {
      const gone = this.live.filter((n) => !live.includes(n));
      this.setView(live);
      this.o.log.info("cluster: view changed", { live, fingerprint: this.fp, gone });
      for (const g of gone) {
        this.links.get(g)?.dropEvents();
        this.peerGone?.(g);
      }
      for (const [id, link] of this.links) if (live.includes(id)) link.resume();
    }
    if (!quorum) {
      if (this.serving.size > 0) {
        this.o.log.warn("cluster: no quorum; writes stop", { serving: [...this.serving] });
        this.serving.clear();
        void this.host?.served(this.serving);
      }
      return;
    }
    // Shards the map moved away stop taking writes at once, and are handed over once replicated.
    for (const s of [...this.serving]) if (this.map[s] !== this.o.self) void this.release(s).catch(() => {});
    for (let s = 0; s < this.o.shards; s++) {
      if (this.map[s] === this.o.self && !this.serving.has(s) && !this.acquiring.has(s) && !this.releasing.has(s)) {
        const p = this.acquire(s).finally(() => this.acquiring.delete(s));
        this.acquiring.set(s, p);
      }
    }
  }

  private hadQuorum = false;
  /** Told when this node gains or loses its quorum. */
  quorumChanged: ((quorum: boolean) => void) | null = null;

  /** Told when a peer leaves the view (its connections' presence is gone). */
  peerGone: ((peer: string) => void) | null = null;

  private stillMine(s: number): boolean {
    return !this.stopped && this.map[s] === this.o.self && this.hasQuorum();
  }

  private async acquire(s: number): Promise<void> {
    const t0 = now();
    try {
      // Hand-off: every live node that holds the shard (from an earlier view) releases it first.
      // A dead node's lease has surely run out (docs/cluster.md): it needs no release.
      for (;;) {
        if (!this.stillMine(s)) return;
        const fresh = this.live.filter((n) => n !== this.o.self).every((n) => {
          const p = this.peerInfo.get(n);
          return p && now() - p.at < this.o.failureAfterMs;
        });
        const holders = this.live.filter((n) => n !== this.o.self && this.peerInfo.get(n)?.holding.includes(s));
        if (fresh && holders.length === 0) break;
        for (const h of holders) {
          try {
            await this.links.get(h)!.call({ k: "release", s });
            const p = this.peerInfo.get(h);
            if (p) p.holding = p.holding.filter((x) => x !== s);
            this.counters.handoffs++;
          } catch (e) {
            this.o.log.debug("cluster: release refused; retrying", { shard: s, node: h, error: String(e) });
          }
        }
        await Bun.sleep(this.o.heartbeatMs);
      }
      const after = await this.host!.adopt(s);
      if (!this.stillMine(s)) return;
      this.serving.add(s);
      this.counters.takeovers++;
      void this.host!.served(this.serving);
      this.o.log.info("cluster: serving shard", { shard: s, ms: Math.round(now() - t0) });
      if (after) await after();
    } catch (e) {
      this.o.log.error("cluster: taking a shard over failed; retrying", { shard: s, error: e instanceof Error ? e.message : String(e) });
      await Bun.sleep(this.o.heartbeatMs * 5);
    }
  }

  /**
   * Lets shard `s` go (the map gave it to another node, which may ask for it): writes stop at once;
   * once the writes in flight are answered and the replica has them, this node stops replicating it.
   */
  private async release(s: number): Promise<void> {
    if (this.map[s] === this.o.self) throw unavailable(`shard ${s} is this node's in its view`);
    const prior = this.releasing.get(s);
    if (prior) return prior;
    const p = (async () => {
      this.serving.delete(s);
      await this.acquiring.get(s); // an acquisition in flight ends first (stillMine is false now)
      while ((this.writesInFlight[s] ?? 0) > 0) await Bun.sleep(5);
      const whole = await this.host!.flush(s);
      await this.host!.served(this.serving);
      if (whole) this.host!.forget(s);
    })().finally(() => this.releasing.delete(s));
    this.releasing.set(s, p);
    return p;
  }

  // ---- the node-to-node endpoints ----

  /**
   * The calling node's id; null without the right secret (or from this node's own id); "" with the
   * right secret from an id not in this node's --peers (a rolling restart that adds a node).
   */
  private authorized(req: Request): string | null {
    const token = req.headers.get("x-natter-cluster") ?? "";
    const from = req.headers.get("x-natter-node") ?? "";
    const a = Buffer.from(token);
    const b = Buffer.from(this.o.token);
    if (a.length !== b.length || !timingSafeEqual(a, b) || from === this.o.self) return null;
    return this.o.peers.has(from) ? from : "";
  }

  /** Answers /cluster/*. */
  async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const from = this.authorized(req);
    if (from === null) {
      this.counters.refusedCalls++;
      return jsonError(401, { code: "unauthorized", message: "cluster secret not accepted" });
    }
    if (from === "") {
      // The right secret from a node this one does not know: not refused (the lists will agree), not served.
      const message = `node list differs: ${(req.headers.get("x-natter-node") ?? "").slice(0, 64)} is not in ${this.o.self}'s --peers (${this.ids.join(",")})`;
      return path === "/cluster/heartbeat"
        ? jsonError(409, { code: "bad_request", message, kind: "nodes" } as WireError)
        : jsonError(503, { code: "unavailable", message: `${message}; retry`, retry_after_ms: 1000 });
    }
    if (path.startsWith("/cluster/blob/")) {
      const b = /^[0-9a-f]{64}$/.test(path.slice(14)) ? this.host?.blob(path.slice(14)) : null;
      return b ? new Response(b) : jsonError(404, { code: "not_found", message: "no such blob here" });
    }
    let body: any;
    try {
      body = await req.json();
    } catch {
      return jsonError(400, { code: "bad_request", message: "malformed cluster request" });
    }
    switch (path) {
      case "/cluster/heartbeat":
        return this.onHeartbeat(from, body);
      case "/cluster/call":
        return this.onCalls(from, body);
      case "/cluster/events":
        return this.onEvents(from, body);
    }
    return jsonError(404, { code: "not_found", message: "no such cluster route" });
  }

  private onHeartbeat(from: string, b: any): Response {
    if (b.shards !== this.o.shards)
      return jsonError(409, { code: "bad_request", message: `shard count differs: ${from} has ${b.shards}, ${this.o.self} has ${this.o.shards}` });
    if (b.nodes !== this.ids.join(","))
      return jsonError(409, { code: "bad_request", message: `node list differs: ${from} has ${b.nodes}, ${this.o.self} has ${this.ids.join(",")}`, kind: "nodes" } as WireError);
    this.notePeer(from, b);
    const t = now();
    return Response.json({ ...this.heartbeatBody(t), grant: this.membership.mayGrant(from, t) });
  }

  private async onCalls(from: string, b: { fp: string; calls: CallOut[] }): Promise<Response> {
    if (b.fp !== this.fp) {
      this.counters.viewMismatches++;
      return jsonError(503, { code: "unavailable", message: `views differ (${from} ${b.fp}, ${this.o.self} ${this.fp}); retry`, retry_after_ms: 200 });
    }
    const results = await Promise.all(
      b.calls.map(async (c): Promise<CallResult> => {
        try {
          return { ok: true, value: (await this.runCall(c)) ?? null };
        } catch (e) {
          return { ok: false, error: toWire(e) };
        }
      }),
    );
    return Response.json({ results });
  }

  private async runCall(c: CallOut): Promise<unknown> {
    switch (c.k) {
      case "read": {
        const s = c.s as number;
        if (!this.serving.has(s)) throw unavailable(`shard ${s} is not served here now; retry`);
        const db = this.host!.reader(s);
        return c.m === "get" ? db.get(c.sql as string, ...(c.p as Param[])) : db.all(c.sql as string, ...(c.p as Param[]));
      }
      case "write":
        return this.localWrite(c.s as number, c.op as WriteOp, c.a as never);
      case "op":
        return this.host!.op(c.op as string, c.caller, c.params);
      case "release":
        return this.release(c.s as number);
    }
    throw new NatterError("bad_request", `unknown cluster call ${String(c.k)}`);
  }

  private onEvents(from: string, b: { inc: string; seq: number; resync?: boolean; accounted?: boolean; events: unknown[] }): Response {
    const st = this.streams.get(from);
    let resync = b.resync === true;
    if (!st || st.inc !== b.inc) {
      // A new incarnation: what the old one had not delivered is gone. Clients gap-fill.
      if (st) resync = true;
      this.streams.set(from, { inc: b.inc, seq: b.seq });
    } else if (b.seq <= st.seq) {
      return Response.json({ ok: true, duplicate: true }); // a resend of a batch already applied
    } else {
      // A gap is a lost batch: the sender says (`accounted`) whether it told us with `resync` already.
      if (b.seq !== st.seq + 1 && b.accounted !== true) resync = true;
      st.seq = b.seq;
    }
    this.host!.deliver(from, b.events, resync);
    return Response.json({ ok: true });
  }

  /** Asks the live peers in turn for a media blob; writes it with `write`. True once one had it. */
  async fetchBlob(sha256: string, write: (chunk: Uint8Array) => Promise<void>): Promise<boolean> {
    for (const [id, link] of this.links) {
      if (!this.live.includes(id)) continue;
      const res = await link.get(`/cluster/blob/${sha256}`).catch(() => null);
      if (!res || res.status !== 200 || !res.body) continue;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) await write(chunk);
      return true;
    }
    return false;
  }

  // ---- status ----

  status() {
    const t = now();
    return {
      node: this.o.self,
      fingerprint: this.fp,
      quorum: this.hasQuorum(),
      lease_ms_left: Math.max(0, Math.round(this.membership.leaseEnd() - t)),
      nodes: this.ids.map((id) => ({
        id,
        url: this.o.peers.get(id)!,
        live: this.live.includes(id),
        heartbeat_age_ms: id === this.o.self ? 0 : Math.round(this.membership.silenceOf(id, t)),
        connections: id === this.o.self ? (this.host?.connections() ?? 0) : (this.peerInfo.get(id)?.connections ?? null),
        refused: this.refusedBy.get(id) ?? null,
      })),
      serving: [...this.serving].sort((a, b) => a - b),
      counters: { ...this.counters },
      links: Object.fromEntries([...this.links].map(([id, l]) => [id, { ...l.stats, event_backlog: l.eventBacklog }])),
    };
  }
}


function refusingExec(i: number): Exec {
  const no = () => Promise.reject(unavailable(`shard ${i} is moving to this node; retry`));
  return { get: no, all: no, run: no };
}

function toWire(e: unknown): WireError {
  if (e instanceof NatterError) return e.toWire();
  return { code: "internal", message: e instanceof Error ? e.message : String(e) };
}

/** A protocol error body as every HTTP error has it: `ok: false` and a request id (body and X-Request-Id). */
function jsonError(status: number, error: WireError): Response {
  const id = newRequestId();
  return Response.json({ ok: false, error: { ...error, request_id: id } }, { status, headers: { "x-request-id": id } });
}
