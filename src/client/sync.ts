// Per-channel delivery bookkeeping, pure (no I/O): which messages are new,
// which wait behind a gap in seq, and where to fetch from to fill it. The
// client feeds it pushes, fetched pages and its own sends; whatever it
// returns is emitted, so every message id is emitted once, in seq order.
import type { Message } from "../protocol/index.ts";

export interface Gap {
  channel: string;
  /** Fetch getMessages with after_seq = this. */
  afterSeq: number;
  /** Highest seq held behind the gap. */
  upTo: number;
}

export class ChannelSync {
  private last = new Map<string, number>();
  private held = new Map<string, Map<number, Message>>();

  /** True once the channel has a baseline or a delivered message. */
  known(channel: string): boolean {
    return this.last.has(channel);
  }

  /** Highest seq delivered (or baselined) for the channel; 0 if none. */
  lastSeq(channel: string): number {
    return this.last.get(channel) ?? 0;
  }

  channels(): string[] {
    return [...this.last.keys()];
  }

  /** Marks everything up to `seq` as already seen, without emitting it. Only for a channel not known yet. */
  baseline(channel: string, seq: number): void {
    if (this.last.has(channel)) return;
    this.last.set(channel, seq);
    for (const s of this.heldOf(channel).keys()) if (s <= seq) this.heldOf(channel).delete(s);
  }

  /**
   * Offers one message (pushed live, or the reply to our own send). Returns the
   * messages that are now deliverable, ascending; a duplicate returns nothing;
   * a message past a gap is held until the gap is filled.
   */
  offer(m: Message): Message[] {
    const last = this.lastSeq(m.channel);
    if (m.seq <= last) return [];
    const held = this.heldOf(m.channel);
    if (m.seq !== last + 1) {
      held.set(m.seq, m);
      return [];
    }
    this.last.set(m.channel, m.seq);
    return [m, ...this.drain(m.channel)];
  }

  /**
   * A page fetched with getMessages after_seq = lastSeq(channel). The server's
   * answer is authoritative, so fetched messages are accepted across holes.
   * `complete` (has_more false) with `upTo` (the gap's upTo when the fetch was
   * issued) releases held messages up to it even if a seq never showed up.
   */
  fill(channel: string, page: Message[], complete: boolean, upTo = 0): Message[] {
    const out: Message[] = [];
    const sorted = [...page].filter((m) => m.channel === channel).sort((a, b) => a.seq - b.seq);
    for (const m of sorted) {
      if (m.seq <= this.lastSeq(channel)) continue;
      this.last.set(channel, m.seq);
      out.push(m);
      out.push(...this.drain(channel));
    }
    if (!this.last.has(channel)) this.last.set(channel, 0);
    out.push(...this.drain(channel));
    if (complete) {
      const held = this.heldOf(channel);
      for (const s of [...held.keys()].sort((a, b) => a - b)) {
        if (s > upTo) break;
        out.push(held.get(s)!);
        held.delete(s);
        this.last.set(channel, s);
        out.push(...this.drain(channel));
      }
    }
    return out;
  }

  /** The gap to fill in the channel, if messages are held behind one. */
  gap(channel: string): Gap | null {
    const held = this.held.get(channel);
    if (!held || held.size === 0) return null;
    return { channel, afterSeq: this.lastSeq(channel), upTo: Math.max(...held.keys()) };
  }

  gaps(): Gap[] {
    return [...this.held.keys()].map((c) => this.gap(c)).filter((g): g is Gap => g !== null);
  }

  private heldOf(channel: string): Map<number, Message> {
    let h = this.held.get(channel);
    if (!h) this.held.set(channel, (h = new Map()));
    return h;
  }

  /** Releases held messages that now follow lastSeq directly; drops stale ones. */
  private drain(channel: string): Message[] {
    const held = this.held.get(channel);
    if (!held || held.size === 0) return [];
    const out: Message[] = [];
    let last = this.lastSeq(channel);
    for (const s of held.keys()) if (s <= last) held.delete(s);
    for (let next = held.get(last + 1); next; next = held.get(last + 1)) {
      held.delete(last + 1);
      out.push(next);
      last += 1;
    }
    this.last.set(channel, last);
    if (held.size === 0) this.held.delete(channel);
    return out;
  }
}
