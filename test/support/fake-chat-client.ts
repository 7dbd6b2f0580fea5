// Test doubles for the TUI's unit and component tests (end-to-end tests use
// the real server and NatterClient): an in-memory ChatClient whose requests
// are answered by handlers the test installs and whose events are pushed
// with emit*(), an in-memory MediaApi, and fixtures (users, channels, messages).
import { NatterError, type Channel, type HelloEvent, type MediaInfo, type Message, type OpName, type OpParams, type OpResults, type ServerEvent, type User } from "../../src/protocol/index.ts";
import type { ChangeNote, ChatClient, ConnState, OutgoingEntry, SendParams } from "../../src/tui/chat-client.ts";
import { ChatController, type ControllerOptions } from "../../src/tui/controller.ts";
import type { MediaApi, TransferCallbacks } from "../../src/tui/media-api.ts";
import { stubInfo } from "../../src/tui/state.ts";
import { until } from "./until.ts";

type Handlers = { [K in OpName]?: (p: OpParams[K]) => OpResults[K] | Promise<OpResults[K]> };

export class FakeClient implements ChatClient {
  state: ConnState = "connecting";
  nextRetryAt: number | null = null;
  me: User | null;
  device = null;
  error = null;
  handlers: Handlers = {};
  /** Every request made, in order. */
  requests: Array<{ op: OpName; params: unknown }> = [];
  sent: SendParams[] = [];
  private box: OutgoingEntry[] = [];
  private listeners = new Map<string, Set<(v: any) => void>>();
  private seq = new Map<string, number>();
  closed = false;

  constructor(me: User) {
    this.me = me;
    this.handlers.getAll = () => ({ channels: [] });
    this.handlers.getMessages = () => ({ messages: [], has_more: false });
    this.handlers.getUsers = () => ({ users: [] });
  }

  connect(): void {}
  close(): void {
    this.closed = true;
  }
  /** How many times reconnectNow found a retry waiting. */
  reconnects = 0;
  reconnectNow(): boolean {
    if (this.state !== "reconnecting" || this.nextRetryAt === null) return false;
    this.reconnects++;
    this.setState("reconnecting", null);
    return true;
  }

  async request<K extends OpName>(op: K, params: OpParams[K]): Promise<OpResults[K]> {
    this.requests.push({ op, params });
    const h = this.handlers[op] as ((p: OpParams[K]) => OpResults[K] | Promise<OpResults[K]>) | undefined;
    if (h) return await h(params);
    return {} as OpResults[K];
  }

  /** Sends succeed immediately (as the server would answer) unless `failSends` is set. */
  failSends: NatterError | null = null;
  async sendMessage(p: SendParams): Promise<Message> {
    this.sent.push(p);
    const client_id = `c${this.sent.length}`;
    if (this.failSends || this.state !== "open") {
      const entry: OutgoingEntry = {
        client_id,
        channel: p.channel,
        to: p.to,
        type: p.type ?? "text",
        content: p.content,
        media: p.media,
        status: this.failSends ? "failed" : "queued",
        error: this.failSends?.toWire(),
        created_at: Date.now(),
      };
      this.box = [...this.box, entry];
      this.emit("outbox", this.box);
      if (this.failSends) throw this.failSends;
      return new Promise<Message>(() => {});
    }
    const m = this.makeMessage(p.channel ?? `d:${p.to}`, this.me!.id, p.content, { client_id, reply_to: p.reply_to ?? null, type: p.type ?? "text", media: p.media ?? null });
    this.emit("message", m);
    return m;
  }

  async retry(client_id: string): Promise<Message> {
    const e = this.box.find((x) => x.client_id === client_id);
    if (!e) throw new NatterError("not_found", "no such entry");
    this.box = this.box.filter((x) => x !== e);
    this.emit("outbox", this.box);
    const m = this.makeMessage(e.channel ?? `d:${e.to}`, this.me!.id, e.content, { client_id });
    this.emit("message", m);
    return m;
  }

  outbox(): OutgoingEntry[] {
    return this.box;
  }

  on(ev: "state", f: (s: ConnState) => void): () => void;
  on(ev: "hello", f: (e: HelloEvent) => void): () => void;
  on(ev: "message", f: (m: Message) => void): () => void;
  on(ev: "change", f: (c: ChangeNote) => void): () => void;
  on(ev: "event", f: (e: ServerEvent) => void): () => void;
  on(ev: "outbox", f: (entries: OutgoingEntry[]) => void): () => void;
  on(ev: string, f: (v: any) => void): () => void {
    let set = this.listeners.get(ev);
    if (!set) this.listeners.set(ev, (set = new Set()));
    set.add(f);
    return () => set!.delete(f);
  }

  emit(ev: string, v: unknown): void {
    for (const f of this.listeners.get(ev) ?? []) f(v);
  }

  /** Goes "open" and says hello, like a fresh connection. */
  open(): void {
    this.setState("open");
    this.emit("hello", { ev: "hello", user: this.me!, device: { id: "d1", name: "test", created_at: 0 }, heartbeat_ms: 25000, protocol: 1 });
  }

