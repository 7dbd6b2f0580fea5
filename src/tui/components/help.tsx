// /help: commands and keys.
import { Box, Text } from "ink";
import { COMMAND_HELP } from "../commands.ts";
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
  ["Ctrl-R", "retry failed sends"],
  ["Esc", "cancel (reply, selection, this help)"],
  ["Ctrl-C", "quit"],
];

export function Help({ width, height }: { width: number; height: number }) {
  const { color } = useTheme();
  const col = 26;
  const rows = [...COMMAND_HELP, ["", ""] as const, ...KEY_HELP];
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold color={color ? COLORS.accent : undefined}>
        natter chat: commands and keys (Esc closes)
      </Text>
      {rows.slice(0, Math.max(0, height - 1)).map(([k, v], i) => (
        <Text key={i} wrap="truncate-end">
          <Text bold>{fit(k, col)}</Text>
          {v}
        </Text>
      ))}
    </Box>
  );
}
