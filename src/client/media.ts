// Media for clients (the TUI, `natter send --file`, `natter download`):
// streamed upload of a file with progress, streamed download to a file
// with progress and a SHA-256 check against the server's ETag. Neither holds
// a whole file in memory. Errors are NatterErrors (too_large, not_found, ...).
import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { NatterError, type MediaInfo, type MessageType, type WireError } from "../protocol/index.ts";
import { baseUrl } from "./http.ts";

/** What the server answers for an upload (MediaInfo plus image dimensions). */
export interface UploadedMedia extends MediaInfo {
  width: number | null;
  height: number | null;
  created_at?: number;
}

/** Bytes moved so far and the total when known. */
export interface Progress {
  done: number;
  total: number | null;
}

export interface TransferOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export interface UploadOptions extends TransferOptions {
  /** File name sent to the server (default: the file's base name). */
  name?: string;
}

async function errorFrom(res: Response): Promise<NatterError> {
  const text = await res.text().catch(() => "");
  try {
    const err = (JSON.parse(text) as { error?: WireError }).error;
    if (err && typeof err.code === "string") return NatterError.fromWire(err);
  } catch {
    // not JSON
  }
  const byStatus: Record<number, WireError["code"]> = { 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "too_large", 429: "rate_limited", 503: "unavailable" };
  const retry = Number(res.headers.get("retry-after"));
  return new NatterError(byStatus[res.status] ?? "internal", `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`, retry > 0 ? retry * 1000 : undefined);
}

const baseName = (p: string) => p.slice(Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\")) + 1);

/**
 * Uploads a file (a path, or any Blob such as Bun.file) to POST /api/media, streaming it.
 * Resolves with the stored media; throws NatterError (too_large over the server's limit or quota).
 */
export async function uploadMedia(server: string, token: string, file: string | Blob, opts: UploadOptions = {}): Promise<UploadedMedia> {
  const blob = typeof file === "string" ? Bun.file(file) : file;
  if (typeof file === "string" && !(await (blob as ReturnType<typeof Bun.file>).exists())) throw new NatterError("bad_request", `no such file: ${file}`);
  const total = blob.size;
  const name = opts.name ?? (typeof file === "string" ? baseName(file) : blob instanceof File ? blob.name : "");
  let done = 0;
  opts.onProgress?.({ done, total });
  const reader = blob.stream().getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done: end, value } = await reader.read();
      if (end) return c.close();
      done += value.byteLength;
      c.enqueue(value);
      opts.onProgress?.({ done, total });
    },
    cancel: (r) => reader.cancel(r),
  });
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" };
  if (name) headers["x-filename"] = encodeURIComponent(name);
  // A declared length lets the server refuse an oversize file before a byte is sent, and makes
  // concurrent uploads near the quota first come, first served.
  if (total > 0 && Number.isSafeInteger(total)) headers["content-length"] = String(total);
  const res = await fetch(baseUrl(server) + "/api/media", { method: "POST", headers, body, signal: opts.signal });
  if (res.status !== 200 && res.status !== 201) throw await errorFrom(res);
  return ((await res.json()) as { media: UploadedMedia }).media;
}

/** GET /api/media/ID/info: the metadata, if the caller may read it (else not_found). */
export async function mediaInfo(server: string, token: string, id: string): Promise<UploadedMedia> {
  const res = await fetch(`${baseUrl(server)}/api/media/${encodeURIComponent(id)}/info`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw await errorFrom(res);
  return ((await res.json()) as { media: UploadedMedia }).media;
}

export interface Downloaded {
  /** Where the bytes went (null when written to a stream). */
  path: string | null;
  size: number;
  sha256: string;
  mime: string;
  /** The file name the server offers (from Content-Disposition). */
  name: string;
}

/** The server's file name from a Content-Disposition header (filename* preferred). */
export function dispositionName(h: string | null): string {
  if (!h) return "";
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(h);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/i.exec(h) ?? /filename\s*=\s*([^;]+)/i.exec(h);
  return plain ? plain[1]!.trim() : "";
}

/**
 * Downloads a media id. `to` is a file path (written to PATH.part, checked, then renamed, so a
 * failed download leaves no partial file) or a function choosing the path from the offered name,
 * or a WritableStream. Throws NatterError (not_found for anyone who may not read it).
 */
export async function downloadMedia(
  server: string,
  token: string,
  id: string,
  to: string | ((offeredName: string) => string) | WritableStream<Uint8Array>,
  opts: TransferOptions = {},
): Promise<Downloaded> {
  const res = await fetch(`${baseUrl(server)}/api/media/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: opts.signal,
  });
  if (res.status !== 200) throw await errorFrom(res);
  const total = Number(res.headers.get("content-length") ?? NaN);
  const etag = (res.headers.get("etag") ?? "").replace(/^W\//, "").replace(/"/g, "");
  const name = dispositionName(res.headers.get("content-disposition"));
  const mime = res.headers.get("content-type") ?? "application/octet-stream";
  const hash = createHash("sha256");
  let done = 0;
  opts.onProgress?.({ done, total: Number.isFinite(total) ? total : null });
  const path = to instanceof WritableStream ? null : typeof to === "function" ? to(name) : to;
  const part = path === null ? null : `${path}.part`;
  const fh = part === null ? null : await open(part, "w", 0o644);
  const writer = to instanceof WritableStream ? to.getWriter() : null;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      if (fh) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      } else await writer!.write(chunk);
      done += chunk.byteLength;
      opts.onProgress?.({ done, total: Number.isFinite(total) ? total : null });
    }
    const sha256 = hash.digest("hex");
    if (Number.isFinite(total) && done !== total) throw new NatterError("unavailable", `download ended after ${done} of ${total} bytes`, 1000);
    if (/^[0-9a-f]{64}$/.test(etag) && etag !== sha256) throw new NatterError("internal", `downloaded bytes do not match the server's SHA-256 (${etag})`);
    if (fh) {
      await fh.close();
      await rename(part!, path!);
    } else await writer!.close();
    return { path, size: done, sha256, mime, name };
  } catch (e) {
    await fh?.close().catch(() => {});
    if (part) await rm(part, { force: true });
    writer?.releaseLock();
    throw e;
  }
}

/** The message type for a sniffed MIME type: image, video, audio, else file. */
export function messageTypeFor(mime: string): Exclude<MessageType, "text"> {
  const top = mime.split("/")[0];
  return top === "image" || top === "video" || top === "audio" ? top : "file";
}
