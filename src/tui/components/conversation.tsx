// The message pane: a window of `height` prepared lines, `scroll` lines up
// from the bottom, anchored to the bottom like every messenger.
import { Box, Text } from "ink";
import type { Line } from "../layout.ts";
import { SegLine } from "./segs.tsx";

export interface ConversationProps {
  lines: Line[];
  height: number;
  width: number;
  /** Lines scrolled up from the newest. */
  scroll: number;
  hasOlder: boolean;
  loadingOlder: boolean;
  empty: string;
}

/** Clamps a scroll offset to what the lines allow. */
export function clampScroll(total: number, height: number, scroll: number): number {
  return Math.max(0, Math.min(scroll, Math.max(0, total - height)));
}

export function Conversation(p: ConversationProps) {
  const scroll = clampScroll(p.lines.length, p.height, p.scroll);
  const end = p.lines.length - scroll;
  const start = Math.max(0, end - p.height);
  const shown = p.lines.slice(start, end);
  const atTop = start === 0;
  const rows: React.ReactNode[] = [];
  const free = p.height - shown.length;
  if (p.lines.length === 0) {
    rows.push(
      <Text key="empty" dimColor wrap="truncate-end">
        {p.loadingOlder ? "Loading messages…" : p.empty}
      </Text>,
    );
  } else if (atTop && free > 0 && (p.hasOlder || p.loadingOlder)) {
    rows.push(
      <Text key="older" dimColor wrap="truncate-end">
        {p.loadingOlder ? "Loading older messages…" : "PgUp for older messages"}
      </Text>,
    );
  }
  for (let i = rows.length; i < free; i++) rows.push(<Text key={`pad${i}`}> </Text>);
  if (atTop && free <= 0 && p.loadingOlder && shown.length > 0) {
    // No room for a hint: the top line tells that older messages are coming.
    shown[0] = { key: "loading", segs: [{ text: "Loading older messages…", dim: true }] };
  }
  return (
    <Box flexDirection="column" height={p.height} width={p.width} overflow="hidden">
      {rows.slice(0, Math.max(0, free))}
      {shown.map((l) => (
        <SegLine key={l.key} segs={l.segs} />
      ))}
    </Box>
  );
}
