// Key routing and the actions keys trigger, for the chat screen. The UI
// state lives outside React (get/set) so several input events arriving in
// one chunk (a paste, a burst of keys) each see the state the previous one
// left; the screen repaints after each set.
import type { Key } from "ink";
import { parseInput } from "../commands.ts";
import { composerInput, emptyComposer, setText, type ComposerState } from "../composer-state.ts";
import { matchesTarget, type ChatController, type Target } from "../controller.ts";
import { conversationItems, type Line } from "../layout.ts";
import { directWith, type ChannelState, type ChatState } from "../state.ts";
import { paletteMatches, type PaletteItem } from "./palette.tsx";
import { isDevicePanel, type DevicePanel } from "../device-commands.ts";
import { devicePanelKey } from "./device-panel.tsx";

export type Focus = "list" | "composer" | "messages";

export type Overlay = null | { kind: "help"; scroll: number } | { kind: "palette"; query: string; index: number } | DevicePanel;

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
}

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
      void this.c.run(parsed.command, cur.open).then((out) => {
        if (out.quit) return this.onQuit();
        if (out.help) this.set({ overlay: { kind: "help", scroll: 0 } });
        if (out.panel) this.set({ overlay: out.panel });
        if (out.open !== undefined) this.open(out.open);
      });
      return;
    }
    if (!cur.open) {
      this.c.notify("Open a chat first: pick one on the left, or /new PHONE", "error");
      return restore();
    }
    const target = cur.open;
    this.set({ replyTo: null, scroll: 0, markerSeq: null });
    void this.c.send(this.sendTarget()!, parsed.text, cur.replyTo ?? undefined).then((m) => {
      if (m && "to" in target && this.get().open === target) this.set({ open: { channel: m.channel } });
    });
  };

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

  /** Edits the composer; sends typing notifications for real text (not commands). */
  onComposer = (input: string, key: Key) => {
    const cur = this.get();
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

  /** Every key, as ink's useInput reports it: overlays first, then global keys, then the focused pane. */
  handle = (input: string, key: Key) => {
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
    if (ov?.kind === "palette") {
      const items = paletteMatches(this.layout().rows, ov.query);
      if (key.escape) return this.set({ overlay: null });
      if (key.return) {
        const hit = items[ov.index];
        if (hit) this.open({ channel: hit.id });
        else this.set({ overlay: null });
        return;
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
      void this.c.retryFailed(this.sendTarget());
      return;
    }
    if (key.pageUp) return this.scrollBy(Math.max(1, this.layout().msgH - 1));
    if (key.pageDown) return this.scrollBy(-Math.max(1, this.layout().msgH - 1));
    if (key.escape) {
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
      const media = input === "s" ? selectedMedia(this.c.getState(), cur) : null;
      if (media) return this.c.saveQuietly(media);
      if (isPrintable(input, key)) {
        this.set({ focus: "composer", selected: null });
        return this.onComposer(input, key);
      }
      return;
    }
    this.onComposer(input, key);
  };
}
