// The TUI's one stateful object: it owns the ChatState store, feeds it from
// the client's events, and performs the side effects the views ask for
// (history pages, receipts, typing, sends, slash commands). Views read the
// store and call these methods; they never talk to the client directly.
import { NatterError, type Message, type ServerEvent } from "../protocol/index.ts";
import type { ChatClient, SendParams } from "./chat-client.ts";
import { defaultPlaces, saveMedia, sendFile, Transfers, type Places } from "./file-transfer.ts";
import type { MediaApi } from "./media-api.ts";
import { NameFetcher } from "./name-fetcher.ts";
import { confirmation, deviceNotice, runCommand, type ChatCommand, type CommandOutcome } from "./slash-commands/index.ts";
import { initialState, reduce, type Action, type ChatState } from "./state.ts";

export const PAGE_SIZE = 50;
/** A "typing start" is repeated at most this often while keys keep coming. */
export const TYPING_REPEAT_MS = 3_000;
/** Silence after which we send "typing stop". */
export const TYPING_IDLE_MS = 5_000;
export const MAX_CONTENT_BYTES = 64 * 1024;

/** Why text cannot be sent as one message (over MAX_CONTENT_BYTES), or null when it can. */
export function tooLong(text: string): string | null {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes <= MAX_CONTENT_BYTES) return null;
  const kib = (bytes / 1024).toFixed(1);
  return `not sent: ${kib} KiB is over the ${MAX_CONTENT_BYTES / 1024} KiB limit for a message; shorten it, or save it to a file and /file it`;
}

/** What a conversation is about: an existing channel, or a person we have no direct chat with yet. */
export type Target = { channel: string } | { to: string };
export type { CommandOutcome };

export interface ControllerOptions {
  now?: () => number;
  /** Media lookups (labels), uploads (/file) and downloads (/save); without it media is labelled by id and cannot be sent or saved. */
  media?: MediaApi;
  /** Where relative paths and ~ in /file and /save point (default: the process's cwd and home). */
  places?: Places;
}

export class ChatController {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly offs: Array<() => void> = [];
  /** The controller's clock (tests pass their own). */
  readonly now: () => number;
  readonly media: MediaApi | null;
  readonly places: Places;
  readonly transfers: Transfers;
  private readonly names: NameFetcher;
  private readonly mediaAsked = new Set<string>();
  private view: { channel: string | null; visible: boolean } = { channel: null, visible: false };
  private readonly pendingDelivered = new Map<string, number>();
  private deliveredTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly seenSent = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly typingState = new Map<string, { sentAt: number; idle: ReturnType<typeof setTimeout> }>();

  constructor(
    readonly client: ChatClient,
    opts: ControllerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.media = opts.media ?? null;
    this.places = opts.places ?? defaultPlaces();
    this.transfers = new Transfers((a) => this.dispatch(a));
    this.names = new NameFetcher(
      client,
      (id) => !!this.state.users[id]?.name,
      (users) => this.dispatch({ type: "users", users }),
    );
    this.state = initialState(client.me);
    this.state = reduce(this.state, this.connAction());
  }

  // ---- store ----

  getState = (): ChatState => this.state;

  subscribe = (f: () => void): (() => void) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  dispatch(a: Action): void {
    const next = reduce(this.state, a);
    if (next === this.state) return;
    this.state = next;
    for (const f of this.listeners) f();
  }

  notify(text: string, kind: "info" | "error" = "info"): void {
    this.dispatch({ type: "notice", notice: { text, kind, at: this.now() } });
  }

  // ---- lifecycle ----

  /** Subscribes to the client and connects it. */
  start(): void {
    const c = this.client;
    this.offs.push(
      c.on("state", () => this.dispatch(this.connAction())),
      c.on("hello", (e) => {
        this.dispatch({ type: "hello", user: e.user });
        void this.resync();
      }),
      c.on("message", (m) => this.onMessage(m)),
      c.on("change", (change) => this.dispatch({ type: "change", change })),
      c.on("event", (e) => this.onEvent(e)),
      c.on("outbox", (entries) => this.dispatch({ type: "outbox", entries })),
    );
    this.dispatch({ type: "outbox", entries: c.outbox() });
    c.connect();
  }

  /** Sends "typing stop" where needed, unsubscribes and closes the client. */
  stop(): void {
    for (const ch of [...this.typingState.keys()]) this.stopTyping(ch);
    for (const off of this.offs.splice(0)) off();
    for (const t of [this.deliveredTimer, this.refreshTimer]) if (t) clearTimeout(t);
    this.names.stop();
    this.transfers.cancelAll();
    this.client.close();
  }

