// Key routing and the actions keys trigger, for the chat screen. The UI
// state lives outside React (get/set) so the keys of one burst each see the
// state the previous one left; the screen repaints after each set.
import type { Key } from "ink";
import { composerInput, emptyComposer, pasteText, setText, type ComposerState } from "../composer-state.ts";
import { matchesTarget, tooLong, type ChatController, type Target } from "../controller.ts";
import { KeyReader, NO_KEY } from "../key-reader.ts";
import { conversationItems, type Line } from "../layout.ts";
import { isDevicePanel, parseInput, type ChatCommand, type DevicePanel } from "../slash-commands/index.ts";
import { directWith, type ChannelState, type ChatState } from "../state.ts";
import { devicePanelKey } from "./device-panel.tsx";
import { paletteMatches, type PaletteItem } from "./palette.tsx";

export type Focus = "list" | "composer" | "messages";

export type Overlay =
  | null
  | { kind: "help"; scroll: number }
  | { kind: "palette"; query: string; index: number }
  /** A command that asks first (/leave): y runs it, n or Esc drops it. */
  | { kind: "confirm"; question: string; command: ChatCommand }
  /** `d` on a selected message: e deletes it for everyone (when allowed to ask), m for me, n or Esc keeps it. */
  | { kind: "delete"; question: string; channel: string; seq: number; everyone: boolean }
  | DevicePanel;

export interface Ui {
  open: Target | null;
  focus: Focus;
  /** The chat selected in the list (by id, so it stays put when chats reorder); null = the first. */
  listId: string | null;
  composer: ComposerState;
  /** Unsent text per conversation. */
  drafts: Record<string, string>;
  /** Lines scrolled up from the newest message. */
  scroll: number;
  overlay: Overlay;
  /** Message id being replied to. */
  replyTo: string | null;
  /** Message id (or outbox client_id) selected in the messages pane. */
  selected: string | null;
  /** Seq where the unread marker goes, fixed when the chat was opened. */
  markerSeq: number | null;
  /** The own message the composer is editing (Up in an empty composer, or `e` on a selected message). */
  editing: { channel: string; seq: number } | null;
}

/** Reactions on the digit keys of the messages pane (0 removes yours). */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;

export function initialUi(): Ui {
  return {
    open: null,
    focus: "list",
    listId: null,
    composer: emptyComposer(),
    drafts: {},
    scroll: 0,
    overlay: null,
    replyTo: null,
    selected: null,
    markerSeq: null,
    editing: null,
  };
}

/** What the last paint laid out: the actions need it to scroll and select. */
export interface UiLayout {
  msgH: number;
  lines: Line[];
  rows: PaletteItem[];
  /** How far /help can scroll on this screen. */
  helpMax: number;
}

export interface Resolved {
  ch: ChannelState | null;
  /** The other person, for direct chats and drafts. */
  peer: string | null;
}

/** What an open target points at right now (a draft turns into its channel once it exists). */
export function resolveTarget(s: ChatState, t: Target | null): Resolved {
  if (!t) return { ch: null, peer: null };
  if ("channel" in t) {
    const ch = s.channels[t.channel] ?? null;
    const peer = ch?.info.kind === "direct" ? (ch.info.members.find((m) => m !== s.me?.id) ?? null) : null;
    return { ch, peer };
  }
  return { ch: directWith(s, t.to), peer: t.to };
}

export function targetKey(t: Target | null): string {
  if (!t) return "";
  return "channel" in t ? `c:${t.channel}` : `u:${t.to}`;
}

/** Unacknowledged sends that belong to the open conversation. */
export function pendingFor(s: ChatState, open: Target | null, ch: ChannelState | null) {
  if (!open) return [];
  return s.outbox.filter((e) => matchesTarget(s, e, ch ? { channel: ch.info.id } : open) || matchesTarget(s, e, open));
}

/** Index of the selected chat in the list (0 when none or gone). */
export function selectedIndex(ids: string[], listId: string | null): number {
  const i = listId === null ? -1 : ids.indexOf(listId);
  return i === -1 ? 0 : i;
}

