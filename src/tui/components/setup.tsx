// First run: asks for the server URL, a login code and a device name, then
// hands them to `onLogin` (which logs in and saves the credentials).
import { Box, Text, useInput } from "ink";
import { useState } from "react";
import { composerInput, emptyComposer, setText, type ComposerState } from "../composer-state.ts";
import { COLORS, useTheme } from "../theme.ts";

export interface SetupProps {
  server: string;
  device: string;
  /** Why we are asking (e.g. "no saved login for profile work"). */
  reason?: string;
  onLogin(server: string, code: string, device: string): Promise<void>;
  onQuit(): void;
}

const FIELDS = [
  { key: "server", label: "Server URL", hint: "e.g. http://chat.example.org:8080" },
  { key: "code", label: "Login code", hint: "from your admin: natter admin users add / users code" },
  { key: "device", label: "Device name", hint: "how this terminal shows in your devices" },
] as const;

/** Checks and normalizes what was typed; returns an error text or the values. */
export function validateSetup(server: string, code: string, device: string): string | { server: string; code: string; device: string } {
  let url: URL;
  const s = server.trim();
  try {
    url = new URL(/^[a-z]+:\/\//i.test(s) ? s : `http://${s}`);
  } catch {
    return "the server URL does not look like a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "the server URL must start with http:// or https://";
  if (code.trim() === "") return "enter the login code";
  if (device.trim() === "") return "enter a device name";
  return { server: url.origin + url.pathname.replace(/\/+$/, ""), code: code.trim(), device: device.trim() };
}

export function Setup(p: SetupProps) {
  const { color } = useTheme();
  const [fields, setFields] = useState<ComposerState[]>(() => [setText(emptyComposer(), p.server), emptyComposer(), setText(emptyComposer(), p.device)]);
  const [focus, setFocus] = useState(p.server ? 1 : 0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = () => {
    const v = validateSetup(fields[0]!.text, fields[1]!.text, fields[2]!.text);
    if (typeof v === "string") {
      setError(v);
      return;
    }
    setBusy(true);
    setError(null);
    p.onLogin(v.server, v.code, v.device).catch((e: unknown) => {
      setBusy(false);
      setError(e instanceof Error ? e.message : String(e));
    });
  };

  useInput((input, key) => {
    if (key.ctrl && input === "c") return p.onQuit();
    if (busy) return;
    if (key.escape) return p.onQuit();
    if (key.return && input.length <= 1) {
      if (focus < FIELDS.length - 1) setFocus(focus + 1);
      else submit();
      return;
    }
    if (key.tab || key.downArrow) return setFocus((focus + (key.shift ? FIELDS.length - 1 : 1)) % FIELDS.length);
    if (key.upArrow) return setFocus((focus + FIELDS.length - 1) % FIELDS.length);
    const clean = input.replace(/[\r\n]/g, "");
    const r = composerInput(fields[focus]!, clean, key);
    if (r.handled) setFields(fields.map((f, i) => (i === focus ? r.state : f)));
  });

  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold color={color ? COLORS.accent : undefined}>
        Welcome to natter
      </Text>
      <Text dimColor>{p.reason ?? "Log this terminal in to your natter server."}</Text>
      <Text> </Text>
      {FIELDS.map((f, i) => {
        const st = fields[i]!;
        const active = i === focus;
        const shown = f.key === "code" ? st.text : st.text;
        return (
          <Box key={f.key} flexDirection="column">
            <Text bold={active}>
              {active ? "› " : "  "}
              {f.label}: {shown.slice(0, st.cursor)}
              {active && !busy ? <Text inverse>{shown[st.cursor] ?? " "}</Text> : shown[st.cursor] ?? ""}
              {shown.slice(st.cursor + 1)}
            </Text>
            {active ? <Text dimColor>{"    " + f.hint}</Text> : null}
          </Box>
        );
      })}
      <Text> </Text>
      {busy ? <Text>Logging in…</Text> : <Text dimColor>Enter: next / log in · Tab: switch field · Esc: quit</Text>}
      {error ? <Text color={color ? COLORS.error : undefined}>Login failed: {error}</Text> : null}
    </Box>
  );
}