  /** Once a second: expires typing indicators and repaints countdowns. */
  tick(): void {
    this.dispatch({ type: "tick", now: this.now() });
    this.dispatch(this.connAction());
  }

  private connAction(): Action {
    const c = this.client;
    return { type: "conn", state: c.state, nextRetryAt: c.nextRetryAt, error: c.error ? c.error.message : null, node: c.server ?? null, nodes: c.servers?.length ?? 1 };
  }

  // ---- events from the client ----

  private onMessage(m: Message): void {
    const known = this.state.channels[m.channel];
    this.dispatch({ type: "message", message: m });
    this.describeMedia([m]);
    if (!known || known.stub) this.scheduleRefresh();
    if (m.sender !== this.state.me?.id) this.queueDelivered(m.channel, m.seq);
    this.maybeSeen();
  }

  private onEvent(e: ServerEvent): void {
    const now = this.now();
    switch (e.ev) {
      case "receipt":
        this.dispatch({ type: "receipt", ev: e });
        return;
      case "typing":
        this.dispatch({ type: "typing", ev: e, now });
        return;
      case "presence":
        this.dispatch({ type: "presence", ev: e });
        return;
      case "member": {
        const me = this.state.me?.id;
        if (e.user === me && (e.action === "left" || e.action === "removed")) {
          const ch = this.state.channels[e.channel];
          if (e.action === "removed" && ch) this.notify(`You were removed from ${ch.info.name || "a group"}`);
          this.dispatch({ type: "removeChannel", channel: e.channel });
          return;
        }
        if (!this.state.channels[e.channel]) this.scheduleRefresh();
        if (e.action === "joined" || e.action === "added") this.names.forget(e.user);
        this.names.want(e.by === "admin" ? [e.user] : [e.user, e.by]);
        this.dispatch({ type: "member", ev: e, now });
        return;
      }
      case "device":
        this.notify(deviceNotice(e));
        return;
      default:
        return;
    }
  }

  /** After every (re)connect: fresh channel list, receipts, and missed messages of the chats we show. */
  private async resync(): Promise<void> {
    await this.refreshChannels();
    for (const ch of Object.values(this.state.channels)) {
      if (ch.info.last_seq > ch.info.delivered_seq) this.queueDelivered(ch.info.id, ch.info.last_seq);
      const last = ch.messages[ch.messages.length - 1];
      if (ch.loaded && last) void this.fetchAfter(ch.info.id, last.seq);
    }
    this.seenSent.clear();
    this.maybeSeen();
  }

