// The connection banner: one line, shown only while not connected.
import { Text } from "ink";
import type { ConnState } from "../chat-client.ts";
import { COLORS, useTheme } from "../theme.ts";
import { fit } from "../format.ts";

export interface BannerProps {
  conn: ConnState;
  nextRetryAt: number | null;
  /** Set when the server refused our token. */
  error?: string | null;
  now: number;
  queued: number;
  server: string;
  /** How many servers the client knows; with several the banner names the one it tries. */
  nodes?: number;
  width: number;
}

/** The banner text for a connection state, or null when connected. */
export function bannerText(p: Omit<BannerProps, "width">): string | null {
  const q = p.queued > 0 ? ` · ${p.queued} message${p.queued === 1 ? "" : "s"} queued` : "";
  switch (p.conn) {
    case "open":
      return null;
    case "connecting":
      return `Connecting to ${p.server}…${q}`;
    case "reconnecting": {
      const secs = p.nextRetryAt === null ? 0 : Math.ceil((p.nextRetryAt - p.now) / 1000);
      const to = (p.nodes ?? 1) > 1 ? ` to ${hostOf(p.server)}` : "";
      return secs > 0 ? `Connection lost · reconnecting${to} in ${secs} s (Ctrl-R: now)${q}` : `Connection lost · reconnecting${to}…${q}`;
    }
    case "offline":
      if (p.error) return `Signed out: ${p.error}. Log in again: natter chat --server URL (asks for a new code)${q}`;
      return `Offline${q || " · messages you send are queued"}`;
    case "closed":
      return `Disconnected${q}`;
  }
}

/** host:port of a server URL (the URL itself if it is not one). */
export function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}

export function Banner(p: BannerProps) {
  const { color } = useTheme();
  const text = bannerText(p);
  if (text === null) return null;
  const bg = p.conn === "connecting" ? COLORS.warn : COLORS.error;
  return (
    <Text inverse bold color={color ? bg : undefined}>
      {fit(` ${text}`, p.width)}
    </Text>
  );
}
