import { describe, expect, test } from "bun:test";
import { parseRange } from "./range.ts";

describe("parseRange", () => {
  const size = 1000;
  test("no header, other units, several ranges and malformed specs mean the whole file", () => {
    for (const h of [null, "items=0-1", "bytes=0-1,5-6", "bytes=-", "bytes=abc", "bytes=5-2"]) expect(parseRange(h, size)).toEqual({ kind: "none" });
  });
  test("start-end, open end, suffix; end clamped to the last byte", () => {
    expect(parseRange("bytes=0-0", size)).toEqual({ kind: "range", start: 0, end: 0 });
    expect(parseRange("bytes=10-19", size)).toEqual({ kind: "range", start: 10, end: 19 });
    expect(parseRange("bytes=990-", size)).toEqual({ kind: "range", start: 990, end: 999 });
    expect(parseRange("bytes=-10", size)).toEqual({ kind: "range", start: 990, end: 999 });
    expect(parseRange("bytes=-5000", size)).toEqual({ kind: "range", start: 0, end: 999 });
    expect(parseRange("bytes=999-5000", size)).toEqual({ kind: "range", start: 999, end: 999 });
    expect(parseRange(" Bytes = 1-2 ", size)).toEqual({ kind: "range", start: 1, end: 2 });
  });
  test("a start at or past the end, a zero suffix, or any range of an empty file is unsatisfiable", () => {
    expect(parseRange("bytes=1000-", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=1000-1001", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-0", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-1", 0)).toEqual({ kind: "unsatisfiable" });
  });
});
