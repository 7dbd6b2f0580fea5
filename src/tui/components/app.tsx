// The chat screen: banner, chat list | conversation (header, messages,
// composer), status bar; overlays for Ctrl-K and /help. Keys are routed
// here. UI state lives in a ref so several input events arriving in one
// chunk (a paste, a burst of keys) each see the state the previous one left.
import { Box, Text, useInput, useStdout, type Key } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from "react";
import { parseInput } from "../commands.ts";
import { composerInput, emptyComposer, setText, type ComposerState } from "../composer-state.ts";
import { matchesTarget, type ChatController, type Target } from "../controller.ts";
import { chatRows, conversationItems, conversationLines, headerInfo, snippet } from "../layout.ts";
import { directWith, displayName, type ChannelState, type ChatState } from "../state.ts";
import { Banner, bannerText } from "./banner.tsx";
import { ChatList } from "./chat-list.tsx";
import { Composer, composerHeight } from "./composer.tsx";
import { clampScroll, Conversation } from "./conversation.tsx";
import { Header } from "./header.tsx";
import { Help } from "./help.tsx";
import { Palette, paletteMatches } from "./palette.tsx";
import { StatusBar } from "./status-bar.tsx";

export type Focus = "list" | "composer" | "messages";

type Overlay = null | { kind: "help" } | { kind: "palette"; query: string; index: number };

interface Ui {
  open: Target | null;
  focus: Focus;
  listIndex: number;
  composer: ComposerState;
  drafts: Record<string, string>;
  /** Lines scrolled up from the newest message. */
  scroll: number;
  overlay: Overlay;
  replyTo: string | null;
  selected: string | null;
  markerSeq: number | null;
}

