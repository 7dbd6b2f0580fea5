import { expect, test } from "bun:test";
import QRCode from "qrcode";
import { loginCommand } from "./link.ts";
import { qrLines } from "./qr-lines.ts";

/** Reads half-block lines back into a module matrix (true = the block's mark). */
function modulesOf(lines: string[], margin: number): boolean[][] {
  const rows: boolean[][] = [];
  for (const l of lines) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const ch of l) {
      top.push(ch === "█" || ch === "▀");
      bottom.push(ch === "█" || ch === "▄");
    }
    rows.push(top, bottom);
  }
  return rows.slice(margin).map((r) => r.slice(margin, r.length - margin));
}

test("qrLines draws exactly the library's QR matrix, and inverted draws its complement", async () => {
  const text = loginCommand("http://127.0.0.1:45678", "ABCD-EFGH-JKLM");
  const qr = QRCode.create(text, { errorCorrectionLevel: "L" });
  const size = qr.modules.size;
  const lines = qrLines(text);
  expect(new Set(lines.map((l) => [...l].length))).toEqual(new Set([size + 4]));
  expect(lines.length).toBe(Math.ceil((size + 4) / 2));
  const got = modulesOf(lines, 2).slice(0, size);
  expect(got).toHaveLength(size);
  const want = Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, c) => qr.modules.get(r, c) === 1));
  expect(got).toEqual(want);

  const inv = qrLines(text, true);
  const flipped = modulesOf(inv, 2).slice(0, size);
  expect(flipped).toEqual(want.map((r) => r.map((x) => !x)));
});
