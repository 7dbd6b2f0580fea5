// The MIME type of stored bytes, from their content (file-type's magic-number
// detection, pure JS), never from the uploader's Content-Type. Text that
// file-type does not recognise is text/plain if it is valid UTF-8 without NULs;
// anything else is application/octet-stream.

import { open } from "node:fs/promises";
import { fileTypeFromFile } from "file-type";
import { imageSize, type Dimensions } from "./image-size.ts";

export interface Sniffed {
  mime: string;
  /** Extension file-type suggests (without dot), if any. */
  ext: string | null;
  dimensions: Dimensions | null;
}

const HEAD = 512 * 1024;

/** Reads at most the first 512 KiB (plus what file-type needs) of the file at `path`. */
export async function sniffFile(path: string): Promise<Sniffed> {
  const head = await readHead(path, HEAD);
  const t = await fileTypeFromFile(path).catch(() => undefined);
  if (t) return { mime: t.mime, ext: t.ext, dimensions: t.mime.startsWith("image/") ? imageSize(head, t.mime) : null };
  if (looksLikeText(head.subarray(0, 64 * 1024))) return { mime: "text/plain; charset=utf-8", ext: "txt", dimensions: null };
  return { mime: "application/octet-stream", ext: null, dimensions: null };
}

async function readHead(path: string, max: number): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Valid UTF-8 (a character cut at the end is fine) with no NUL bytes; empty is not text. */
export function looksLikeText(b: Uint8Array): boolean {
  if (b.length === 0 || b.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b, { stream: true });
    return true;
  } catch {
    return false;
  }
}
