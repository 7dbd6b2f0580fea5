// What ink reports as one input event can be several keys: over a slow link,
// or while the program is busy, keys arrive together ("\x0bteam\r" is Ctrl-K,
// t, e, a, m, Enter). The reader splits such a burst into the keys a person
// pressed, each as ink would have reported it alone. A paste is what the
// terminal marks as one (bracketed paste, which `natter chat` turns on):
// it comes out whole, its line breaks text, never Enter.
import type { Key } from "ink";

/** One key as ink's useInput reports it, or the text of a bracketed paste. */
export type KeyEvent = { kind: "key"; input: string; key: Key } | { kind: "paste"; text: string };

/** Ink's report of the bracketed-paste markers (ESC [200~ and ESC [201~, the ESC removed). */
export const PASTE_START = "[200~";
export const PASTE_END = "[201~";

/** A Key with nothing pressed but the character itself. */
export const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

// A control character, as ink reports it when it arrives alone.
function controlKey(c: string): { input: string; key: Key } {
  switch (c) {
    case "\r":
      return { input: "", key: { ...NO_KEY, return: true } };
    case "\t":
      return { input: "", key: { ...NO_KEY, tab: true } };
    case "\b":
      return { input: "", key: { ...NO_KEY, backspace: true } };
    case "\x7f":
      return { input: "", key: { ...NO_KEY, delete: true } };
    case "\n": // ink names it "enter" but does not call it return; the composer makes it a newline
      return { input: "\n", key: NO_KEY };
    default:
      return { input: String.fromCharCode(c.charCodeAt(0) + 96), key: { ...NO_KEY, ctrl: true } };
  }
}

const CONTROL = /[\x00-\x1f\x7f]/;
const pressed = (key: Key) => Object.values(key).some((v) => v === true);

export class KeyReader {
  private pasting = false;

  /** Splits one ink input event into keys (control keys alone, text in runs) and pastes, in order. */
  read(input: string, key: Key): KeyEvent[] {
    if (input === PASTE_START) {
      this.pasting = true;
      return [];
    }
    if (input === PASTE_END) {
      this.pasting = false;
      return [];
    }
    if (this.pasting) {
      // Ink reports a lone character of the paste as a key: a line break or tab is text here; other control keys are dropped.
      const text = !pressed(key) ? input : key.return ? "\r" : key.tab ? "\t" : "";
      return text ? [{ kind: "paste", text }] : [];
    }
    // A single key, or an escape sequence ink has already told apart.
    if ([...input].length <= 1 || pressed(key) || !CONTROL.test(input)) return [{ kind: "key", input, key }];
    const out: KeyEvent[] = [];
    for (const part of input.split(/([\x00-\x1f\x7f])/)) {
      if (part === "") continue;
      out.push(part.length === 1 && CONTROL.test(part) ? { kind: "key", ...controlKey(part) } : { kind: "key", input: part, key: NO_KEY });
    }
    return out;
  }
}
