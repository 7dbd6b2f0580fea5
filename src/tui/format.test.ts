import { expect, test } from "bun:test";
import { clock, dayLabel, fit, fuzzyScore, humanSize, listTime, presenceText, truncate, wrapLine } from "./format.ts";

const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const NOW = at(2026, 11, 25, 15, 30); // a Wednesday

test("times in local time", () => {
  expect(clock(at(2026, 11, 25, 9, 5))).toBe("09:05");
  expect(dayLabel(at(2026, 11, 25, 1), NOW)).toBe("Today");
  expect(dayLabel(at(2026, 11, 24, 23), NOW)).toBe("Yesterday");
  expect(dayLabel(at(2026, 11, 20), NOW)).toBe("Fri 20 Nov");
  expect(dayLabel(at(2025, 3, 2), NOW)).toBe("2 Mar 2025");
  expect(listTime(at(2026, 11, 25, 8, 1), NOW)).toBe("08:01");
  expect(listTime(at(2026, 11, 24), NOW)).toBe("Yest");
  expect(listTime(at(2026, 11, 21), NOW)).toBe("Sat");
  expect(listTime(at(2026, 10, 1), NOW)).toBe("1/10");
});

test("presence", () => {
  expect(presenceText(true, null, NOW)).toBe("online");
  expect(presenceText(false, null, NOW)).toBe("offline");
  expect(presenceText(false, at(2026, 11, 25, 14, 0), NOW)).toBe("last seen today at 14:00");
  expect(presenceText(false, at(2026, 11, 24, 14, 0), NOW)).toBe("last seen yesterday at 14:00");
});

test("sizes", () => {
  expect(humanSize(512)).toBe("512 B");
  expect(humanSize(1536)).toBe("1.5 KiB");
  expect(humanSize(12 * 1024 * 1024)).toBe("12 MiB");
});

test("fuzzy matching prefers word starts and runs", () => {
  expect(fuzzyScore("bc", "book club")).not.toBeNull();
  expect(fuzzyScore("xyz", "book club")).toBeNull();
  expect(fuzzyScore("bo", "bob")!).toBeGreaterThan(fuzzyScore("bo", "a big orange")!);
});

test("width-aware truncate, fit and wrap", () => {
  expect(truncate("hello world", 8)).toBe("hello w…");
  expect(fit("ab", 4)).toBe("ab  ");
  expect(Bun.stringWidth(fit("日本語テキスト", 6))).toBe(6);
  expect(wrapLine("the quick brown fox jumps", 10)).toEqual(["the quick", "brown fox", "jumps"]);
  expect(wrapLine("abcdefghijklmnop", 5)).toEqual(["abcde", "fghij", "klmno", "p"]);
  for (const row of wrapLine("日本語のテキストを折り返す", 7)) expect(Bun.stringWidth(row)).toBeLessThanOrEqual(7);
});
