// Who is alive, and whether this node may write: heartbeats in, a view and a
// lease out. Pure (the caller passes the clock), so the timing rules are
// tested without sleeping.
//
// - A node has a lease while a majority of the configured nodes (itself
//   included) granted one of its heartbeats sent less than `leaseMs` ago:
//   lease end = the send time of the majority's latest granted heartbeat +
//   leaseMs. An answer that took longer than `maxDelayMs` grants nothing.
// - Node k is dead when a majority of the configured nodes find it silent
//   for at least `failureAfterMs`: this node by its own clock, a peer by the
//   silence in a report (its heartbeat or answer) received less than
//   `reportTtlMs` ago.
// - A node that reported k silent does not grant k a lease for
//   reportTtlMs + maxDelayMs after: by then no report of it still counts.
// Any majority that declares k dead includes a node that granted k's last
// lease (two majorities intersect). Either it granted before the silence it
// reported began (so the lease, leaseMs < failureAfterMs from the send, is
// over), or after the report, when the report no longer counts anywhere.
// See docs/cluster.md for the timing argument and its assumptions.

/** A peer's latest heartbeat, as received. */
interface Report {
  /** Local time it arrived. */
  at: number;
  /** The sender's process and its clock when it sent the report (reports may arrive out of order). */
  stamp: Stamp;
  /** How long the sender had not heard from each node when it sent it (null: never). */
  silence: Record<string, number | null>;
}

/** Which process sent a report, and when by its own clock. */
export interface Stamp {
  inc: string;
  sent: number;
}

export interface MembershipOptions {
  leaseMs: number;
  failureAfterMs: number;
  /** Longest a message takes one way; answers slower than this grant nothing. */
  maxDelayMs: number;
  /** How long a peer's report counts after it arrives. */
  reportTtlMs: number;
  /**
   * When this process started (the clock's time). A node counts silence from here for a peer it has
   * not heard since: it may have answered that peer's heartbeats before a restart, so it must not
   * call it dead sooner than failureAfterMs after starting.
   */
  startedAt: number;
}

export class Membership {
  readonly majority: number;
  /** Local time of the last message from each peer. */
  private readonly lastHeard = new Map<string, number>();
  /** Send time of the latest heartbeat each peer answered. */
  private readonly lastAcked = new Map<string, number>();
  private readonly reports = new Map<string, Report>();
  /** When this node last reported each peer silent for failureAfterMs. */
  private readonly reportedDead = new Map<string, number>();

  constructor(
    readonly self: string,
    /** Every configured node id, self included. */
    readonly nodes: readonly string[],
    private readonly o: MembershipOptions,
  ) {
    this.majority = Math.floor(nodes.length / 2) + 1;
  }

  get peers(): string[] {
    return this.nodes.filter((n) => n !== this.self);
  }

  /**
   * A valid message (heartbeat or answer) from `from`, with its silences as of `stamp`. A report
   * older than the one kept (an earlier send of the same process that arrived later) is dropped:
   * its silences would be too long.
   */
  heard(from: string, now: number, silence?: Record<string, number | null>, stamp?: Stamp): void {
    if (from === this.self || !this.nodes.includes(from)) return;
    this.lastHeard.set(from, Math.max(now, this.lastHeard.get(from) ?? -Infinity));
    if (!silence || !stamp) return;
    const kept = this.reports.get(from);
    if (kept && kept.stamp.inc === stamp.inc && kept.stamp.sent >= stamp.sent) return;
    this.reports.set(from, { at: now, silence, stamp });
  }

  /** `from` answered the heartbeat this node sent at `sentAt`, granting a lease or not. */
  acked(from: string, sentAt: number, now: number, granted: boolean): void {
    this.heard(from, now);
    if (!granted || now - sentAt > this.o.maxDelayMs) return;
    this.lastAcked.set(from, Math.max(sentAt, this.lastAcked.get(from) ?? -Infinity));
  }

  /** Whether this node may grant `peer` a lease now (see the top of this file). */
  mayGrant(peer: string, now: number): boolean {
    const at = this.reportedDead.get(peer);
    return at === undefined || now - at >= this.o.reportTtlMs + this.o.maxDelayMs;
  }

  /** This node's silences, for a report it sends now (its heartbeat or answer). */
  silences(now: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.peers) {
      out[p] = this.silenceOf(p, now);
      if (out[p] >= this.o.failureAfterMs) this.reportedDead.set(p, now);
    }
    return out;
  }

  /** Milliseconds since this node last heard from `peer` (or since it started, if not since). */
  silenceOf(peer: string, now: number): number {
    return Math.max(0, now - (this.lastHeard.get(peer) ?? this.o.startedAt));
  }

  /** When this node's lease ends (local time; -Infinity without one). */
  leaseEnd(): number {
    const acks = this.peers.map((p) => this.lastAcked.get(p) ?? -Infinity).sort((a, b) => b - a);
    // Self always agrees: the majority needs majority-1 peers.
    const need = this.majority - 1;
    if (need === 0) return Infinity;
    const t = acks[need - 1] ?? -Infinity;
    return t + this.o.leaseMs;
  }

  hasLease(now: number): boolean {
    return now < this.leaseEnd();
  }

  /** Whether `node` is dead: a majority of the configured nodes find it silent for failureAfterMs. */
  isDead(node: string, now: number): boolean {
    if (node === this.self) return false;
    let votes = 0;
    if (this.silenceOf(node, now) >= this.o.failureAfterMs) votes++;
    for (const p of this.peers) {
      if (p === node) continue;
      const r = this.reports.get(p);
      if (!r || now - r.at >= this.o.reportTtlMs) continue;
      const s = r.silence[node];
      if (typeof s === "number" && s >= this.o.failureAfterMs) votes++;
    }
    return votes >= this.majority;
  }

  /** The live nodes (sorted): every configured node not dead. */
  live(now: number): string[] {
    return this.nodes.filter((n) => !this.isDead(n, now)).sort();
  }
}