  setState(s: ConnState, nextRetryAt: number | null = null): void {
    this.state = s;
    this.nextRetryAt = nextRetryAt;
    this.emit("state", s);
  }

  /** Continue a channel's seqs after `seq`. */
  setSeq(channel: string, seq: number): void {
    this.seq.set(channel, seq);
  }

  /** A message as the server would store it: next seq in its channel. */
  makeMessage(channel: string, sender: string, content: string, extra: Partial<Message> = {}): Message {
    const seq = (this.seq.get(channel) ?? 0) + 1;
    this.seq.set(channel, seq);
    return {
      id: `${channel}:${seq}`,
      channel,
      seq,
      sender,
      client_id: `x${seq}`,
      type: "text",
      content,
      media: null,
      reply_to: null,
      sent_at: Date.now(),
      delivered_at: null,
      seen_at: null, edited_at: null, deleted_at: null, reactions: [],
      ...extra,
    };
  }

  /** Pushes a message from someone, as a live event. */
  push(m: Message): void {
    this.emit("event", { ev: "message", message: m });
    this.emit("message", m);
  }

  ops(op: OpName): unknown[] {
    return this.requests.filter((r) => r.op === op).map((r) => r.params);
  }
}

/**
 * In-memory media for unit tests: uploads read the real file, downloads write real files (through
 * the chooser, like the client library). `hold` pauses every transfer after its first progress
 * report until release(), so a test can look at the progress line or cancel.
 */
export class FakeMedia implements MediaApi {
  readonly files = new Map<string, { info: MediaInfo; bytes: Uint8Array }>();
  infoAsked: string[] = [];
  failUpload: NatterError | null = null;
  hold = false;
  private waiting: Array<() => void> = [];
  private n = 0;

  /** Stores bytes as if someone had uploaded them; returns the media. */
  add(name: string, bytes: Uint8Array, mime = mimeOf(name)): MediaInfo {
    const info: MediaInfo = { id: `m_fake${++this.n}`, size: bytes.length, mime, sha256: "0".repeat(64), name, width: null, height: null, created_at: 1 };
    this.files.set(info.id, { info, bytes });
    return info;
  }

  release(): void {
    for (const f of this.waiting.splice(0)) f();
  }

  info = async (id: string): Promise<MediaInfo> => {
    this.infoAsked.push(id);
    const f = this.files.get(id);
    if (!f) throw new NatterError("not_found", "no such media");
    return f.info;
  };

  async upload(path: string, o: TransferCallbacks = {}): Promise<MediaInfo> {
    if (this.failUpload) throw this.failUpload;
    const bytes = await Bun.file(path).bytes();
    await this.move(bytes.length, o);
    return this.add(path.slice(path.lastIndexOf("/") + 1), bytes);
  }

  async download(id: string, choose: (offered: string) => string, o: TransferCallbacks = {}): Promise<{ path: string; size: number }> {
    const f = this.files.get(id);
    if (!f) throw new NatterError("not_found", "no such media");
    const path = choose(f.info.name);
    await this.move(f.bytes.length, o);
    await Bun.write(path, f.bytes);
    return { path, size: f.bytes.length };
  }

  private async move(total: number, o: TransferCallbacks): Promise<void> {
    o.onProgress?.({ done: 0, total });
    o.onProgress?.({ done: Math.floor(total * 0.42), total });
    if (this.hold) {
      await new Promise<void>((resolve, reject) => {
        this.waiting.push(resolve);
        o.signal?.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")), { once: true });
      });
    }
    o.onProgress?.({ done: total, total });
  }
}

function mimeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  return ({ png: "image/png", jpg: "image/jpeg", mp4: "video/mp4", ogg: "audio/ogg", txt: "text/plain; charset=utf-8" } as Record<string, string>)[ext] ?? "application/octet-stream";
}

/** A started ChatController over `client` (which then says hello), once the chats its getAll handler answers are in. */
export async function startController(client: FakeClient, opts: ControllerOptions = {}): Promise<ChatController> {
  const c = new ChatController(client, opts);
  c.start();
  client.open();
  const { channels } = await client.handlers.getAll!({});
  await until(() => channels.every((ch) => c.getState().channels[ch.id]), "the chat list");
  return c;
}

// ---- fixtures ----

export const ALICE: User = { id: "u_alice", name: "alice", phone: "+15550001", last_seen: null };
export const BOB: User = { id: "u_bob", name: "bob", phone: "+15550002", last_seen: null };
export const CAROL: User = { id: "u_carol", name: "carol", phone: "+15550003", last_seen: null };

/** A Channel as getAll returns it. */
export function channel(id: string, over: Partial<Channel> = {}): Channel {
  return { ...stubInfo(id), kind: "direct", created_at: 1, ...over };
}

/** A stored message. */
export function msg(channel: string, seq: number, sender: string, content: string, over: Partial<Message> = {}): Message {
  return {
    id: `${channel}:${seq}`,
    channel,
    seq,
    sender,
    client_id: `k${seq}`,
    type: "text",
    content,
    media: null,
    reply_to: null,
    sent_at: 1_700_000_000_000 + seq * 60_000,
    delivered_at: null,
    seen_at: null, edited_at: null, deleted_at: null, reactions: [],
    ...over,
  };
}
