// Ctrl-K: jump to a chat by fuzzy name.
import { Box, Text } from "ink";
import { COLORS, useTheme } from "../theme.ts";
import { fuzzyScore, truncate } from "../format.ts";

export interface PaletteItem {
  id: string;
  title: string;
}

/** Items matching the query, best first (all, in order, for an empty query). */
export function paletteMatches(items: PaletteItem[], query: string): PaletteItem[] {
  if (query.trim() === "") return items;
  return items
    .map((it) => ({ it, s: fuzzyScore(query, it.title) }))
    .filter((x): x is { it: PaletteItem; s: number } => x.s !== null)
    .sort((a, b) => b.s - a.s)
    .map((x) => x.it);
}

export interface PaletteProps {
  query: string;
  matches: PaletteItem[];
  index: number;
  width: number;
  height: number;
}

export function Palette(p: PaletteProps) {
  const { color } = useTheme();
  const visible = Math.max(1, p.height - 3);
  const top = Math.max(0, Math.min(p.index - visible + 1, p.matches.length - visible));
  return (
    <Box flexDirection="column" width={p.width} height={p.height}>
      <Text bold color={color ? COLORS.accent : undefined} wrap="truncate-end">
        Jump to chat (Enter opens, Esc cancels)
      </Text>
      <Text>
        {"› "}
        {p.query}
        <Text inverse> </Text>
      </Text>
      <Text dimColor>{"─".repeat(Math.max(0, p.width))}</Text>
      {p.matches.length === 0 ? <Text dimColor>no chat matches</Text> : null}
      {p.matches.slice(top, top + visible).map((m, i) => (
        <Text key={m.id} inverse={top + i === p.index} wrap="truncate-end">
          {truncate(`  ${m.title}`, p.width)}
        </Text>
      ))}
    </Box>
  );
}