/** The media id of the message selected in the messages pane, if it carries one. */
export function selectedMedia(s: ChatState, u: Pick<Ui, "open" | "selected">): string | null {
  if (!u.selected) return null;
  const { ch } = resolveTarget(s, u.open);
  return ch?.messages.find((m) => m.id === u.selected)?.media ?? null;
}

const isPrintable = (input: string, key: Key) => input !== "" && !key.ctrl && !(key.meta && input.length === 1) && !key.escape;

export class UiActions {
  private readonly keys = new KeyReader();

  constructor(
    private readonly c: ChatController,
    private readonly get: () => Ui,
    private readonly set: (patch: Partial<Ui>) => void,
    private readonly layout: () => UiLayout,
    private readonly onQuit: () => void,
  ) {}

  /** The device panel's view of the screen (components/device-panel.tsx). */
  private get panelHost() {
    return {
      current: () => {
        const o = this.get().overlay;
        return isDevicePanel(o) ? o : null;
      },
      show: (p: DevicePanel | null) => this.set({ overlay: p }),
      ctx: this.c,
    };
  }

  /** Opens a conversation (null closes it), keeping each conversation's draft. */
  open = (t: Target | null) => {
    const cur = this.get();
    const s = this.c.getState();
    const drafts = { ...cur.drafts, [targetKey(cur.open)]: cur.composer.text };
    const curCh = resolveTarget(s, cur.open).ch;
    if (curCh) this.c.stopTyping(curCh.info.id);
    const next = resolveTarget(s, t).ch;
    const composer = setText({ ...cur.composer, histIndex: null }, drafts[targetKey(t)] ?? "");
    this.set({
      open: t,
      drafts,
      composer,
      scroll: 0,
      replyTo: null,
      selected: null,
      editing: null,
      overlay: null,
      focus: t ? "composer" : "list",
      markerSeq: next && next.info.unread > 0 ? next.info.seen_seq + 1 : null,
      listId: next ? next.info.id : cur.listId,
    });
    if (next) void this.c.openChannel(next.info.id);
  };

  /** The open conversation as a send target: its channel once it exists, else the person. */
  private sendTarget(): Target | null {
    const open = this.get().open;
    if (!open) return null;
    const { ch } = resolveTarget(this.c.getState(), open);
    return ch ? { channel: ch.info.id } : open;
  }

  /** Enter in the composer: a command, or a message to the open conversation. */
  submit = (text: string) => {
    const cur = this.get();
    const parsed = parseInput(text);
    const restore = () => this.set({ composer: setText(this.get().composer, text) });
    if (parsed.kind === "error") {
      this.c.notify(parsed.message, "error");
      return restore();
    }
    if (parsed.kind === "command") {
      const question = this.c.confirmation(parsed.command, cur.open);
      if (question) return this.set({ overlay: { kind: "confirm", question, command: parsed.command } });
      return this.runCommand(parsed.command);
    }
    if (!cur.open) {
      this.c.notify("Open a chat first: pick one on the left, or /new PHONE", "error");
      return restore();
    }
    const refused = tooLong(parsed.text);
    if (refused) {
      this.c.notify(refused, "error");
      return restore();
    }
    if (cur.editing) {
      const { channel, seq } = cur.editing;
      this.set({ editing: null, scroll: 0 });
      void this.c.editMessage(channel, seq, parsed.text).then((ok) => {
        if (!ok && this.get().composer.text === "") this.set({ editing: { channel, seq }, composer: setText(this.get().composer, text) });
      });
      return;
    }
    const target = cur.open;
    this.set({ replyTo: null, scroll: 0, markerSeq: null });
    void this.c.send(this.sendTarget()!, parsed.text, cur.replyTo ?? undefined).then((m) => {
      if (m && "to" in target && this.get().open === target) this.set({ open: { channel: m.channel } });
    });
  };

  private runCommand(cmd: ChatCommand): void {
    void this.c.run(cmd, this.get().open).then((out) => {
      if (out.quit) return this.onQuit();
      if (out.help) this.set({ overlay: { kind: "help", scroll: 0 } });
      if (out.panel) this.set({ overlay: out.panel });
      if (out.open !== undefined) this.open(out.open);
    });
  }

