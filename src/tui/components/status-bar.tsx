// The bottom line: uploads and downloads in progress, then the latest
// notice (errors stand out), else key hints; who we are on the right.
import { Text } from "ink";
import { transferText } from "../file-transfer.ts";
import type { Notice, Transfer } from "../state.ts";
import { COLORS, useTheme } from "../theme.ts";
import { cellWidth, fit, truncate } from "../format.ts";

export const NOTICE_MS = { info: 8_000, error: 15_000 } as const;

export interface StatusBarProps {
  notice: Notice | null;
  hint: string;
  who: string;
  width: number;
  now: number;
  transfers?: Transfer[];
}

/** "uploading cat.png 42% of 2.1 KiB · Esc cancels" for the transfers in progress, or "". */
export function transfersText(ts: Transfer[]): string {
  if (ts.length === 0) return "";
  return `${ts.map(transferText).join(" · ")} · Esc cancels`;
}

export function StatusBar(p: StatusBarProps) {
  const { color } = useTheme();
  const live = p.notice && p.now - p.notice.at < NOTICE_MS[p.notice.kind] ? p.notice : null;
  // An error that does not fit pushes who-we-are off the line: it matters more.
  const fullW = (live?.kind === "error" ? cellWidth(live.text) : 0) + cellWidth(transfersText(p.transfers ?? [])) + 3;
  const right = live?.kind === "error" && fullW + cellWidth(p.who) + 1 > p.width ? "" : ` ${p.who}`;
  const leftW = Math.max(0, p.width - cellWidth(right));
  const progress = truncate(transfersText(p.transfers ?? []), leftW);
  const rest = Math.max(0, leftW - cellWidth(progress) - (progress ? 3 : 0));
  const left = live ? live.text : progress ? "" : p.hint;
  const leftText = left && rest > 0 ? truncate(left, rest) : "";
  const sep = progress && leftText ? " · " : "";
  return (
    <Text wrap="truncate-end">
      {progress ? <Text color={color ? COLORS.accent : undefined} bold>{progress}</Text> : null}
      <Text dimColor>{sep}</Text>
      <Text
        color={color && live ? (live.kind === "error" ? COLORS.error : COLORS.accent) : undefined}
        bold={live?.kind === "error"}
        dimColor={!live}
      >
        {fit(leftText, Math.max(0, leftW - cellWidth(progress) - cellWidth(sep)))}
      </Text>
      <Text dimColor>{right}</Text>
    </Text>
  );
}
