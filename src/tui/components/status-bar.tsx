// The bottom line: the latest notice (errors stand out), else key hints;
// who we are on the right.
import { Text } from "ink";
import type { Notice } from "../state.ts";
import { COLORS, useTheme } from "../theme.ts";
import { cellWidth, fit, truncate } from "../format.ts";

export const NOTICE_MS = { info: 8_000, error: 15_000 } as const;

export interface StatusBarProps {
  notice: Notice | null;
  hint: string;
  who: string;
  width: number;
  now: number;
}

export function StatusBar(p: StatusBarProps) {
  const { color } = useTheme();
  const live = p.notice && p.now - p.notice.at < NOTICE_MS[p.notice.kind] ? p.notice : null;
  const right = ` ${p.who}`;
  const leftW = Math.max(0, p.width - cellWidth(right));
  const left = live ? live.text : p.hint;
  return (
    <Text wrap="truncate-end">
      <Text
        color={color && live ? (live.kind === "error" ? COLORS.error : COLORS.accent) : undefined}
        bold={live?.kind === "error"}
        dimColor={!live}
      >
        {fit(truncate(left, leftW), leftW)}
      </Text>
      <Text dimColor>{right}</Text>
    </Text>
  );
}