  /** Scrolls the conversation (positive = up, towards older); older history loads at the top. */
  scrollBy = (delta: number) => {
    const cur = this.get();
    const { lines: ls, msgH: h } = this.layout();
    const next = Math.max(0, cur.scroll + delta);
    const max = Math.max(0, ls.length - h);
    this.set({ scroll: Math.min(next, max) });
    const { ch: cch } = resolveTarget(this.c.getState(), cur.open);
    if (delta > 0 && next >= max && cch?.hasOlder) void this.c.loadOlder(cch.info.id);
  };

  /** Moves the message selection, keeping it on screen. */
  moveSelection = (dir: -1 | 1) => {
    const cur = this.get();
    const s = this.c.getState();
    const { ch: cch } = resolveTarget(s, cur.open);
    const items = conversationItems(cch, pendingFor(s, cur.open, cch));
    if (items.length === 0) return;
    const at = items.findIndex((it) => it.ref === cur.selected);
    const idx = at === -1 ? items.length - 1 : Math.max(0, Math.min(items.length - 1, at + dir));
    const ref = items[idx]!.ref;
    // Keep the selection on screen.
    const { lines: ls, msgH: h } = this.layout();
    const first = ls.findIndex((l) => l.ref === ref);
    let scrollNow = cur.scroll;
    if (first >= 0) {
      const bottom = ls.length - scrollNow;
      if (first < bottom - h) scrollNow = ls.length - first - h;
      else if (first >= bottom) scrollNow = Math.max(0, ls.length - first - 1);
    }
    this.set({ selected: ref, scroll: scrollNow });
    if (idx === 0 && cch?.hasOlder) void this.c.loadOlder(cch.info.id);
  };

  /** Tab / Shift-Tab: chat list, composer, messages. */
  cycleFocus = (back: boolean) => {
    const cur = this.get();
    const order: Focus[] = cur.open ? ["list", "composer", "messages"] : ["list", "composer"];
    const i = order.indexOf(cur.focus);
    const focus = order[(i + (back ? order.length - 1 : 1)) % order.length]!;
    this.set({ focus, selected: focus === "messages" ? null : cur.selected });
    if (focus === "messages") this.moveSelection(1);
  };

  /** Starts editing one of our own text messages in the composer (false if it is not one). */
  private startEdit(id: string | null): boolean {
    const cur = this.get();
    const s = this.c.getState();
    const { ch } = resolveTarget(s, cur.open);
    const m = id ? ch?.messages.find((x) => x.id === id) : undefined;
    if (!ch || !m || m.sender !== s.me?.id || m.type !== "text" || m.deleted_at !== null) return false;
    this.set({ editing: { channel: ch.info.id, seq: m.seq }, replyTo: null, focus: "composer", selected: null, composer: setText(cur.composer, m.content) });
    return true;
  }

  /** Our newest text message in the open chat (what Up in an empty composer edits). */
  private lastOwn(): string | null {
    const s = this.c.getState();
    const { ch } = resolveTarget(s, this.get().open);
    const m = ch?.messages.findLast((x) => x.sender === s.me?.id && x.type === "text" && x.deleted_at === null);
    return m?.id ?? null;
  }

  /** `d` on a selected message: asks how to delete it (for everyone only when it is ours or we admin the group). */
  private askDelete(): void {
    const cur = this.get();
    const s = this.c.getState();
    const { ch } = resolveTarget(s, cur.open);
    const m = cur.selected ? ch?.messages.find((x) => x.id === cur.selected) : undefined;
    if (!ch || !m) return this.c.notify("d deletes a message: select one of the chat's messages first", "error");
    const me = s.me?.id ?? "";
    const everyone = m.deleted_at === null && (m.sender === me || (ch.info.kind === "group" && ch.info.admins.includes(me)));
    const question = everyone ? "Delete this message? e: for everyone · m: for me · n: keep" : "Delete this message for you? m: for me · n: keep";
    this.set({ overlay: { kind: "delete", question, channel: ch.info.id, seq: m.seq, everyone } });
  }

