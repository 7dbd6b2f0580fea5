// The node link: how this node talks to one peer, over HTTP with keep-alive.
// Every request carries the cluster's link token (derived from the secret)
// and this node's id; calls also carry the caller's view fingerprint.
//
// - Calls (reads, writes, ops on a channel, shard hand-offs) are batched:
//   what is queued when a request leaves goes in it, at most `maxInFlight`
//   requests at once; past `maxQueued` waiting calls, new ones are refused
//   `unavailable` (backpressure).
// - Events (deliveries to the peer's connections) are one ordered stream:
//   one request in flight, resent until the peer has it (it drops repeats by
//   batch number), so a link that drops and comes back loses nothing. Past
//   `maxEvents` queued events the backlog is dropped; it is also dropped when
//   the peer leaves the view (declared dead), and events published while it
//   is out of the view are never queued. When such lost events include
//   deliveries, the next batch says `resync` (one is sent as soon as the peer
//   is back): the peer tells its clients to gap-fill, so no device silently
//   misses a message. Lost presence changes are repaired by the batch's tail
//   (this node's whole presence list, from the delivery layer's policy).
//   Batches say `accounted`: a gap in their numbers is one of these losses,
//   already told, so the peer need not resync for the gap itself.

import { NatterError, type WireError } from "../../protocol/index.ts";

export interface CallOut {
  k: "read" | "write" | "op" | "release" | "blob";
  [field: string]: unknown;
}

export type CallResult = { ok: true; value: unknown } | { ok: false; error: WireError };

export interface LinkOptions {
  self: string;
  peer: string;
  url: string;
  token: string;
  /** This process's incarnation (new at each start). */
  inc: string;
  /** The current view fingerprint, read when a call batch leaves. */
  fingerprint: () => string;
  maxInFlight?: number;
  /** Calls waiting to leave past which new ones are refused `unavailable` (--link-max-queued-calls). */
  maxQueued?: number;
  /** Events waiting for the peer past which the backlog is dropped for a resync (--link-max-queued-events). */
  maxEvents?: number;
  timeoutMs?: number;
  /** Event-batch request limit (a blackholed request is resent after it); default timeoutMs, else 10 s. */
  eventTimeoutMs?: number;
}

interface Pending {
  call: CallOut;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const unavailable = (msg: string, retry = 250) => new NatterError("unavailable", msg, retry);

export class PeerLink {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private events: unknown[] = [];
  private eventBatch: { seq: number; events: unknown[]; resync: boolean } | null = null;
  private eventSeq = 0;
  private resync = false;
  /** Events were lost that the tail (policy.onResync) repairs, or a resync went out: the tail is due. */
  private resyncTailDue = false;
  private pumping = false;
  private closed = false;
  /** Counters for status and metrics. */
  readonly stats = { calls: 0, callBatches: 0, eventBatches: 0, eventsSent: 0, resends: 0, refusedBackpressure: 0, failures: 0, eventsDropped: 0, resyncs: 0 };

  constructor(private readonly o: LinkOptions) {}

  get url(): string {
    return this.o.url;
  }

  private headers(): Record<string, string> {
    return { "content-type": "application/json", "x-natter-cluster": this.o.token, "x-natter-node": this.o.self };
  }

