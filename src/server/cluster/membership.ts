// Who is alive, and whether this node may write: heartbeats in, a view and a
// lease out. Pure (the caller passes the clock), so the timing rules are
// tested without sleeping.
//
// - A node has a lease while a majority of the configured nodes (itself
//   included) answered one of its heartbeats sent less than `leaseMs` ago:
//   lease end = the send time of the majority's latest answered heartbeat + leaseMs.
// - Node k is dead when a majority of the configured nodes report it silent
//   for at least `failureAfterMs` (each node's own silence, or the silence a
//   peer reported in its latest heartbeat, aged by the time since).
// Any majority that declares k dead includes a node that answered k's last
// lease-granting heartbeat (two majorities intersect), and that node received
// it after it was sent: it reports k silent for failureAfterMs only once k's
// lease (leaseMs from the send) has run out, given failureAfterMs > leaseMs
// by more than clock-rate drift. See docs/cluster.md.

/** A peer's latest heartbeat, as received. */
interface Report {
  /** Local time it arrived. */
  at: number;
  /** How long the sender had not heard from each node when it sent it (null: never). */
  silence: Record<string, number | null>;
}

export interface MembershipOptions {
  leaseMs: number;
  failureAfterMs: number;
}

export class Membership {
  readonly majority: number;
  /** Local time of the last message from each peer. */
  private readonly lastHeard = new Map<string, number>();
  /** Send time of the latest heartbeat each peer answered. */
  private readonly lastAcked = new Map<string, number>();
  private readonly reports = new Map<string, Report>();

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

  /** A valid message (heartbeat or answer) from `from`, carrying its silences. */
  heard(from: string, now: number, silence?: Record<string, number | null>): void {
    if (from === this.self || !this.nodes.includes(from)) return;
    this.lastHeard.set(from, Math.max(now, this.lastHeard.get(from) ?? -Infinity));
    if (silence) this.reports.set(from, { at: now, silence });
  }

  /** `from` answered the heartbeat this node sent at `sentAt`. */
  acked(from: string, sentAt: number, now: number): void {
    this.heard(from, now);
    this.lastAcked.set(from, Math.max(sentAt, this.lastAcked.get(from) ?? -Infinity));
  }

  /** This node's silences, for its heartbeats. */
  silences(now: number): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const p of this.peers) {
      const h = this.lastHeard.get(p);
      out[p] = h === undefined ? null : Math.max(0, now - h);
    }
    return out;
  }

  /** Milliseconds since this node last heard from `peer` (null: never). */
  silenceOf(peer: string, now: number): number | null {
    const h = this.lastHeard.get(peer);
    return h === undefined ? null : Math.max(0, now - h);
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
    const own = this.silenceOf(node, now);
    if (own === null || own >= this.o.failureAfterMs) votes++;
    for (const p of this.peers) {
      if (p === node) continue;
      const r = this.reports.get(p);
      // A report counts while its sender is itself heard from (an old report says nothing of now).
      if (!r || now - r.at >= this.o.failureAfterMs) continue;
      const s = r.silence[node];
      const aged = s === null || s === undefined ? null : s + (now - r.at);
      if (aged === null || aged >= this.o.failureAfterMs) votes++;
    }
    return votes >= this.majority;
  }

  /** The live nodes (sorted): every configured node not dead. */
  live(now: number): string[] {
    return this.nodes.filter((n) => !this.isDead(n, now)).sort();
  }
}
