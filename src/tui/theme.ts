// Colors, in one place. With NO_COLOR the app draws no color at all; meaning
// never rides on color alone (seen ticks use another glyph, the selection
// uses inverse video).
import { createContext, useContext } from "react";

export interface Theme {
  color: boolean;
}

export const ThemeContext = createContext<Theme>({ color: true });
export const useTheme = () => useContext(ThemeContext);

/** A run of text with one style; views are lists of lines of these. */
export interface Seg {
  text: string;
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

const SENDER_COLORS = ["cyan", "magenta", "yellow", "green", "blue", "red", "cyanBright", "magentaBright", "yellowBright", "greenBright"];

/** A stable color per user id, for sender names in groups. */
export function senderColor(id: string): string {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return SENDER_COLORS[(h >>> 0) % SENDER_COLORS.length]!;
}

export const COLORS = {
  accent: "cyan",
  seen: "blueBright",
  error: "red",
  warn: "yellow",
  online: "green",
  unread: "green",
  me: "green",
} as const;
