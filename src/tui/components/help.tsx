// /help: commands and keys; scrolls (Up/Down, PgUp/PgDn) when the screen is short.
import { Box, Text } from "ink";
import { COMMAND_HELP } from "../slash-commands/index.ts";
import { COLORS, useTheme } from "../theme.ts";
import { fit } from "../format.ts";

export const KEY_HELP: ReadonlyArray<readonly [string, string]> = [
  ["Enter", "send"],
  ["Alt-Enter / Shift-Enter", "new line (pasted text never sends by itself)"],
  ["Up / Down", "move in the text; recall what you sent"],
  ["Tab / Shift-Tab", "switch pane: chats, composer, messages"],
  ["Ctrl-K", "jump to a chat by name"],
  ["PgUp / PgDn", "scroll; older history loads on demand"],
  ["r (in messages)", "reply to the selected message"],
  ["s (in messages)", "save the selected file here"],
  ["Ctrl-R", "retry: reconnect now, resend failed messages"],
  ["Esc", "cancel (reply, selection, this help, a file transfer)"],
  ["Ctrl-C", "quit"],
];

const ROWS: ReadonlyArray<readonly [string, string]> = [...COMMAND_HELP, ["", ""], ...KEY_HELP];

/** How far the help can scroll in `height` rows (title and footer take two). */
export function helpMaxScroll(height: number): number {
  const room = Math.max(1, height - 1);
  return ROWS.length <= room ? 0 : ROWS.length - Math.max(1, height - 2);
}

export function Help({ width, height, scroll = 0 }: { width: number; height: number; scroll?: number }) {
  const { color } = useTheme();
  const col = 26;
  const max = helpMaxScroll(height);
  const top = Math.max(0, Math.min(scroll, max));
  const shown = max === 0 ? ROWS : ROWS.slice(top, top + Math.max(1, height - 2));
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold color={color ? COLORS.accent : undefined} wrap="truncate-end">
        natter chat: commands and keys (Esc closes)
      </Text>
      {shown.map(([k, v], i) => (
        <Text key={i} wrap="truncate-end">
          <Text bold>{fit(k, col)}</Text>
          {v}
        </Text>
      ))}
      {max > 0 ? (
        <Text dimColor wrap="truncate-end">
          {top < max ? (top > 0 ? "↑↓ more above and below" : "↓ more below (Down, PgDn)") : "↑ more above (Up, PgUp)"}
        </Text>
      ) : null}
    </Box>
  );
}
