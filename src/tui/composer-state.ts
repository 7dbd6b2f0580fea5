// The composer's editing model, pure: text + cursor + history of sent text.
// Enter submits; Alt-Enter or Shift-Enter inserts a newline. Keys come one at
// a time (key-reader.ts splits bursts); a paste comes whole, through
// pasteText: its line breaks are newlines and it never submits.
import type { Key } from "ink";

export interface ComposerState {
  text: string;
  /** Index into text (UTF-16 units, always on a code point boundary). */
  cursor: number;
  /** What was sent, oldest first. */
  history: string[];
  /** Position while browsing history; null when editing fresh text. */
  histIndex: number | null;
  /** The fresh text put aside while browsing history. */
  saved: string;
}

export interface ComposerResult {
  state: ComposerState;
  /** Text to send, when Enter submitted a non-blank message. */
  submit?: string;
  /** False when the key means nothing to the composer (the caller may use it). */
  handled: boolean;
}

export const HISTORY_LIMIT = 200;

export function emptyComposer(history: string[] = []): ComposerState {
  return { text: "", cursor: 0, history, histIndex: null, saved: "" };
}

export function setText(s: ComposerState, text: string): ComposerState {
  return { ...s, text, cursor: text.length, histIndex: null };
}

/** Applies one input event (as ink's useInput reports it). */
export function composerInput(s: ComposerState, input: string, key: Key): ComposerResult {
  const done = (state: ComposerState, submit?: string): ComposerResult => ({ state, submit, handled: true });
  if (key.return) {
    if (key.meta || key.shift) return done(insert(s, "\n"));
    const text = s.text;
    if (text.trim() === "") return done(s);
    return done(pushHistory(emptyComposer(s.history), text), text);
  }
  if (key.backspace || key.delete) return done(deleteBack(s));
  if (key.leftArrow) return done({ ...s, cursor: prevBoundary(s.text, s.cursor) });
  if (key.rightArrow) return done({ ...s, cursor: nextBoundary(s.text, s.cursor) });
  if (key.home || (key.ctrl && input === "a")) return done({ ...s, cursor: lineStart(s.text, s.cursor) });
  if (key.end || (key.ctrl && input === "e")) return done({ ...s, cursor: lineEnd(s.text, s.cursor) });
  if (key.ctrl && input === "u") {
    const start = lineStart(s.text, s.cursor);
    return done({ ...s, text: s.text.slice(0, start) + s.text.slice(s.cursor), cursor: start });
  }
  if (key.ctrl && input === "w") {
    let i = s.cursor;
    while (i > 0 && /\s/.test(s.text[i - 1]!)) i--;
    while (i > 0 && !/\s/.test(s.text[i - 1]!)) i--;
    return done({ ...s, text: s.text.slice(0, i) + s.text.slice(s.cursor), cursor: i });
  }
  if (key.upArrow) return done(up(s));
  if (key.downArrow) return done(down(s));
  if (key.ctrl || key.tab || key.escape || key.pageUp || key.pageDown) return { state: s, handled: false };
  if (key.meta && input.length <= 1) return { state: s, handled: false };
  if (input === "") return { state: s, handled: false };
  return done(insert(s, normalizeNewlines(input)));
}

/** Inserts pasted text at the cursor, line breaks as newlines. */
export function pasteText(s: ComposerState, text: string): ComposerState {
  return insert(s, normalizeNewlines(text));
}

/** Pasted text: CRLF and CR become LF; other control characters (but tab) are dropped. */
export function normalizeNewlines(input: string): string {
  return input.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}

function insert(s: ComposerState, t: string): ComposerState {
  return { ...s, text: s.text.slice(0, s.cursor) + t + s.text.slice(s.cursor), cursor: s.cursor + t.length, histIndex: null };
}

function deleteBack(s: ComposerState): ComposerState {
  if (s.cursor === 0) return s;
  const p = prevBoundary(s.text, s.cursor);
  return { ...s, text: s.text.slice(0, p) + s.text.slice(s.cursor), cursor: p };
}

function pushHistory(s: ComposerState, text: string): ComposerState {
  const h = s.history[s.history.length - 1] === text ? s.history : [...s.history, text].slice(-HISTORY_LIMIT);
  return { ...s, history: h };
}

function up(s: ComposerState): ComposerState {
  const start = lineStart(s.text, s.cursor);
  if (start > 0) {
    // Move to the same column on the previous line.
    const col = s.cursor - start;
    const prevStart = lineStart(s.text, start - 1);
    return { ...s, cursor: Math.min(prevStart + col, start - 1) };
  }
  if (s.history.length === 0) return s;
  const idx = s.histIndex === null ? s.history.length - 1 : Math.max(0, s.histIndex - 1);
  const text = s.history[idx]!;
  return { ...s, text, cursor: text.length, histIndex: idx, saved: s.histIndex === null ? s.text : s.saved };
}

function down(s: ComposerState): ComposerState {
  const end = lineEnd(s.text, s.cursor);
  if (end < s.text.length) {
    const col = s.cursor - lineStart(s.text, s.cursor);
    const nextStart = end + 1;
    return { ...s, cursor: Math.min(nextStart + col, lineEnd(s.text, nextStart)) };
  }
  if (s.histIndex === null) return s;
  if (s.histIndex < s.history.length - 1) {
    const text = s.history[s.histIndex + 1]!;
    return { ...s, text, cursor: text.length, histIndex: s.histIndex + 1 };
  }
  return { ...s, text: s.saved, cursor: s.saved.length, histIndex: null, saved: "" };
}

function lineStart(t: string, i: number): number {
  const n = t.lastIndexOf("\n", i - 1);
  return n === -1 ? 0 : n + 1;
}

function lineEnd(t: string, i: number): number {
  const n = t.indexOf("\n", i);
  return n === -1 ? t.length : n;
}

function prevBoundary(t: string, i: number): number {
  if (i <= 0) return 0;
  const c = t.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? i - 2 : i - 1;
}

function nextBoundary(t: string, i: number): number {
  if (i >= t.length) return t.length;
  const c = t.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < t.length ? i + 2 : i + 1;
}