  async refreshChannels(): Promise<void> {
    try {
      const { channels } = await this.client.request("getAll", {});
      this.dispatch({ type: "channels", channels });
      this.names.want(channels.flatMap((c) => [...c.members, ...(c.last_message ? [c.last_message.sender] : [])]));
    } catch (e) {
      if (!isOffline(e)) this.notify(`could not load chats: ${errText(e)}`, "error");
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshChannels();
    }, 50);
  }

  private async fetchAfter(channel: string, afterSeq: number): Promise<void> {
    try {
      for (let after = afterSeq; ; ) {
        const r = await this.client.request("getMessages", { channel, after_seq: after, limit: 200 });
        for (const m of r.messages) this.onMessage(m);
        if (!r.has_more || r.messages.length === 0) return;
        after = r.messages[r.messages.length - 1]!.seq;
      }
    } catch {
      // The next hello retries.
    }
  }

  // ---- receipts ----

  private queueDelivered(channel: string, seq: number): void {
    const ch = this.state.channels[channel];
    if (ch && seq <= ch.info.delivered_seq) return;
    this.pendingDelivered.set(channel, Math.max(seq, this.pendingDelivered.get(channel) ?? 0));
    if (this.deliveredTimer) return;
    this.deliveredTimer = setTimeout(() => {
      this.deliveredTimer = null;
      const batch = [...this.pendingDelivered];
      this.pendingDelivered.clear();
      for (const [channel, seq] of batch) {
        this.client.request("markDelivered", { channel, seq }).catch(() => {
          // Offline: resync after the next hello marks it again.
        });
      }
    }, 30);
  }

  /** Tells the controller which conversation is on screen and whether its newest message is visible. */
  setView(channel: string | null, visible: boolean): void {
    this.view = { channel, visible };
    this.maybeSeen();
  }

  /** Marks the shown conversation seen up to its newest message while others' messages in it are unread. */
  private maybeSeen(): void {
    const { channel, visible } = this.view;
    if (!channel || !visible || this.state.conn !== "open") return;
    const ch = this.state.channels[channel];
    if (!ch || ch.info.unread === 0) return;
    const seq = ch.info.last_seq;
    if (seq <= ch.info.seen_seq || seq <= (this.seenSent.get(channel) ?? 0)) return;
    this.seenSent.set(channel, seq);
    this.client.request("markSeen", { channel, seq }).then(
      () => this.dispatch({ type: "seen", channel, seq }),
      () => {
        if (this.seenSent.get(channel) === seq) this.seenSent.delete(channel);
      },
    );
  }

  /** Fetches name and size of media we have not asked about yet (once per id), and senders' names. */
  private describeMedia(ms: Message[]): void {
    this.names.want(ms.map((m) => m.sender));
    if (!this.media) return;
    for (const m of ms) {
      const id = m.media;
      if (!id || this.mediaAsked.has(id) || this.state.media[id]) continue;
      this.mediaAsked.add(id);
      this.media.info(id).then(
        (info) => this.dispatch({ type: "media", id, info }),
        (e) => {
          if (e instanceof NatterError && (e.code === "not_found" || e.code === "forbidden")) this.dispatch({ type: "media", id, info: null });
          else this.mediaAsked.delete(id); // try again with the next message that shows it
        },
      );
    }
  }

  // ---- history ----

  /** Loads the newest page of a channel once (concurrent calls share it). */
  openChannel(channel: string): Promise<void> {
    const ch = this.state.channels[channel];
    if (!ch || ch.loaded) return Promise.resolve();
    return this.once(`latest:${channel}`, channel, async () => {
      const r = await this.client.request("getMessages", { channel, limit: PAGE_SIZE });
      this.dispatch({ type: "page", channel, messages: r.messages, hasMore: r.has_more, kind: "latest" });
      this.describeMedia(r.messages);
    });
  }

  /** Loads one older page; resolves when it is in the store. */
  loadOlder(channel: string): Promise<void> {
    const ch = this.state.channels[channel];
    if (!ch || !ch.hasOlder) return Promise.resolve();
    const first = ch.messages[0];
    if (!ch.loaded || !first) return this.openChannel(channel);
    return this.once(`older:${channel}:${first.seq}`, channel, async () => {
      const r = await this.client.request("getMessages", { channel, before_seq: first.seq, limit: PAGE_SIZE });
      this.dispatch({ type: "page", channel, messages: r.messages, hasMore: r.has_more, kind: "older" });
      this.describeMedia(r.messages);
    });
  }

  /** Runs one history fetch per key at a time; the channel shows "loading" meanwhile. */
  private once(key: string, channel: string, f: () => Promise<void>): Promise<void> {
    const running = this.loading.get(key);
    if (running) return running;
    this.dispatch({ type: "loading", channel, on: true });
    const p = f()
      .catch((e) => {
        if (!isOffline(e)) this.notify(`could not load messages: ${errText(e)}`, "error");
      })
      .finally(() => {
        this.loading.delete(key);
        this.dispatch({ type: "loading", channel, on: false });
      });
    this.loading.set(key, p);
    return p;
  }

  // ---- sending ----

  /** Sends a text message (check it with tooLong first); queued while offline. Resolves with the stored message, or null if it failed. */
  async send(target: Target, text: string, replyTo?: string): Promise<Message | null> {
    const p: SendParams = { type: "text", content: text };
    if ("channel" in target) p.channel = target.channel;
    else p.to = target.to;
    if (replyTo) p.reply_to = replyTo;
    if ("channel" in target) this.stopTyping(target.channel);
    try {
      return await this.client.sendMessage(p);
    } catch (e) {
      this.notify(`not sent: ${errText(e)} (Ctrl-R retries)`, "error");
      return null;
    }
  }

  /** Ctrl-R and /retry: connects at once while waiting to reconnect, and resends the conversation's failed messages; returns how many. */
  async retry(target: Target | null): Promise<number> {
    const reconnecting = this.client.reconnectNow();
    if (reconnecting) this.notify("reconnecting now…");
    const failed = this.state.outbox.filter((e) => e.status === "failed" && (!target || matchesTarget(this.state, e, target)));
    if (failed.length === 0) {
      if (!reconnecting) this.notify("nothing to retry");
      return 0;
    }
    this.notify(`resending ${failed.length} message${failed.length === 1 ? "" : "s"}…`);
    const results = await Promise.all(failed.map((e) => this.client.retry(e.client_id).then(() => true, () => false)));
    const ok = results.filter(Boolean).length;
    if (ok === failed.length) this.notify(`resent ${ok} message${ok === 1 ? "" : "s"}`);
    else this.notify(`${failed.length - ok} of ${failed.length} still not sent`, "error");
    return failed.length;
  }

  /** Call on every edit in a conversation's composer. */
  typing(channel: string): void {
    const now = this.now();
    const t = this.typingState.get(channel);
    if (t) clearTimeout(t.idle);
    const idle = setTimeout(() => this.stopTyping(channel), TYPING_IDLE_MS);
    if (!t || now - t.sentAt >= TYPING_REPEAT_MS) {
      this.typingState.set(channel, { sentAt: now, idle });
      this.client.request("typing", { channel, state: "start" }).catch(() => {});
    } else this.typingState.set(channel, { sentAt: t.sentAt, idle });
  }

  stopTyping(channel: string): void {
    const t = this.typingState.get(channel);
    if (!t) return;
    clearTimeout(t.idle);
    this.typingState.delete(channel);
    this.client.request("typing", { channel, state: "stop" }).catch(() => {});
  }

  // ---- edits, deletes, reactions ----

  /** Edits one's own message; the change comes back as an event. Errors (the window closed...) become notices. */
  async editMessage(channel: string, seq: number, text: string): Promise<boolean> {
    return this.change("edit", () => this.client.request("editMessage", { channel, seq, content: text }));
  }

  /** Deletes a message for everyone or only for us ("me"). */
  async deleteMessage(channel: string, seq: number, scope: "everyone" | "me"): Promise<boolean> {
    return this.change("delete", () => this.client.request("deleteMessage", { channel, seq, scope }));
  }

  /** Sets ("" removes) our reaction to a message. */
  async react(channel: string, seq: number, emoji: string): Promise<boolean> {
    return this.change("react", () => this.client.request("react", { channel, seq, emoji }));
  }

  private async change(what: string, f: () => Promise<unknown>): Promise<boolean> {
    try {
      await f();
      return true;
    } catch (e) {
      this.notify(`${what}: ${errText(e)}`, "error");
      return false;
    }
  }

  // ---- files ----

  /** /file: uploads a file and sends it to the target; errors are thrown (run() shows them). */
  sendFile(target: Target, cmd: { path: string; caption: string; whole: string }): Promise<Message | null> {
    if ("channel" in target) this.stopTyping(target.channel);
    return sendFile(this, target, cmd);
  }

  /** /save: downloads a media id (default: the newest file in the open chat); resolves with the path. */
  saveMedia(media: string | null, path: string | null, target: Target | null): Promise<string | null> {
    const ch = target && "channel" in target ? (this.state.channels[target.channel] ?? null) : null;
    return saveMedia(this, media, path, ch);
  }

  /** Saves a file with the default name in the current directory, reporting failures as notices (a key's action). */
  saveQuietly(media: string): void {
    saveMedia(this, media, null, null).catch((e) => this.notify(`/save: ${errText(e)}`, "error"));
  }

  /** Aborts uploads and downloads in progress; returns how many. */
  cancelTransfers(): number {
    return this.transfers.cancelAll();
  }

  // ---- commands ----

  /** The question to ask before running a command (leaving a group), or null to run it at once. */
  confirmation(cmd: ChatCommand, target: Target | null): string | null {
    return confirmation(this, cmd, target);
  }

  /** Runs a slash command against the open conversation; reports failures as notices. */
  async run(cmd: ChatCommand, target: Target | null): Promise<CommandOutcome> {
    try {
      return await runCommand(this, cmd, target);
    } catch (e) {
      this.notify(`/${cmd.kind}: ${errText(e)}`, "error");
      return {};
    }
  }
}

/** Does an outbox entry belong to this conversation? */
export function matchesTarget(state: ChatState, e: { channel?: string; to?: string }, target: Target): boolean {
  if ("channel" in target) {
    if (e.channel === target.channel) return true;
    const ch = state.channels[target.channel];
    return !!e.to && !!ch && ch.info.kind === "direct" && ch.info.members.includes(e.to);
  }
  return e.to === target.to;
}

function isOffline(e: unknown): boolean {
  return e instanceof NatterError ? e.code === "unavailable" : true;
}

export function errText(e: unknown): string {
  if (e instanceof NatterError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
