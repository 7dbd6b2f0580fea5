// The chat screen: banner, chat list | conversation (header, messages,
// composer), status bar; overlays for Ctrl-K and /help, and a question in
// the composer's place for commands that ask first. Keys go to
// UiActions (ui-actions.ts); this file lays out and paints.
import { Box, Text, useInput, useStdout } from "ink";
import { useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { ChatController } from "../controller.ts";
import { chatRows, conversationLines, headerInfo, snippet } from "../layout.ts";
import { displayName, type ChannelState, type ChatState } from "../state.ts";
import { Banner, bannerText, hostOf } from "./banner.tsx";
import { ChatList } from "./chat-list.tsx";
import { Composer, composerHeight, Question } from "./composer.tsx";
import { clampScroll, Conversation } from "./conversation.tsx";
import { Header } from "./header.tsx";
import { Help, helpMaxScroll } from "./help.tsx";
import { Palette, paletteMatches } from "./palette.tsx";
import { StatusBar } from "./status-bar.tsx";
import { isDevicePanel } from "../slash-commands/index.ts";
import { DevicePanelView } from "./device-panel.tsx";
import { initialUi, pendingFor, resolveTarget, selectedIndex, selectedMedia, targetKey, UiActions, type Ui, type UiLayout } from "./ui-actions.ts";

export interface AppProps {
  controller: ChatController;
  server: string;
  onQuit(): void;
  /** Fixed terminal size (tests); otherwise the real one, following resizes. */
  size?: { columns: number; rows: number };
  /** Clock for countdowns and typing expiry (tests). */
  now?: () => number;
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

export function App(p: AppProps) {
  const c = p.controller;
  const clock = p.now ?? Date.now;
  const state = useSyncExternalStore(c.subscribe, c.getState);
  const size = useTerminalSize(p.size);
  const [, setTicks] = useState(0);
  const now = clock();
  const ui = useRef<Ui>(initialUi());
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
  const listIndex = selectedIndex(rows.map((r) => r.id), u.listId);
  const narrow = cols < 60;
  const listW = narrow ? cols : cols >= 110 ? 32 : cols >= 90 ? 28 : 24;
  const convW = narrow ? cols : cols - listW - 1;
  const queued = state.outbox.filter((e) => e.status !== "failed").length;
  // The node in use (or being tried) when the client knows it, else the server we were given.
  const server = state.node ?? p.server;
  const bannerH = bannerText({ conn: state.conn, nextRetryAt: state.nextRetryAt, error: state.connError, now, queued, server, nodes: state.nodes }) ? 1 : 0;
  const mainH = height - bannerH - 1;
  const replying = u.editing ? "Editing your message" : u.replyTo ? replyLabel(state, ch, u.replyTo) : null;
  const question = u.overlay?.kind === "confirm" || u.overlay?.kind === "delete" ? u.overlay.question : null;
  const compH = question ? 2 : composerHeight(u.composer, convW, !!replying);
  const msgH = Math.max(1, mainH - 3 - compH);
  const pending = pendingFor(state, u.open, ch);
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
  const visible = !!ch && (u.overlay === null || question !== null) && scroll === 0;
  const layoutNow: UiLayout = { msgH, lines, rows: rows.map((r) => ({ id: r.id, title: r.title })), helpMax: helpMaxScroll(mainH) };
  const layout = useRef(layoutNow);
  layout.current = layoutNow;

  useEffect(() => {
    c.setView(chId, visible);
  }, [c, chId, visible]);

  // The open chat went away (left, removed): close it.
  useEffect(() => {
    if (u.open && "channel" in u.open && !state.channels[u.open.channel]) {
      update({ open: null, focus: "list", markerSeq: null, replyTo: null, selected: null });
    }
  });

  const quit = useRef(p.onQuit);
  quit.current = p.onQuit;
  const actions = useMemo(
    () => new UiActions(c, () => ui.current, update, () => layout.current, () => quit.current()),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [c],
  );
  useInput(actions.handle);

  // ---- render ----
  const header = headerInfo(state, ch, ch ? null : peer, now);
  // /help takes the whole width, so its lines fit at 80 columns.
  const helpOpen = u.overlay?.kind === "help";
  // Narrow: one pane at a time; an overlay (jump box, help) takes the conversation's place.
  const showList = !helpOpen && (!narrow || (u.focus === "list" && u.overlay === null));
  const showConv = !showList || !narrow;
  const me = state.me;
  // With several nodes, which one we are on (of how many).
  const where = hostOf(server) + (state.nodes > 1 ? ` (one of ${state.nodes} nodes)` : "");
  const who = me ? `${me.name} · ${where}` : where;
  const hint = u.overlay?.kind === "delete" ? "Esc: keep" : hintText(u, !!question, !!selectedMedia(state, u), scroll);
  const placeholder = !u.open ? "Type /new PHONE to start a chat, /help for more" : state.conn === "open" ? `Message ${header.title}` : `Message ${header.title} (sent when back online)`;

  let convBody: ReactNode;
  if (u.overlay?.kind === "palette") {
    const items = paletteMatches(
      rows.map((r) => ({ id: r.id, title: r.title })),
      u.overlay.query,
    );
    convBody = <Palette query={u.overlay.query} matches={items} index={u.overlay.index} width={convW} height={mainH} />;
  } else if (isDevicePanel(u.overlay)) {
    convBody = <DevicePanelView panel={u.overlay} server={p.server} width={convW} height={mainH} now={now} />;
  } else if (u.overlay?.kind === "help") {
    convBody = <Help width={cols} height={mainH} scroll={u.overlay.scroll} />;
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
          loadingOlder={(ch?.loading ?? 0) > 0}
          empty={empty}
        />
        {question ? (
          <Question text={question} width={convW} />
        ) : (
          <Composer state={u.composer} width={convW} focused={u.focus === "composer"} placeholder={placeholder} replying={replying} />
        )}
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={cols} height={height}>
      <Banner conn={state.conn} nextRetryAt={state.nextRetryAt} error={state.connError} now={now} queued={queued} server={server} nodes={state.nodes} width={cols} />
      <Box flexDirection="row" height={mainH}>
        {showList ? <ChatList rows={rows} selected={listIndex} openId={chId} focused={u.focus === "list"} width={listW} height={mainH} /> : null}
        {showList && showConv ? <PaneBorder height={mainH} /> : null}
        {showConv ? convBody : null}
      </Box>
      <StatusBar notice={state.notice} hint={hint} who={who} width={cols} now={now} transfers={state.transfers} />
    </Box>
  );
}

/** Key hints for the status line: what the focused pane or the open question takes. */
function hintText(u: Ui, asking: boolean, fileSelected: boolean, scroll: number): string {
  if (asking) return "y: yes · n or Esc: no";
  if (u.overlay !== null) return "";
  if (u.focus === "list") return "↑↓ Enter: open · Tab · Ctrl-K: jump · /help";
  if (u.focus === "messages")
    return fileSelected ? "↑↓ select · r: reply · s: save file here · d: delete · 1-6: react · Esc" : "↑↓ select · r: reply · e: edit · d: delete · 1-6: 👍❤️😂😮😢🙏 · 0: unreact · Esc";
  if (u.editing) return "Enter: save the edit · Esc: cancel";
  return scroll > 0 ? "Scrolled up · PgDn for newer · /help" : "Enter: send · Alt-Enter: newline · Up: edit last · Tab · /help";
}

/** The line between the chat list and the conversation (its own column: ink keeps a border's width after the border is turned off). */
function PaneBorder({ height }: { height: number }) {
  return (
    <Box width={1} height={height}>
      <Text dimColor>{Array.from({ length: height }, () => "│").join("\n")}</Text>
    </Box>
  );
}

function replyLabel(s: ChatState, ch: ChannelState | null, id: string): string {
  const m = ch?.messages.find((x) => x.id === id);
  return m ? `Replying to ${displayName(s, m.sender)}: ${snippet(m)}` : "Replying";
}
