// The message feed of one client: catch-up after each hello, gap fill while
// open, and the dedupe/order bookkeeping of ChannelSync. Whatever it emits is
// new to the client and in seq order per channel. Requests go through the
// `call` it is given, tagged with the connection generation they belong to.
import { NatterError, type Message, type OpName, type OpParams, type OpResults } from "../protocol/index.ts";
import { ChannelSync } from "./sync.ts";

export interface FeedDeps {
  /** A request on the connection of generation `gen`; rejects if that connection is gone. */
  call<K extends OpName>(op: K, params: OpParams[K], gen: number): Promise<OpResults[K]>;
  emit(m: Message): void;
  /** The generation of the current connection. */
  generation(): number;
  /** True while the client is open (caught up). */
  isOpen(): boolean;
}

/** Largest page the protocol allows; catch-up and gap fill page with it. */
const PAGE = 200;
/** Pushes often arrive a moment after a reply that overtook them: wait this long before fetching a gap. */
const GAP_FILL_DELAY_MS = 50;

const gone = (e: unknown) => e instanceof NatterError && (e.code === "forbidden" || e.code === "not_found");

export class MessageFeed {
  private readonly sync = new ChannelSync();
  private baselined = false;
  /** Pushes that arrive while catching up; handled when catch-up ends. */
  private buffered: Message[] | null = null;
  private filling = new Set<string>();

  constructor(private readonly deps: FeedDeps) {}

  lastSeq(channel: string): number {
    return this.sync.lastSeq(channel);
  }

  /** A message pushed by the server: buffered during catch-up, else delivered (or held behind a gap). */
  push(m: Message): void {
    if (this.buffered) this.buffered.push(m);
    else this.observe([m]);
  }

  /** Messages seen outside catch-up (our own send's reply, a page someone fetched). */
  observe(ms: Message[]): void {
    for (const m of ms) {
      this.emit(this.sync.offer(m));
      if (this.sync.gap(m.channel)) this.scheduleFill(m.channel);
    }
  }

  /**
   * After hello: list channels, then fetch everything newer than what this
   * client has seen. On the very first connection the current history is the
   * baseline (nothing old is emitted), except what was pushed since hello.
   * Resolves once caught up (then `push` delivers directly again).
   */
  async catchUp(gen: number): Promise<void> {
    this.buffered = [];
    const { channels } = await this.deps.call("getAll", {}, gen);
    if (gen !== this.deps.generation()) return;
    const first = !this.baselined;
    const listed = new Set<string>();
    for (const c of channels) {
      listed.add(c.id);
      if (first && !this.sync.known(c.id)) {
        const pushed = this.buffered.filter((m) => m.channel === c.id).map((m) => m.seq);
        this.sync.baseline(c.id, Math.min(c.last_seq, ...pushed.map((s) => s - 1)));
        continue;
      }
      const gap = this.sync.gap(c.id);
      if (c.last_seq > this.sync.lastSeq(c.id) || gap || !this.sync.known(c.id)) {
        try {
          await this.fetchAfter(c.id, Math.max(c.last_seq, gap?.upTo ?? 0), gen);
        } catch (e) {
          if (!gone(e)) throw e; // left or removed since getAll: nothing to catch up there
        }
        if (gen !== this.deps.generation()) return;
      }
    }
    // Held messages of channels we no longer belong to can never be filled: release them.
    for (const g of this.sync.gaps()) if (!listed.has(g.channel)) this.emit(this.sync.fill(g.channel, [], true, g.upTo));
    this.baselined = true;
    const pushed = this.buffered;
    this.buffered = null;
    for (const m of pushed) this.emit(this.sync.offer(m));
  }

  /** Starts filling every gap left after catch-up (call once the client is open). */
  fillGaps(): void {
    for (const g of this.sync.gaps()) this.scheduleFill(g.channel);
  }

  private emit(ms: Message[]): void {
    for (const m of ms) this.deps.emit(m);
  }

  /** Pages getMessages after lastSeq until the server has nothing newer; emits what is new. */
  private async fetchAfter(channel: string, upTo: number, gen: number): Promise<void> {
    for (;;) {
      const after = this.sync.lastSeq(channel);
      const r = await this.deps.call("getMessages", { channel, after_seq: after, limit: PAGE }, gen);
      if (gen !== this.deps.generation()) return;
      this.emit(this.sync.fill(channel, r.messages, !r.has_more, upTo));
      if (!r.has_more || r.messages.length === 0) return;
    }
  }

  /** Fetches a channel's gap soon, once at a time per channel, until it is closed. */
  private scheduleFill(channel: string): void {
    if (this.filling.has(channel) || this.buffered) return;
    this.filling.add(channel);
    const gen = this.deps.generation();
    setTimeout(async () => {
      try {
        for (let g = this.sync.gap(channel); g && gen === this.deps.generation() && this.deps.isOpen(); g = this.sync.gap(channel)) {
          try {
            await this.fetchAfter(channel, g.upTo, gen);
          } catch (e) {
            // Not a member any more (or the channel is gone): nothing will fill it; release what is held.
            if (gone(e)) this.emit(this.sync.fill(channel, [], true, g.upTo));
            return; // a lost connection is repaired by the catch-up after the next hello
          }
        }
      } finally {
        this.filling.delete(channel);
      }
    }, GAP_FILL_DELAY_MS);
  }
}
