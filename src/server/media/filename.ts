// Original file names, made safe to store, show and offer back in
// Content-Disposition: no directories, no control or bidi characters, no
// traversal, no hidden-file dot, bounded length (extension kept).

const MAX_BYTES = 200;
// C0/C1 controls, DEL, bidi overrides/isolates, zero-width and BOM characters.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/** A safe base name for `raw` (which may be a whole path); `fallback` when nothing usable is left. */
export function sanitizeFilename(raw: string | null | undefined, fallback = "file"): string {
  let s = (raw ?? "").normalize("NFC");
  s = s.slice(Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\")) + 1); // basename, either separator
  s = s.replace(UNSAFE, "").replace(/[<>:"|?*]/g, "_").replace(/\s+/g, " ");
  s = s.replace(/^[\s.]+/, "").replace(/[\s.]+$/, ""); // no "..", no hidden dot-file, no trailing dot
  if (s === "") s = fallback;
  if (WINDOWS_RESERVED.test(s)) s = "_" + s;
  return truncateBytes(s, MAX_BYTES);
}

/** Cuts `s` to at most `max` UTF-8 bytes on a character boundary, keeping a short extension. */
function truncateBytes(s: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= max) return s;
  const dot = s.lastIndexOf(".");
  const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : "";
  let stem = ext ? s.slice(0, dot) : s;
  const budget = max - enc.encode(ext).length;
  const chars = Array.from(stem);
  while (chars.length > 0 && enc.encode(chars.join("")).length > budget) chars.pop();
  stem = chars.join("");
  return stem + ext;
}

/** A Content-Disposition value: an ASCII fallback plus the exact UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const star = encodeURIComponent(name).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${star}`;
}

/** Decodes an X-Filename header: percent-encoded UTF-8 if it decodes, else the raw value. */
export function decodeFilenameHeader(v: string | null): string | null {
  if (v === null) return null;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