export interface AppProps {
  controller: ChatController;
  server: string;
  onQuit(): void;
  /** Fixed terminal size (tests); otherwise the real one, following resizes. */
  size?: { columns: number; rows: number };
  /** Clock for countdowns and typing expiry (tests). */
  now?: () => number;
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

function targetKey(t: Target | null): string {
  if (!t) return "";
  return "channel" in t ? `c:${t.channel}` : `u:${t.to}`;
}

function useTerminalSize(fixed?: { columns: number; rows: number }) {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const f = () => setSize(read());
    stdout.on("resize", f);
    return () => {
      stdout.off("resize", f);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}

const isPrintable = (input: string, key: Key) => input !== "" && !key.ctrl && !(key.meta && input.length === 1) && !key.escape;

export function App(p: AppProps) {
  const c = p.controller;
  const clock = p.now ?? Date.now;
  const state = useSyncExternalStore(c.subscribe, c.getState);
  const size = useTerminalSize(p.size);
  const [, setTicks] = useState(0);
  const now = clock();
  const ui = useRef<Ui>({
    open: null,
    focus: "list",
    listIndex: 0,
    composer: emptyComposer(),
    drafts: {},
    scroll: 0,
    overlay: null,
    replyTo: null,
    selected: null,
    markerSeq: null,
  });
  const [, repaint] = useReducer((x: number) => x + 1, 0);
  const update = (patch: Partial<Ui>) => {
    ui.current = { ...ui.current, ...patch };
    repaint();
  };

  useEffect(() => {
    const t = setInterval(() => {
      setTicks((n) => n + 1);
      c.tick();
    }, 1000);
    return () => clearInterval(t);
  }, [c]);

  // ---- layout ----
  const u = ui.current;
  const cols = Math.max(20, size.columns);
  const height = Math.max(8, size.rows - 1); // one row spare: a full-height frame makes ink clear the screen on every paint
  const { ch, peer } = resolveTarget(state, u.open);
  const rows = chatRows(state, now);
  const listIndex = Math.min(u.listIndex, Math.max(0, rows.length - 1));
  const narrow = cols < 60;
  const listW = narrow ? cols : cols >= 110 ? 32 : cols >= 90 ? 28 : 24;
  const convW = narrow ? cols : cols - listW - 1;
  const queued = state.outbox.filter((e) => e.status !== "failed").length;
  const bannerH = bannerText({ conn: state.conn, nextRetryAt: state.nextRetryAt, error: state.connError, now, queued, server: p.server }) ? 1 : 0;
  const mainH = height - bannerH - 1;
  const replying = u.replyTo ? replyLabel(state, ch, u.replyTo) : null;
  const compH = composerHeight(u.composer, convW, !!replying);
  const msgH = Math.max(1, mainH - 3 - compH);
  const pending = u.open ? state.outbox.filter((e) => matchesTarget(state, e, ch ? { channel: ch.info.id } : u.open!) || matchesTarget(state, e, u.open!)) : [];
  const selected = u.focus === "messages" ? u.selected : null;
  const day = new Date(now).toDateString();
  const lines = useMemo(
    () => conversationLines({ state, ch, pending, width: convW, now, markerSeq: u.markerSeq, selected }),
    // Rebuilt when the conversation, names, sends, size, marker, selection or the day change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [ch, state.users, state.me, state.outbox, state.media, targetKey(u.open), convW, u.markerSeq, selected, day],
  );
  const scroll = clampScroll(lines.length, msgH, u.scroll);
  const chId = ch?.info.id ?? null;
  const visible = !!ch && u.overlay === null && scroll === 0;
  const layout = useRef({ msgH, lines, rowsIds: rows.map((r) => r.id) });
  layout.current = { msgH, lines, rowsIds: rows.map((r) => r.id) };

  useEffect(() => {
    c.setView(chId, visible);
  }, [c, chId, visible]);

  // The open chat went away (left, removed): close it.
  useEffect(() => {
    if (u.open && "channel" in u.open && !state.channels[u.open.channel] && Object.keys(state.channels).length > 0) {
      update({ open: null, focus: "list", markerSeq: null, replyTo: null, selected: null });
    }
  });

  // ---- actions ----
  const open = (t: Target | null) => {
    const cur = ui.current;
    const s = c.getState();
    const drafts = { ...cur.drafts, [targetKey(cur.open)]: cur.composer.text };
    const curCh = resolveTarget(s, cur.open).ch;
    if (curCh) c.stopTyping(curCh.info.id);
    const next = resolveTarget(s, t).ch;
    const composer = setText({ ...cur.composer, histIndex: null }, drafts[targetKey(t)] ?? "");
    const idx = next ? layout.current.rowsIds.indexOf(next.info.id) : -1;
    update({
      open: t,
      drafts,
      composer,
      scroll: 0,
      replyTo: null,
      selected: null,
      overlay: null,
      focus: t ? "composer" : "list",
      markerSeq: next && next.info.unread > 0 ? next.info.seen_seq + 1 : null,
      listIndex: idx >= 0 ? idx : cur.listIndex,
    });
    if (next) void c.openChannel(next.info.id);
  };

  const submit = (text: string) => {
    const cur = ui.current;
    const parsed = parseInput(text);
    const restore = () => update({ composer: setText(ui.current.composer, text) });
    if (parsed.kind === "error") {
      c.notify(parsed.message, "error");
      return restore();
    }
    if (parsed.kind === "command") {
      void c.run(parsed.command, cur.open).then((out) => {
        if (out.quit) return p.onQuit();
        if (out.help) update({ overlay: { kind: "help" } });
        if (out.open !== undefined) open(out.open);
      });
      return;
    }
    if (!cur.open) {
      c.notify("Open a chat first: pick one on the left, or /new PHONE", "error");
      return restore();
    }
    const target = cur.open;
    const { ch: tch } = resolveTarget(c.getState(), target);
    const sendTo: Target = tch ? { channel: tch.info.id } : target;
    update({ replyTo: null, scroll: 0, markerSeq: null });
    void c.send(sendTo, parsed.text, cur.replyTo ?? undefined).then((m) => {
      if (m && "to" in target && ui.current.open === target) update({ open: { channel: m.channel } });
    });
  };

  const scrollBy = (delta: number) => {
    const cur = ui.current;
    const { lines: ls, msgH: h } = layout.current;
    const next = Math.max(0, cur.scroll + delta);
    const max = Math.max(0, ls.length - h);
    update({ scroll: Math.min(next, max + (delta > 0 ? 0 : 0)) });
    const { ch: cch } = resolveTarget(c.getState(), cur.open);
    if (delta > 0 && next >= max && cch?.hasOlder) void c.loadOlder(cch.info.id);
  };

  const moveSelection = (dir: -1 | 1) => {
    const cur = ui.current;
    const s = c.getState();
    const { ch: cch } = resolveTarget(s, cur.open);
    const items = conversationItems(
      cch,
      s.outbox.filter((e) => cur.open && matchesTarget(s, e, cch ? { channel: cch.info.id } : cur.open)),
    );
    if (items.length === 0) return;
    const at = items.findIndex((it) => it.ref === cur.selected);
    const idx = at === -1 ? items.length - 1 : Math.max(0, Math.min(items.length - 1, at + dir));
    const ref = items[idx]!.ref;
    // Keep the selection on screen.
    const { lines: ls, msgH: h } = layout.current;
    const first = ls.findIndex((l) => l.ref === ref);
    let scrollNow = cur.scroll;
    if (first >= 0) {
      const bottom = ls.length - scrollNow;
      if (first < bottom - h) scrollNow = ls.length - first - h;
      else if (first >= bottom) scrollNow = Math.max(0, ls.length - first - 1);
    }
    update({ selected: ref, scroll: scrollNow });
    if (idx === 0 && cch?.hasOlder) void c.loadOlder(cch.info.id);
  };

  const cycleFocus = (back: boolean) => {
    const cur = ui.current;
    const order: Focus[] = cur.open ? ["list", "composer", "messages"] : ["list", "composer"];
    const i = order.indexOf(cur.focus);
    const focus = order[(i + (back ? order.length - 1 : 1)) % order.length]!;
    update({ focus, selected: focus === "messages" ? null : cur.selected });
    if (focus === "messages") moveSelection(1);
  };

  const onComposer = (input: string, key: Key) => {
    const cur = ui.current;
    const r = composerInput(cur.composer, input, key);
    if (!r.handled) return;
    update({ composer: r.state });
    const { ch: cch } = resolveTarget(c.getState(), cur.open);
    if (r.submit !== undefined) return submit(r.submit);
    if (cch && r.state.text !== cur.composer.text) {
      if (r.state.text === "" || r.state.text.startsWith("/")) c.stopTyping(cch.info.id);
      else c.typing(cch.info.id);
    }
  };

  const handle = (input: string, key: Key) => {
    const cur = ui.current;
    if (key.ctrl && input === "c") return p.onQuit();
    const ov = cur.overlay;
    if (ov?.kind === "help") {
      if (key.escape || key.return || input === "q") update({ overlay: null });
      return;
    }
    if (ov?.kind === "palette") {
      const s = c.getState();
      const items = paletteMatches(
        chatRows(s, now).map((r) => ({ id: r.id, title: r.title })),
        ov.query,
      );
      if (key.escape) return update({ overlay: null });
      if (key.return) {
        const hit = items[ov.index];
        if (hit) open({ channel: hit.id });
        else update({ overlay: null });
        return;
      }
      if (key.upArrow) return update({ overlay: { ...ov, index: Math.max(0, ov.index - 1) } });
      if (key.downArrow) return update({ overlay: { ...ov, index: Math.min(Math.max(0, items.length - 1), ov.index + 1) } });
      if (key.backspace || key.delete) return update({ overlay: { ...ov, query: ov.query.slice(0, -1), index: 0 } });
      if (isPrintable(input, key)) return update({ overlay: { ...ov, query: ov.query + input.replace(/[\r\n]/g, ""), index: 0 } });
      return;
    }
    if (key.ctrl && input === "k") return update({ overlay: { kind: "palette", query: "", index: 0 } });
    if (key.tab) return cycleFocus(key.shift);
    if (key.ctrl && input === "r") {
      void c.retryFailed(cur.open ? (resolveTarget(c.getState(), cur.open).ch ? { channel: resolveTarget(c.getState(), cur.open).ch!.info.id } : cur.open) : null);
      return;
    }
    if (key.pageUp) return scrollBy(Math.max(1, layout.current.msgH - 1));
    if (key.pageDown) return scrollBy(-Math.max(1, layout.current.msgH - 1));
    if (key.escape) {
      if (cur.replyTo) return update({ replyTo: null });
      if (cur.focus === "messages") return update({ focus: "composer", selected: null });
      return;
    }
    if (cur.focus === "list") {
      const ids = layout.current.rowsIds;
      if (key.upArrow) return update({ listIndex: Math.max(0, Math.min(cur.listIndex, ids.length - 1) - 1) });
      if (key.downArrow) return update({ listIndex: Math.min(ids.length - 1, cur.listIndex + 1) });
      if (key.return && input.length <= 1) {
        const id = ids[Math.min(cur.listIndex, ids.length - 1)];
        if (id) open({ channel: id });
        return;
      }
      if (isPrintable(input, key)) {
        update({ focus: "composer" });
        return onComposer(input, key);
      }
      return;
    }
    if (cur.focus === "messages") {
      if (key.upArrow) return moveSelection(-1);
      if (key.downArrow) return moveSelection(1);
      if (key.end) return update({ scroll: 0 });
      if ((key.return && input.length <= 1) || input === "r") {
        const sel = cur.selected;
        const { ch: cch } = resolveTarget(c.getState(), cur.open);
        if (sel && cch?.messages.some((m) => m.id === sel)) return update({ replyTo: sel, focus: "composer", selected: null });
        return;
      }
      if (isPrintable(input, key)) {
        update({ focus: "composer", selected: null });
        return onComposer(input, key);
      }
      return;
    }
    onComposer(input, key);
  };
  const handler = useRef(handle);
  handler.current = handle;
  useInput(useCallback((input: string, key: Key) => handler.current(input, key), []));

  // ---- render ----
  const header = headerInfo(state, ch, ch ? null : peer, now);
  const showList = !narrow || u.focus === "list";
  const showConv = !narrow || u.focus !== "list";
  const me = state.me;
  const who = me ? `${me.name} · ${hostOf(p.server)}` : hostOf(p.server);
  const hint =
    u.overlay !== null
      ? ""
      : u.focus === "list"
        ? "↑↓ Enter: open · Tab · Ctrl-K: jump · /help"
        : u.focus === "messages"
          ? "↑↓ select · r: reply · PgUp/PgDn · Esc"
          : scroll > 0
            ? "Scrolled up · PgDn for newer · /help"
            : "Enter: send · Alt-Enter: newline · Tab · /help";
  const placeholder = !u.open ? "Type /new PHONE to start a chat, /help for more" : state.conn === "open" ? `Message ${header.title}` : `Message ${header.title} (sent when back online)`;

  let convBody: React.ReactNode;
  if (u.overlay?.kind === "palette") {
    const items = paletteMatches(
      rows.map((r) => ({ id: r.id, title: r.title })),
      u.overlay.query,
    );
    convBody = <Palette query={u.overlay.query} matches={items} index={u.overlay.index} width={convW} height={mainH} />;
  } else if (u.overlay?.kind === "help") {
    convBody = <Help width={convW} height={mainH} />;
  } else {
    const empty = !u.open
      ? "No chat open."
      : ch
        ? ch.loaded || ch.messages.length > 0
          ? "No messages yet. Say hello!"
          : "Loading messages…"
        : "No messages yet. Say hello!";
    convBody = (
      <Box flexDirection="column" width={convW} height={mainH}>
        <Header info={header} width={convW} />
        <Conversation
          lines={lines}
          height={msgH}
          width={convW}
          scroll={scroll}
          hasOlder={ch?.hasOlder ?? false}
          loadingOlder={chId !== null && c.isLoading(chId)}
          empty={empty}
        />
        <Composer state={u.composer} width={convW} focused={u.focus === "composer"} placeholder={placeholder} replying={replying} />
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={cols} height={height}>
      <Banner conn={state.conn} nextRetryAt={state.nextRetryAt} error={state.connError} now={now} queued={queued} server={p.server} width={cols} />
      <Box flexDirection="row" height={mainH}>
        {showList ? <ChatList rows={rows} selected={listIndex} openId={chId} focused={u.focus === "list"} width={listW} height={mainH} /> : null}
        {showConv ? (
          <Box borderStyle="single" borderTop={false} borderBottom={false} borderRight={false} borderLeft={!narrow} borderDimColor>
            {convBody}
          </Box>
        ) : null}
      </Box>
      <StatusBar notice={state.notice} hint={hint} who={who} width={cols} now={now} />
    </Box>
  );
}

function replyLabel(s: ChatState, ch: ChannelState | null, id: string): string {
  const m = ch?.messages.find((x) => x.id === id);
  return m ? `Replying to ${displayName(s, m.sender)}: ${snippet(m)}` : "Replying";
}

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}
