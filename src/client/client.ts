// NatterClient: a live, self-healing connection for the TUI, `natter watch`
// and scripts. It reconnects forever (full-jitter backoff) until close(),
// catches up after every reconnect, fills seq gaps, emits each message id
// exactly once in seq order per channel, and sends through an idempotent outbox.
import {
  changeRecord,
  changeTarget,
  NatterError,
  validateParams,
  type ChangeRecord,
  type DeleteScope,
  type Device,
  type HelloEvent,
  type Message,
  type MessageType,
  type OpName,
  type OpParams,
  type OpResults,
  type Privacy,
  type ServerEvent,
  type User,
} from "../protocol/index.ts";
import type { BackoffOptions } from "./backoff.ts";
import { Connection, ConnectionLost } from "./connection.ts";
import { deviceOps, type DeviceOps } from "./devices.ts";
import { Emitter } from "./emitter.ts";
import { isRetryable, Outbox, type OutgoingEntry } from "./outbox.ts";
import { MessageFeed } from "./feed.ts";
import { ServerRotation } from "./servers.ts";

export type ConnState = "connecting" | "open" | "reconnecting" | "offline" | "closed";

export interface ClientOptions {
  /** http(s) base URL, e.g. http://127.0.0.1:8080; or give `servers`. */
  server?: string;
  /** Several base URLs of one cluster's nodes (see servers.ts for the order they are tried in). */
  servers?: readonly string[];
  /** The source of [0, 1) for the order of `servers` (default Math.random; tests pin it). */
  random?: () => number;
  /** Device token. */
  token: string;
  /** Reconnect backoff; defaults 500 / 5000 ms, full jitter. */
  backoff?: BackoffOptions;
  /** Limit for one request (including the wait for a connection); default 15000. */
  requestTimeoutMs?: number;
}

export interface SendParams {
  channel?: string;
  to?: string;
  type?: MessageType;
  content: string;
  media?: string;
  reply_to?: string;
}

/**
 * A change entry (an edit, delete or reaction; see foldChange), emitted once each in seq order
 * like messages: pushed live, or found by catch-up. `target` is the seq of the message it changes.
 */
export interface ChangeNote {
  entry: Message;
  record: ChangeRecord;
  channel: string;
  target: number;
}

type Events = {
  state: ConnState;
  hello: HelloEvent;
  message: Message;
  change: ChangeNote;
  event: ServerEvent;
  outbox: OutgoingEntry[];
  servers: string[];
};

export class NatterClient {
  private readonly conn: Connection;
  private readonly rotation: ServerRotation;
  private readonly emitter = new Emitter<Events>();
  private readonly feed: MessageFeed;
  private readonly box = new Outbox();
  private readonly timeoutMs: number;
  private _state: ConnState = "closed";
  private _nextRetryAt: number | null = null;
  /** The server when "state" last fired: a move to another server fires it again. */
  private stateServer = "";
  private _me: User | null = null;
  private _device: Device | null = null;
  private _error: NatterError | null = null;
  /** Increases with each hello, so work for an older connection stops. */
  private generation = 0;
  private pumping = false;
  /** A `resync` came and its catch-up has not started yet; and whether one runs now. */
  private resyncPending = false;
  private resyncing = false;
  private openWaiters = new Set<{ resolve(): void; reject(e: NatterError): void }>();
  /** This user's devices: link another, list, revoke (over this connection). */
  readonly devices: DeviceOps = deviceOps((op, params) => this.request(op, params));

  constructor(opts: ClientOptions) {
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    const given = [...(opts.servers ?? []), ...(opts.server ? [opts.server] : [])];
    if (given.length === 0) throw new NatterError("bad_request", "give server or servers");
    this.rotation = new ServerRotation(given, { random: opts.random });
    this.feed = new MessageFeed({
      call: (op, params, gen) => this.call(op, params, gen),
      emit: (m) => this.emitEntry(m),
      generation: () => this.generation,
      isOpen: () => this._state === "open",
    });
    this.conn = new Connection(
      { servers: this.rotation, token: opts.token, backoff: opts.backoff, connectTimeoutMs: this.timeoutMs },
      {
        // The first attempt after connect() is "connecting"; later ones stay "reconnecting".
        connecting: () => this.setState(this._state === "closed" || this._state === "offline" || this._state === "connecting" ? "connecting" : "reconnecting", null),
        hello: (h) => this.onHello(h),
        event: (e) => this.onEvent(e),
        down: (at) => this.setState("reconnecting", at),
        unauthorized: (err) => {
          this._error = err;
          this.setState("offline");
          this.rejectOpenWaiters(err);
          for (let e = this.box.nextQueued(); e; e = this.box.nextQueued()) this.box.fail(e.client_id, err);
          this.emitOutbox();
        },
      },
    );
  }

