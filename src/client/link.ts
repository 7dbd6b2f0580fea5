// How a device-link code reaches the new device: the exact `natter login`
// line to run there, and that line as a QR code (a phone camera can carry
// it to the new machine). The QR code holds the same text as the line.
// The qrcode package loads only when a QR code is drawn (not with every command).

/** Safe in a shell without quotes. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

function shellWord(s: string): string {
  return PLAIN.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that logs a new device in with `code` on `server` (several: comma-separated). */
export function loginCommand(server: string | readonly string[], code: string): string {
  const list = typeof server === "string" ? server : server.join(",");
  return `natter login --server ${shellWord(list)} --code ${shellWord(code)}`;
}

/** Screens are not scratched: the lowest error correction keeps the code smallest. */
export const QR_OPTIONS = { errorCorrectionLevel: "L" } as const;

/** The QR code of `text` for a terminal: half-height blocks, dark on a light background set with ANSI colors. */
export async function terminalQr(text: string): Promise<string> {
  const { default: QRCode } = await import("qrcode");
  return QRCode.toString(text, { ...QR_OPTIONS, type: "terminal", small: true });
}