  /** A digit on a selected message: that quick reaction (again: removed), 0 removes ours. */
  private quickReact(digit: number): void {
    const cur = this.get();
    const s = this.c.getState();
    const { ch } = resolveTarget(s, cur.open);
    const m = cur.selected ? ch?.messages.find((x) => x.id === cur.selected) : undefined;
    if (!ch || !m) return;
    const emoji = digit === 0 ? "" : QUICK_REACTIONS[digit - 1]!;
    const mine = m.reactions.find((r) => r.users.includes(s.me?.id ?? ""))?.emoji ?? "";
    void this.c.react(ch.info.id, m.seq, emoji === mine ? "" : emoji);
  }

  /** Edits the composer; sends typing notifications for real text (not commands). */
  onComposer = (input: string, key: Key) => {
    const cur = this.get();
    // Up in an empty composer edits our last message in this chat (history is for when there is none).
    if (key.upArrow && cur.composer.text === "" && cur.composer.histIndex === null && !cur.editing && this.startEdit(this.lastOwn())) return;
    const r = composerInput(cur.composer, input, key);
    if (!r.handled) return;
    this.set({ composer: r.state });
    const { ch: cch } = resolveTarget(this.c.getState(), cur.open);
    if (r.submit !== undefined) return this.submit(r.submit);
    if (cch && r.state.text !== cur.composer.text) {
      if (r.state.text === "" || r.state.text.startsWith("/")) this.c.stopTyping(cch.info.id);
      else this.c.typing(cch.info.id);
    }
  };

  /** Every input event, as ink's useInput reports it: a burst is taken key by key, a paste whole. */
  handle = (input: string, key: Key) => {
    for (const ev of this.keys.read(input, key)) {
      if (ev.kind === "paste") this.paste(ev.text);
      else if ([...ev.input].length > 1) this.text(ev.input);
      else this.key(ev.input, ev.key);
    }
  };

  /** A run of typed characters: into the composer or the jump box at once, else one key at a time until it gets there. */
  private text(run: string): void {
    for (const ch of run) {
      const u = this.get();
      if (u.overlay?.kind === "palette" || (u.overlay === null && u.focus === "composer")) return this.key(run, NO_KEY);
      this.key(ch, NO_KEY);
      run = run.slice(ch.length);
    }
  }

  /** A bracketed paste: into the jump box's query (one line), else into the composer; it never sends. */
  private paste(text: string): void {
    const cur = this.get();
    if (cur.overlay?.kind === "palette") return this.set({ overlay: { ...cur.overlay, query: cur.overlay.query + text.replace(/[\r\n]+/g, " "), index: 0 } });
    if (cur.overlay?.kind === "confirm") return;
    const composer = pasteText(cur.composer, text);
    this.set({ overlay: null, focus: "composer", selected: null, composer });
    const { ch } = resolveTarget(this.c.getState(), cur.open);
    if (ch && !composer.text.startsWith("/")) this.c.typing(ch.info.id);
  }