  private post(path: string, body: unknown, timeoutMs = this.o.timeoutMs ?? 10_000): Promise<Response> {
    return fetch(this.o.url + path, { method: "POST", headers: this.headers(), body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  }

  /** A GET on the peer (media blobs), authenticated like every link request. */
  get(path: string): Promise<Response> {
    return fetch(this.o.url + path, { headers: this.headers(), signal: AbortSignal.timeout(this.o.timeoutMs ?? 60_000) });
  }

    /** One heartbeat exchange: resolves with the peer's answer, rejects on no answer. */
  async heartbeat(body: object, timeoutMs: number): Promise<{ status: number; body: any }> {
    const res = await this.post("/cluster/heartbeat", body, timeoutMs);
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  /** Runs `call` on the peer; rejects with the peer's NatterError, or `unavailable` when it cannot be reached. */
  call(call: CallOut): Promise<unknown> {
    if (this.closed) return Promise.reject(unavailable(`node ${this.o.peer}: link closed`));
    if (this.queue.length >= (this.o.maxQueued ?? 20_000)) {
      this.stats.refusedBackpressure++;
      return Promise.reject(unavailable(`node ${this.o.peer}: link backlog full`, 500));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < (this.o.maxInFlight ?? 4)) {
      const batch = this.queue.splice(0, 512);
      void this.send(batch);
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    this.inFlight++;
    this.stats.calls += batch.length;
    this.stats.callBatches++;
    try {
      const res = await this.post("/cluster/call", { from: this.o.self, fp: this.o.fingerprint(), calls: batch.map((p) => p.call) });
      const body = (await res.json().catch(() => null)) as { results?: CallResult[]; error?: WireError } | null;
      if (!res.ok || !body?.results) {
        const e = body?.error ? NatterError.fromWire(body.error) : unavailable(`node ${this.o.peer} answered ${res.status}`);
        for (const p of batch) p.reject(e.code === "unauthorized" || e.code === "forbidden" ? unavailable(`node ${this.o.peer}: ${e.message}`) : e);
        return;
      }
      body.results.forEach((r, i) => {
        const p = batch[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(NatterError.fromWire(r.error));
      });
    } catch (e) {
      this.stats.failures++;
      const err = unavailable(`node ${this.o.peer} unreachable: ${(e as Error).message}`);
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    }
  }

  /**
   * Set by the delivery layer: the events a dropped backlog keeps (closes of revoked devices:
   * a gap-fill does not replace them); which lost events need the peer's clients to gap-fill
   * (deliveries; default: every event); and the tail sent after lost events of any kind
   * (this node's presence, since presence changes may be among them).
   */
  policy: { keep?: (ev: unknown) => boolean; needsResync?: (ev: unknown) => boolean; onResync?: () => unknown[] } = {};

  /** Events that will not reach the peer: a resync if any of them needs one, else just the tail. */
  private lost(events: readonly unknown[]): void {
    if (events.length === 0) return;
    this.stats.eventsDropped += events.length;
    const needs = this.policy.needsResync;
    if (!needs || events.some(needs)) this.resync = true;
    else this.resyncTailDue = true;
  }

  /** Queues an event for the peer's connections; events reach it in this order. */
  event(ev: unknown): void {
    if (this.closed) return;
    const max = this.o.maxEvents ?? 100_000;
    if (this.events.length >= max) {
      // The peer is far behind or unreachable: drop the backlog and have it gap-fill its clients.
      const keep = this.policy.keep;
      let kept = keep ? this.events.filter(keep) : [];
      if (kept.length >= max / 2) kept = []; // still bounded, whatever is queued
      this.lost(kept.length === 0 ? this.events : this.events.filter((e) => !keep!(e)));
      this.events = kept;
    }
    this.events.push(ev);
    if (!this.pumping) void this.pump();
  }

  /** Drops queued events (the peer left the view): when it is back, it is told (see lost). */
  dropEvents(): void {
    this.lost([...(this.eventBatch?.events ?? []), ...this.events]);
    this.events = [];
    this.eventBatch = null;
  }

  /** An event published while the peer was out of the view (not queued): it is told when back. */
  missed(ev: unknown): void {
    this.lost([ev]);
  }

  /** The peer is in the view again: if it missed events, tell it now (a batch with `resync` and/or the tail). */
  resume(): void {
    if (this.closed || !(this.resync || this.resyncTailDue)) return;
    if (!this.pumping) void this.pump();
  }

  get eventBacklog(): number {
    return this.events.length + (this.eventBatch?.events.length ?? 0);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let backoff = 25;
    try {
      while (!this.closed && (this.eventBatch || this.events.length > 0 || this.resync || this.resyncTailDue)) {
        if (!this.eventBatch) {
          if (this.resync) this.resyncTailDue = true;
          const events = this.events.splice(0, 2048);
          // The resync's tail (the newest state) goes after every event queued before it.
          if (this.resyncTailDue && this.events.length === 0) {
            events.push(...(this.policy.onResync?.() ?? []));
            this.resyncTailDue = false;
          }
          this.eventBatch = { seq: ++this.eventSeq, events, resync: this.resync };
          this.resync = false;
        }
        const b = this.eventBatch;
        try {
          const body = { from: this.o.self, inc: this.o.inc, seq: b.seq, resync: b.resync, accounted: true, events: b.events };
          const res = await this.post("/cluster/events", body, this.o.eventTimeoutMs ?? this.o.timeoutMs ?? 10_000);
          await res.arrayBuffer().catch(() => {});
          if (res.ok) {
            if (this.eventBatch === b) this.eventBatch = null;
            this.stats.eventBatches++;
            this.stats.eventsSent += b.events.length;
            if (b.resync) this.stats.resyncs++;
            backoff = 25;
            continue;
          }
        } catch {}
        // Not taken: the same batch again (the peer drops it if it had it).
        this.stats.resends++;
        await Bun.sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    } finally {
      this.pumping = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.queue) p.reject(unavailable(`node ${this.o.peer}: link closed`));
    this.queue = [];
  }
}
