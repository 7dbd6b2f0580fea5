// The chat list: two lines per chat (name, time; preview, unread badge),
// an online dot for direct chats, the selection in inverse video.
import { Box, Text } from "ink";
import type { ChatRow } from "../layout.ts";
import { COLORS, useTheme } from "../theme.ts";
import { cellWidth, fit, truncate } from "../format.ts";

export interface ChatListProps {
  rows: ChatRow[];
  selected: number;
  openId: string | null;
  focused: boolean;
  width: number;
  height: number;
}

/** The first row to show so that `selected` is visible. */
export function listWindow(count: number, selected: number, visible: number): number {
  if (count <= visible) return 0;
  const top = Math.min(Math.max(0, selected - Math.floor(visible / 2)), count - visible);
  return Math.max(0, top);
}

export function ChatList(p: ChatListProps) {
  const { color } = useTheme();
  const visible = Math.max(1, Math.floor((p.height - 1) / 2));
  const top = listWindow(p.rows.length, p.selected, visible);
  const shown = p.rows.slice(top, top + visible);
  const w = p.width;
  return (
    <Box flexDirection="column" width={w} height={p.height}>
      <Text bold={p.focused} dimColor={!p.focused} wrap="truncate-end">
        {fit(`Chats${p.rows.length ? ` (${p.rows.length})` : ""}${p.focused ? " ◂" : ""}`, w)}
      </Text>
      {p.rows.length === 0 ? (
        <Text dimColor wrap="wrap">
          No chats yet. Type /new PHONE to start one.
        </Text>
      ) : null}
      {shown.map((r, i) => {
        const sel = top + i === p.selected;
        const dot = r.online === null ? " " : r.online ? "●" : "○";
        const time = r.time;
        const nameW = w - 2 - cellWidth(time) - 1;
        const n = r.unread > 99 ? "99+" : String(r.unread);
        const badge = r.unread > 0 ? (color ? `  ${n} ` : ` (${n})`) : "";
        const preview = r.typing ? "typing…" : r.preview;
        const prevW = w - 2 - cellWidth(badge);
        const marker = r.id === p.openId ? "▌" : " ";
        return (
          <Box key={r.id} flexDirection="column">
            <Text inverse={sel && p.focused} wrap="truncate-end">
              <Text color={color && r.online ? COLORS.online : undefined}>{dot}</Text>
              <Text bold={r.unread > 0 || sel}>{fit(` ${truncate(r.title, nameW)}`, nameW + 1)}</Text>
              <Text dimColor={r.unread === 0} color={color && r.unread > 0 ? COLORS.unread : undefined}>
                {" " + time}
              </Text>
            </Text>
            <Text inverse={sel && p.focused} wrap="truncate-end">
              <Text color={color ? COLORS.accent : undefined}>{marker} </Text>
              <Text dimColor={!r.typing} italic={r.typing} color={color && r.typing ? COLORS.accent : undefined}>
                {fit(truncate(preview, prevW), prevW + (badge ? 1 : 0))}
              </Text>
              <Text bold color={color ? COLORS.unread : undefined} inverse={color}>
                {badge.slice(1)}
              </Text>
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}