  get state(): ConnState {
    return this._state;
  }
  /** When the next connection attempt happens, while state is "reconnecting". */
  get nextRetryAt(): number | null {
    return this._state === "reconnecting" ? this._nextRetryAt : null;
  }
  /** The server URL in use, or being tried. */
  get server(): string {
    return this.rotation.current;
  }
  /** Every server URL known: the given ones first, then the nodes learned from hello. */
  get servers(): string[] {
    return this.rotation.all;
  }
  /** The nodes learned from hello that were not given. */
  get learnedServers(): string[] {
    return this.rotation.learnedNodes;
  }
  get me(): User | null {
    return this._me;
  }
  get device(): Device | null {
    return this._device;
  }
  /** Why the client went "offline" (the token was refused), else null. */
  get error(): NatterError | null {
    return this._error;
  }

  /** Starts connecting; reconnects until close(). Calling it again after close() starts over. */
  connect(): void {
    this._error = null;
    this.conn.start();
  }

  /** Closes the socket for good; waiting requests and sends reject with unavailable, outbox entries stay. */
  close(): void {
    const err = new NatterError("unavailable", "client closed");
    this.generation++;
    this.conn.stop(err);
    this.setState("closed");
    this.rejectOpenWaiters(err);
    this.box.rejectAll(err);
    for (const e of this.box.list()) if (e.status === "sending") this.box.setStatus(e.client_id, "queued");
  }

  /** While waiting to reconnect: tries now instead (a person asked); false when no retry is waiting. */
  reconnectNow(): boolean {
    return this.conn.retryNow();
  }

