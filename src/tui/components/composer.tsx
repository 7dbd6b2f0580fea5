// The composer: a prompt and the wrapped text with a visible cursor; grows
// to a few rows and scrolls to keep the cursor in view.
import { Box, Text } from "ink";
import type { ComposerState } from "../composer-state.ts";
import { composerRows } from "../layout.ts";
import { COLORS, useTheme } from "../theme.ts";
import { truncate } from "../format.ts";

export const COMPOSER_MAX_ROWS = 5;

export interface ComposerProps {
  state: ComposerState;
  width: number;
  focused: boolean;
  placeholder: string;
  /** "Replying to alice: …", shown above the input. */
  replying: string | null;
}

/** Rows the composer occupies (for layout), including the reply line and the divider. */
export function composerHeight(state: ComposerState, width: number, replying: boolean): number {
  const { rows } = composerRows(state.text, state.cursor, Math.max(1, width - 2));
  return 1 + (replying ? 1 : 0) + Math.min(COMPOSER_MAX_ROWS, rows.length);
}

export function Composer(p: ComposerProps) {
  const { color } = useTheme();
  const inner = Math.max(1, p.width - 2);
  const { rows, cursorRow, cursorCol } = composerRows(p.state.text, p.state.cursor, inner);
  const first = Math.max(0, Math.min(cursorRow - COMPOSER_MAX_ROWS + 1, rows.length - COMPOSER_MAX_ROWS));
  const shown = rows.slice(first, first + COMPOSER_MAX_ROWS);
  const prompt = p.focused ? "› " : "  ";
  return (
    <Box flexDirection="column" width={p.width}>
      <Text dimColor>{"─".repeat(Math.max(0, p.width))}</Text>
      {p.replying ? (
        <Text color={color ? COLORS.accent : undefined} wrap="truncate-end">
          {truncate(`${p.replying}  (Esc cancels)`, p.width)}
        </Text>
      ) : null}
      {p.state.text === "" ? (
        <Text wrap="truncate-end">
          <Text bold color={color ? COLORS.accent : undefined}>
            {prompt}
          </Text>
          {p.focused ? <Text inverse> </Text> : null}
          <Text dimColor>{truncate(p.placeholder, inner - 1)}</Text>
        </Text>
      ) : (
        shown.map((row, i) => {
          const r = first + i;
          const lead = r === 0 ? prompt : "  ";
          if (!p.focused || r !== cursorRow) {
            return (
              <Text key={r} wrap="truncate-end">
                <Text bold color={color ? COLORS.accent : undefined}>
                  {lead}
                </Text>
                {row || " "}
              </Text>
            );
          }
          const chars = Array.from(row);
          let col = 0;
          let at = 0;
          while (at < chars.length && col < cursorCol) col += Bun.stringWidth(chars[at++]!);
          const before = chars.slice(0, at).join("");
          const under = chars[at] ?? " ";
          const after = chars.slice(at + 1).join("");
          return (
            <Text key={r} wrap="truncate-end">
              <Text bold color={color ? COLORS.accent : undefined}>
                {lead}
              </Text>
              {before}
              <Text inverse>{under}</Text>
              {after}
            </Text>
          );
        })
      )}
    </Box>
  );
}

/** A yes/no question in the composer's place (two rows: the divider and the question). */
export function Question({ text, width }: { text: string; width: number }) {
  const { color } = useTheme();
  return (
    <Box flexDirection="column" width={width}>
      <Text dimColor>{"─".repeat(Math.max(0, width))}</Text>
      <Text bold color={color ? COLORS.warn : undefined} wrap="truncate-end">
        {truncate(text, width)}
      </Text>
    </Box>
  );
}
