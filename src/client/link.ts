// How a device-link code reaches the new device: the exact `natter login`
// line to run there, and that line as a QR code (a phone camera can carry
// it to the new machine). The QR code holds the same text as the line.
import QRCode from "qrcode";

/** Safe in a shell without quotes. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

function shellWord(s: string): string {
  return PLAIN.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that logs a new device in with `code` on `server`. */
export function loginCommand(server: string, code: string): string {
  return `natter login --server ${shellWord(server)} --code ${shellWord(code)}`;
}

/** Screens are not scratched: the lowest error correction keeps the code smallest. */
const QR_OPTIONS = { errorCorrectionLevel: "L" } as const;

/** The QR code of `text` for a terminal: half-height blocks, dark on a light background set with ANSI colors. */
export function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { ...QR_OPTIONS, type: "terminal", small: true });
}

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
