import { describe, expect, test } from "bun:test";
import { KeyReader, NO_KEY, PASTE_END, PASTE_START, type KeyEvent } from "./key-reader.ts";

const key = (input: string, over: Partial<typeof NO_KEY> = {}): KeyEvent => ({ kind: "key", input, key: { ...NO_KEY, ...over } });

describe("KeyReader", () => {
  test("a single key, an escape sequence and a typed run pass through as they are", () => {
    const r = new KeyReader();
    expect(r.read("a", NO_KEY)).toEqual([key("a")]);
    expect(r.read("😀", NO_KEY)).toEqual([key("😀")]);
    expect(r.read("", { ...NO_KEY, upArrow: true })).toEqual([key("", { upArrow: true })]);
    expect(r.read("x", { ...NO_KEY, meta: true })).toEqual([key("x", { meta: true })]);
    expect(r.read("hello there", NO_KEY)).toEqual([key("hello there")]);
  });

  test("a burst is split into the keys pressed, each as ink reports it alone", () => {
    const r = new KeyReader();
    expect(r.read("\x0bteam\rhi\tx\x7f\b\x15", NO_KEY)).toEqual([
      key("k", { ctrl: true }),
      key("team"),
      key("", { return: true }),
      key("hi"),
      key("", { tab: true }),
      key("x"),
      key("", { delete: true }),
      key("", { backspace: true }),
      key("u", { ctrl: true }),
    ]);
    expect(r.read("\r\r", NO_KEY)).toEqual([key("", { return: true }), key("", { return: true })]);
    expect(r.read("a\nb", NO_KEY)).toEqual([key("a"), key("\n"), key("b")]);
  });

  test("between bracketed-paste markers everything is paste text, line breaks included, in as many reads as it takes", () => {
    const r = new KeyReader();
    expect(r.read(PASTE_START, NO_KEY)).toEqual([]);
    expect(r.read("one\rtwo", NO_KEY)).toEqual([{ kind: "paste", text: "one\rtwo" }]);
    expect(r.read("", { ...NO_KEY, return: true })).toEqual([{ kind: "paste", text: "\r" }]);
    expect(r.read("", { ...NO_KEY, tab: true })).toEqual([{ kind: "paste", text: "\t" }]);
    expect(r.read("k", { ...NO_KEY, ctrl: true })).toEqual([]);
    expect(r.read(PASTE_END, NO_KEY)).toEqual([]);
    expect(r.read("", { ...NO_KEY, return: true })).toEqual([key("", { return: true })]);
  });
});