  /** One key: overlays first, then global keys, then the focused pane. */
  private key(input: string, key: Key): void {
    const cur = this.get();
    if (key.ctrl && input === "c") return this.onQuit();
    const ov = cur.overlay;
    if (isDevicePanel(ov)) return devicePanelKey(ov, input, key, this.panelHost);
    if (ov?.kind === "help") {
      if (key.escape || key.return || input === "q") return this.set({ overlay: null });
      const step = key.upArrow ? -1 : key.downArrow ? 1 : key.pageUp ? -10 : key.pageDown ? 10 : 0;
      if (step !== 0) this.set({ overlay: { kind: "help", scroll: Math.max(0, Math.min(this.layout().helpMax, ov.scroll + step)) } });
      return;
    }
    if (ov?.kind === "delete") {
      const scope = (input === "e" || input === "E") && ov.everyone ? "everyone" : input === "m" || input === "M" ? "me" : null;
      if (scope) {
        this.set({ overlay: null, selected: null, focus: "composer" });
        void this.c.deleteMessage(ov.channel, ov.seq, scope);
        return;
      }
      if (input === "n" || input === "N" || key.escape) return this.set({ overlay: null });
      return;
    }
    if (ov?.kind === "confirm") {
      if (input === "y" || input === "Y") {
        this.set({ overlay: null });
        return this.runCommand(ov.command);
      }
      if (input === "n" || input === "N" || key.escape) {
        this.set({ overlay: null });
        return this.c.notify(`/${ov.command.kind}: cancelled`);
      }
      return;
    }
    if (ov?.kind === "palette") {
      const items = paletteMatches(this.layout().rows, ov.query);
      if (key.escape) return this.set({ overlay: null });
      if (key.return) {
        const hit = items[ov.index];
        // No match: stay open, so the keys that follow are not typed into another chat.
        if (!hit) return this.c.notify(`no chat matches "${ov.query}" (Esc closes)`, "error");
        return this.open({ channel: hit.id });
      }
      if (key.upArrow) return this.set({ overlay: { ...ov, index: Math.max(0, ov.index - 1) } });
      if (key.downArrow) return this.set({ overlay: { ...ov, index: Math.min(Math.max(0, items.length - 1), ov.index + 1) } });
      if (key.backspace || key.delete) return this.set({ overlay: { ...ov, query: ov.query.slice(0, -1), index: 0 } });
      if (isPrintable(input, key)) return this.set({ overlay: { ...ov, query: ov.query + input.replace(/[\r\n]/g, ""), index: 0 } });
      return;
    }
    if (key.ctrl && input === "k") return this.set({ overlay: { kind: "palette", query: "", index: 0 } });
    if (key.tab) return this.cycleFocus(key.shift);
    if (key.ctrl && input === "r") {
      void this.c.retry(this.sendTarget());
      return;
    }
    if (key.pageUp) return this.scrollBy(Math.max(1, this.layout().msgH - 1));
    if (key.pageDown) return this.scrollBy(-Math.max(1, this.layout().msgH - 1));
    if (key.escape) {
      if (cur.editing) return this.set({ editing: null, composer: setText(cur.composer, "") });
      if (cur.replyTo) return this.set({ replyTo: null });
      if (cur.focus === "messages") return this.set({ focus: "composer", selected: null });
      this.c.cancelTransfers();
      return;
    }
    if (cur.focus === "list") {
      const ids = this.layout().rows.map((r) => r.id);
      const at = selectedIndex(ids, cur.listId);
      if (key.upArrow) return this.set({ listId: ids[Math.max(0, at - 1)] ?? null });
      if (key.downArrow) return this.set({ listId: ids[Math.min(ids.length - 1, at + 1)] ?? null });
      if (key.return && input.length <= 1) {
        const id = ids[at];
        if (id) this.open({ channel: id });
        return;
      }
      if (isPrintable(input, key)) {
        this.set({ focus: "composer" });
        return this.onComposer(input, key);
      }
      return;
    }
    if (cur.focus === "messages") {
      if (key.upArrow) return this.moveSelection(-1);
      if (key.downArrow) return this.moveSelection(1);
      if (key.end) return this.set({ scroll: 0 });
      if ((key.return && input.length <= 1) || input === "r") {
        const sel = cur.selected;
        const { ch: cch } = resolveTarget(this.c.getState(), cur.open);
        if (sel && cch?.messages.some((m) => m.id === sel)) return this.set({ replyTo: sel, focus: "composer", selected: null });
        return;
      }
      if (input === "e") {
        if (!this.startEdit(cur.selected)) this.c.notify("e edits a message: select one of your own text messages", "error");
        return;
      }
      if (input === "d" || key.delete) return this.askDelete();
      if (/^[0-6]$/.test(input)) return this.quickReact(Number(input));
      if (input === "s") {
        const media = selectedMedia(this.c.getState(), cur);
        if (media) return this.c.saveQuietly(media);
        return this.c.notify("s saves a file: the selected message has no file to save", "error");
      }
      if (isPrintable(input, key)) {
        this.set({ focus: "composer", selected: null });
        return this.onComposer(input, key);
      }
      return;
    }
    this.onComposer(input, key);
  }
}
