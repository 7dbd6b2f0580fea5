// A QR code as plain lines of text, for views that draw it themselves (the
// TUI's /link panel). Loads the qrcode package: import it where a QR code is drawn.
import QRCode from "qrcode";
import { QR_OPTIONS } from "./link.ts";

/** Quiet zone around the plain-line QR code, in modules. */
const MARGIN = 2;

/**
 * The QR code of `text` as plain lines of half-height blocks (two module
 * rows per line) with a quiet zone of two modules: "█" marks dark modules,
 * so draw it dark on light; with `inverted`, "█" marks light ones (for a
 * light-on-dark terminal with no colors). All lines have the same width.
 */
export function qrLines(text: string, inverted = false): string[] {
  const { modules } = QRCode.create(text, QR_OPTIONS);
  const n = modules.size;
  const total = n + 2 * MARGIN;
  const dark = (r: number, c: number) => r >= MARGIN && c >= MARGIN && r < n + MARGIN && c < n + MARGIN && !!modules.get(r - MARGIN, c - MARGIN);
  const drawn = (r: number, c: number) => r < total && dark(r, c) !== inverted;
  const lines: string[] = [];
  for (let r = 0; r < total; r += 2) {
    let line = "";
    for (let c = 0; c < total; c++) {
      const top = drawn(r, c);
      const bottom = drawn(r + 1, c);
      line += top ? (bottom ? "█" : "▀") : bottom ? "▄" : " ";
    }
    lines.push(line);
  }
  return lines;
}