  /** Resolves once connected and caught up; rejects on timeout (unavailable), unauthorized, or close. */
  waitOpen(timeoutMs: number = this.timeoutMs): Promise<void> {
    if (this._state === "open") return Promise.resolve();
    if (this._state === "offline" && this._error) return Promise.reject(this._error);
    if (this._state === "closed") return Promise.reject(new NatterError("unavailable", "client is not connected; call connect()"));
    return new Promise<void>((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(t);
          this.openWaiters.delete(w);
          resolve();
        },
        reject: (e: NatterError) => {
          clearTimeout(t);
          this.openWaiters.delete(w);
          reject(e);
        },
      };
      const t = setTimeout(() => w.reject(new NatterError("unavailable", `no connection to the server within ${timeoutMs} ms`)), timeoutMs);
      this.openWaiters.add(w);
    });
  }

  /** Typed request/reply once the connection is open; rejects with NatterError (unavailable on timeout or disconnect). */
  async request<K extends OpName>(op: K, params: OpParams[K]): Promise<OpResults[K]> {
    const start = Date.now();
    await this.waitOpen(this.timeoutMs);
    const left = Math.max(1, this.timeoutMs - (Date.now() - start));
    const result = await this.conn.send(op, params, left);
    if (op === "getMessages") this.feed.observe((result as OpResults["getMessages"]).messages);
    return result;
  }

  /**
   * Queues a message and sends it when connected, with a fresh client_id;
   * retried (same client_id) after rate limits and disconnects. Resolves with
   * the stored Message; a final error marks the entry failed and rejects.
   */
  sendMessage(p: SendParams): Promise<Message> {
    const entry = {
      client_id: crypto.randomUUID(),
      channel: p.channel,
      to: p.to,
      type: p.type ?? "text",
      content: p.content,
      media: p.media,
      reply_to: p.reply_to,
    };
    const v = validateParams("sendMessage", entry);
    if (!v.ok) return Promise.reject(new NatterError("bad_request", v.message));
    if (!entry.channel === !entry.to) return Promise.reject(new NatterError("bad_request", "give exactly one of channel or to"));
    if (this._state === "offline" && this._error) return Promise.reject(this._error);
    for (const k of ["channel", "to", "media", "reply_to"] as const) if (entry[k] === undefined) delete entry[k];
    const done = this.box.add(entry);
    this.emitOutbox();
    this.pump();
    return done;
  }

  /** This user's privacy settings: who finds them by phone, who may add them to groups. */
  async getPrivacy(): Promise<Privacy> {
    return (await this.request("getPrivacy", {})).privacy;
  }

  /** Changes the settings given (at least one); resolves with all of them. */
  async setPrivacy(p: OpParams["setPrivacy"]): Promise<Privacy> {
    return (await this.request("setPrivacy", p)).privacy;
  }

  /** Sends a failed entry again with the same client_id; for an entry still pending, waits for it. */
  retry(client_id: string): Promise<Message> {
    const e = this.box.get(client_id);
    if (!e) return Promise.reject(new NatterError("not_found", `no outbox entry ${client_id}`));
    const done = this.box.wait(client_id);
    if (e.status === "failed") {
      this.box.setStatus(client_id, "queued");
      this.emitOutbox();
      this.pump();
    }
    return done;
  }

  outbox(): OutgoingEntry[] {
    return this.box.list();
  }

  on(ev: "state", f: (s: ConnState) => void): () => void;
  on(ev: "hello", f: (e: HelloEvent) => void): () => void;
  on(ev: "message", f: (m: Message) => void): () => void;
  /** A change entry (edit, delete, reaction), in seq order with messages; fold it with foldChange. */
  on(ev: "change", f: (c: ChangeNote) => void): () => void;
  on(ev: "event", f: (e: ServerEvent) => void): () => void;
  on(ev: "outbox", f: (entries: OutgoingEntry[]) => void): () => void;
  /** The known servers changed (a hello brought another node list). */
  on(ev: "servers", f: (servers: string[]) => void): () => void;
  on<K extends keyof Events>(ev: K, f: (v: Events[K]) => void): () => void {
    return this.emitter.on(ev, f);
  }

  /** Edits one's own text message (within the server's edit window); resolves with its state after. */
  async editMessage(channel: string, seq: number, content: string): Promise<Message> {
    return (await this.request("editMessage", { channel, seq, content })).message;
  }

  /** Deletes a message for everyone (the sender within the window, or a group admin) or only for this user ("me"). */
  async deleteMessage(channel: string, seq: number, scope: DeleteScope = "everyone"): Promise<void> {
    await this.request("deleteMessage", { channel, seq, scope });
  }

  /** Sets this user's one reaction to a message; "" removes it. */
  async react(channel: string, seq: number, emoji: string): Promise<void> {
    await this.request("react", { channel, seq, emoji });
  }

  /** Highest seq this client has seen in the channel (0 if none). */
  lastSeq(channel: string): number {
    return this.feed.lastSeq(channel);
  }

  // ---- internals ----

  /** Emits "state" when the state changes, and also when a new retry time is set while reconnecting. */
  private setState(s: ConnState, retryAt: number | null = null): void {
    const changed = s !== this._state || retryAt !== this._nextRetryAt || this.rotation.current !== this.stateServer;
    this.stateServer = this.rotation.current;
    this._state = s;
    this._nextRetryAt = s === "reconnecting" ? retryAt : null;
    if (changed) this.emitter.emit("state", s);
  }

  private rejectOpenWaiters(e: NatterError): void {
    for (const w of [...this.openWaiters]) w.reject(e);
  }

  private emitOutbox(): void {
    this.emitter.emit("outbox", this.box.list());
  }

  private onHello(h: HelloEvent): void {
    this._me = h.user;
    this._device = h.device;
    if (Array.isArray(h.nodes) && this.rotation.learn(h.nodes)) this.emitter.emit("servers", this.rotation.all);
    this.emitter.emit("hello", h);
    const gen = ++this.generation;
    this.resyncPending = false; // this catch-up covers what an earlier resync asked for
    this.feed.catchUp(gen).then(
      () => {
        if (gen !== this.generation) return;
        this.conn.resetBackoff();
        this.setState("open");
        for (const w of [...this.openWaiters]) w.resolve();
        this.feed.fillGaps();
        this.pump();
        if (this.resyncPending) void this.resync(gen);
      },
      (e) => {
        // A dropped connection brings a new hello, which starts over. Any other
        // failure: reconnect (with backoff, and not before a retry-after) and try again; progress is kept.
        if (gen === this.generation && !(e instanceof ConnectionLost)) this.conn.reconnect(e instanceof NatterError ? e.retryAfterMs : 0);
      },
    );
  }

  /** A feed entry: a change entry is a "change", anything else a "message". */
  private emitEntry(m: Message): void {
    if (m.type !== "change") return this.emitter.emit("message", m);
    const record = changeRecord(m);
    const target = changeTarget(m);
    if (record && target !== null) this.emitter.emit("change", { entry: m, record, channel: m.channel, target });
  }

  private onEvent(e: ServerEvent): void {
    this.emitter.emit("event", e);
    if (e.ev === "message") this.feed.push(e.message);
    // A change is the entry at its change_seq: it keeps the feed's seqs dense.
    else if ((e.ev === "edit" || e.ev === "delete" || e.ev === "reaction") && e.change) this.feed.push(e.change);
    // Events may have been lost between nodes of a cluster: catch up as after a reconnect
    // (once the catch-up of this connection's hello is done; one at a time).
    else if (e.ev === "resync") {
      this.resyncPending = true;
      if (this._state === "open") void this.resync(this.generation);
    }
  }

  /**
   * Catches up after a `resync`, again while more come. A catch-up refused `unavailable`
   * (a shard moving, the node losing its quorum) is tried again after its retry-after;
   * another failure reconnects, as after a hello. Ends when the connection does.
   */
  private async resync(gen: number): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      while (this.resyncPending && gen === this.generation) {
        this.resyncPending = false;
        try {
          await this.feed.catchUp(gen);
          if (gen === this.generation) this.feed.fillGaps();
        } catch (e) {
          if (gen !== this.generation || e instanceof ConnectionLost) return; // the next hello catches up
          if (!(e instanceof NatterError) || !isRetryable(e)) return void this.conn.reconnect(e instanceof NatterError ? e.retryAfterMs : 0);
          this.resyncPending = true;
          await Bun.sleep(e.retryAfterMs ?? 1000);
        }
      }
    } finally {
      this.resyncing = false;
    }
  }

  /** An internal request: waits out rate limits (retry_after_ms) while the connection lasts. */
  private async call<K extends OpName>(op: K, params: OpParams[K], gen: number): Promise<OpResults[K]> {
    for (;;) {
      try {
        return await this.conn.send(op, params, this.timeoutMs);
      } catch (e) {
        if (!(e instanceof NatterError) || e.code !== "rate_limited" || gen !== this.generation) throw e;
        await Bun.sleep(e.retryAfterMs ?? 1000);
        if (gen !== this.generation) throw new ConnectionLost();
      }
    }
  }

  /** Sends queued outbox entries one at a time, oldest first, while the connection is open. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this._state === "open") {
        const e = this.box.nextQueued();
        if (!e) return;
        this.box.setStatus(e.client_id, "sending");
        this.emitOutbox();
        const { status: _s, error: _e, created_at: _c, ...params } = e;
        try {
          const { message } = await this.conn.send("sendMessage", params, this.timeoutMs);
          this.box.succeed(e.client_id, message);
          this.emitOutbox();
          this.feed.observe([message]);
        } catch (x) {
          const err = x instanceof NatterError ? x : new NatterError("internal", String(x));
          if (!isRetryable(err)) {
            this.box.fail(e.client_id, err);
            this.emitOutbox();
            continue;
          }
          if (this.box.get(e.client_id)?.status === "sending") this.box.setStatus(e.client_id, "queued", err.toWire());
          this.emitOutbox();
          if (err.retryAfterMs !== undefined) await Bun.sleep(err.retryAfterMs);
          else if (this._state === "open" && !(err instanceof ConnectionLost)) await Bun.sleep(1000);
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
