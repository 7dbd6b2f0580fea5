import { describe, expect, test } from "bun:test";
import type { Key } from "ink";
import { composerInput, emptyComposer, pasteText, type ComposerState } from "./composer-state.ts";

const K = (over: Partial<Key> = {}): Key => ({
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false, ...over,
});

/** Feeds events; returns the final state and everything submitted. */
function feed(s: ComposerState, ...evs: Array<string | [string, Partial<Key>]>) {
  const sent: string[] = [];
  for (const ev of evs) {
    const [input, key] = typeof ev === "string" ? [ev, K()] : [ev[0], K(ev[1])];
    const r = composerInput(s, input, key);
    s = r.state;
    if (r.submit !== undefined) sent.push(r.submit);
  }
  return { s, sent };
}
const ENTER: [string, Partial<Key>] = ["\r", { return: true }];

describe("composer", () => {
  test("typing and Enter submits and clears", () => {
    const { s, sent } = feed(emptyComposer(), "h", "i", ENTER);
    expect(sent).toEqual(["hi"]);
    expect(s.text).toBe("");
  });

  test("a paste goes in at the cursor with its line breaks as newlines; Enter then sends it whole", () => {
    const { s } = feed(emptyComposer(), "<>", ["", { leftArrow: true }]);
    const pasted = pasteText(s, "one\rtwo\r\nthree\x07\r");
    expect(pasted.text).toBe("<one\ntwo\nthree\n>");
    expect(pasted.cursor).toBe("<one\ntwo\nthree\n".length);
    expect(feed(pasted, ENTER).sent).toEqual(["<one\ntwo\nthree\n>"]);
  });

  test("Alt-Enter and Shift-Enter insert a newline", () => {
    const { s, sent } = feed(emptyComposer(), "a", ["\r", { return: true, meta: true }], "b", ["\r", { return: true, shift: true }], "c");
    expect(sent).toEqual([]);
    expect(s.text).toBe("a\nb\nc");
  });

  test("blank text does not submit", () => {
    expect(feed(emptyComposer(), " ", ENTER).sent).toEqual([]);
  });

  test("editing: backspace, arrows, Ctrl-U, Ctrl-W, emoji as one step", () => {
    let { s } = feed(emptyComposer(), "hello world", ["", { backspace: true }], ["", { leftArrow: true }], "X");
    expect(s.text).toBe("hello worXl");
    s = feed(s, ["w", { ctrl: true }]).s;
    expect(s.text).toBe("hello l");
    s = feed(s, ["u", { ctrl: true }]).s;
    expect(s.text).toBe("l");
    s = feed(emptyComposer(), "a😀", ["", { leftArrow: true }], ["", { delete: true }]).s;
    expect(s.text).toBe("😀");
  });

  test("history: Up recalls what was sent, Down returns to the draft", () => {
    let { s } = feed(emptyComposer(), "first", ENTER, "second", ENTER, "dra", "ft");
    s = feed(s, ["", { upArrow: true }]).s;
    expect(s.text).toBe("second");
    s = feed(s, ["", { upArrow: true }], ["", { upArrow: true }]).s;
    expect(s.text).toBe("first");
    s = feed(s, ["", { downArrow: true }]).s;
    expect(s.text).toBe("second");
    s = feed(s, ["", { downArrow: true }]).s;
    expect(s.text).toBe("draft");
  });

  test("Up inside multi-line text moves between lines before reaching history", () => {
    let { s } = feed(emptyComposer(), "old", ENTER, "ab\ncd");
    s = feed(s, ["", { upArrow: true }]).s;
    expect(s.text).toBe("ab\ncd");
    expect(s.cursor).toBe(2);
    s = feed(s, ["", { upArrow: true }]).s;
    expect(s.text).toBe("old");
  });

  test("keys the composer does not own are reported unhandled", () => {
    for (const k of [{ tab: true }, { pageUp: true }, { escape: true }]) expect(composerInput(emptyComposer(), "", K(k)).handled).toBe(false);
    expect(composerInput(emptyComposer(), "k", K({ ctrl: true })).handled).toBe(false);
  });
});
