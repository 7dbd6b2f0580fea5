// First run: asks for the server URL, a login code and a device name, then
// hands them to `onLogin` (which logs in and saves the credentials).
import { Box, Text, useInput, type Key } from "ink";
import { useCallback, useReducer, useRef } from "react";
import { composerInput, emptyComposer, pasteText, setText, type ComposerState } from "../composer-state.ts";
import { KeyReader } from "../key-reader.ts";
import { COLORS, useTheme } from "../theme.ts";

export interface SetupProps {
  /** A known server (from --server or old credentials): prefilled, and the code is asked first. */
  server: string;
  /** Used when the server field is left empty. */
  defaultServer: string;
  device: string;
  /** Why we are asking (e.g. "no saved login for profile work"). */
  reason?: string;
  onLogin(server: string, code: string, device: string): Promise<void>;
  onQuit(): void;
}

const FIELDS = [
  { key: "server", label: "Server URL", hint: "e.g. http://chat.example.org:8080; several nodes: URL1,URL2" },
  { key: "code", label: "Login code", hint: "from your admin: natter admin users add / users code" },
  { key: "device", label: "Device name", hint: "how this terminal shows in your devices" },
] as const;

/** One server URL, or several comma-separated, normalized (a bare host:port is http://); or an error text. */
export function serverList(server: string): string[] | string {
  const out: string[] = [];
  for (const part of server.split(",")) {
    const s = part.trim();
    let url: URL;
    try {
      url = new URL(/^[a-z]+:\/\//i.test(s) ? s : `http://${s}`);
    } catch {
      return "the server URL does not look like a URL";
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return "the server URL must start with http:// or https://";
    const u = url.origin + url.pathname.replace(/\/+$/, "");
    if (!out.includes(u)) out.push(u);
  }
  return out;
}

/** Checks and normalizes what was typed; returns an error text or the values (several servers comma-joined). */
export function validateSetup(server: string, code: string, device: string): string | { server: string; code: string; device: string } {
  const list = serverList(server);
  if (typeof list === "string") return list;
  if (code.trim() === "") return "enter the login code";
  if (device.trim() === "") return "enter a device name";
  return { server: list.join(","), code: code.trim(), device: device.trim() };
}

interface SetupState {
  fields: ComposerState[];
  focus: number;
  error: string | null;
  busy: boolean;
}

export function Setup(p: SetupProps) {
  const { color } = useTheme();
  // State in a ref with a stable handler: keys arriving before React re-renders still see the latest state.
  const st = useRef<SetupState>({
    fields: [setText(emptyComposer(), p.server), emptyComposer(), setText(emptyComposer(), p.device)],
    focus: p.server ? 1 : 0,
    error: null,
    busy: false,
  });
  const [, repaint] = useReducer((x: number) => x + 1, 0);
  const update = (patch: Partial<SetupState>) => {
    st.current = { ...st.current, ...patch };
    repaint();
  };

  const submit = () => {
    const { fields } = st.current;
    const v = validateSetup(fields[0]!.text.trim() || p.defaultServer, fields[1]!.text, fields[2]!.text);
    if (typeof v === "string") return update({ error: v });
    update({ busy: true, error: null });
    p.onLogin(v.server, v.code, v.device).catch((e: unknown) => update({ busy: false, error: e instanceof Error ? e.message : String(e) }));
  };

  const setField = (f: ComposerState) => update({ fields: st.current.fields.map((x, i) => (i === st.current.focus ? f : x)) });
  const onKey = (input: string, key: Key) => {
    const { focus, fields, busy } = st.current;
    if (key.ctrl && input === "c") return p.onQuit();
    if (busy) return;
    if (key.escape) return p.onQuit();
    if (key.return) {
      if (focus < FIELDS.length - 1) update({ focus: focus + 1 });
      else submit();
      return;
    }
    if (key.tab || key.downArrow) return update({ focus: (focus + (key.shift ? FIELDS.length - 1 : 1)) % FIELDS.length });
    if (key.upArrow) return update({ focus: (focus + FIELDS.length - 1) % FIELDS.length });
    const r = composerInput(fields[focus]!, input.replace(/\n/g, ""), key);
    if (r.handled) setField(r.state);
  };
  // Keys of a burst one by one (a code and Enter typed fast); a paste goes into the field on one line.
  const reader = useRef(new KeyReader());
  const handle = (input: string, key: Key) => {
    for (const ev of reader.current.read(input, key)) {
      if (ev.kind === "key") onKey(ev.input, ev.key);
      else if (!st.current.busy) setField(pasteText(st.current.fields[st.current.focus]!, ev.text.replace(/[\r\n]+/g, "")));
    }
  };
  const handler = useRef(handle);
  handler.current = handle;
  useInput(useCallback((input: string, key: Key) => handler.current(input, key), []));
  const { fields, focus, error, busy } = st.current;

  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold color={color ? COLORS.accent : undefined}>
        Welcome to natter
      </Text>
      <Text dimColor>{p.reason ?? "Log this terminal in to your natter server."}</Text>
      <Text> </Text>
      {FIELDS.map((f, i) => {
        const fs = fields[i]!;
        const active = i === focus;
        const empty = fs.text === "" && f.key === "server";
        const shown = fs.text;
        return (
          <Box key={f.key} flexDirection="column">
            <Text bold={active}>
              {active ? "› " : "  "}
              {f.label}: {shown.slice(0, fs.cursor)}
              {active && !busy ? <Text inverse>{shown[fs.cursor] ?? " "}</Text> : shown[fs.cursor] ?? ""}
              {shown.slice(fs.cursor + 1)}
              {empty ? <Text dimColor>{`(Enter for ${p.defaultServer})`}</Text> : null}
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
