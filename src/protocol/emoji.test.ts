import { expect, test } from "bun:test";
import { isSingleEmoji } from "./emoji.ts";

test("a reaction is exactly one emoji grapheme", () => {
  for (const ok of ["👍", "👍🏽", "❤️", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "🏳️‍🌈", "😀", "🫠"]) expect(isSingleEmoji(ok), ok).toBe(true);
  for (const bad of ["", "a", "👍👍", "👍 ", " 👍", "ok", "1", "©", "🇫", ":)", "👍a", "\u200D"]) expect(isSingleEmoji(bad), JSON.stringify(bad)).toBe(false);
});
