// Media for clients (the TUI, `natter send --file`, `natter download`):
// streamed upload of a file with progress, streamed download to a file
// with progress and a SHA-256 check against the server's ETag. Neither holds
// a whole file in memory. Errors are NatterErrors (too_large, not_found, ...).
import { createHash } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { NatterError, type MediaInfo, type MessageType, type WireError } from "../protocol/index.ts";
import { baseUrl } from "./http.ts";

/** What the server answers for an upload: the protocol's MediaInfo. */
export type UploadedMedia = MediaInfo;

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

export interface MediaDownloadOptions extends TransferOptions {
  /**
   * Keep PATH.part when a download fails, and continue from it next time (Range + If-Range on
   * the SHA-256; the whole file is still checked, and a part that does not check out is
   * downloaded again from the start). Paths only.
   */
  resume?: boolean;
}

/**
 * Downloads a media id. `to` is a file path (written to PATH.part, checked against the server's
 * SHA-256 and length, then renamed), a function choosing the path from the offered name, or a
 * WritableStream. Without `resume` a failed download leaves no file. Throws NatterError
 * (not_found for anyone who may not read it).
 */
export async function downloadMedia(
  server: string,
  token: string,
  id: string,
  to: string | ((offeredName: string) => string) | WritableStream<Uint8Array>,
  opts: MediaDownloadOptions = {},
): Promise<Downloaded> {
  const url = `${baseUrl(server)}/api/media/${encodeURIComponent(id)}`;
  const auth = { authorization: `Bearer ${token}` };
  if (to instanceof WritableStream) {
    const res = await fetch(url, { headers: auth, signal: opts.signal });
    if (res.status !== 200) throw await errorFrom(res);
    const writer = to.getWriter();
    try {
      const r = await receive(res, (c) => writer.write(c), createHash("sha256"), 0, opts);
      await writer.close();
      return { path: null, ...r };
    } finally {
      writer.releaseLock();
    }
  }
  // With resume the path must be known before the request: the info route names the file.
  const info = opts.resume ? await mediaInfo(server, token, id) : null;
  let path = typeof to === "string" ? to : info ? to(info.name) : null;
  for (let attempt = 0; ; attempt++) {
    let from = 0;
    if (info && path && attempt === 0) {
      const have = await stat(`${path}.part`).then((st) => st.size, () => 0);
      if (have > 0 && have < info.size) from = have;
    }
    const headers: Record<string, string> = { ...auth };
    if (from > 0) Object.assign(headers, { range: `bytes=${from}-`, "if-range": `"${info!.sha256}"` });
    const res = await fetch(url, { headers, signal: opts.signal });
    if (res.status !== 200 && res.status !== 206) throw await errorFrom(res);
    if (res.status === 200) from = 0;
    path ??= (to as (offered: string) => string)(dispositionName(res.headers.get("content-disposition")));
    const part = `${path}.part`;
    const hash = createHash("sha256");
    if (from > 0) for await (const c of Bun.file(part).slice(0, from).stream()) hash.update(c);
    const fh = await open(part, from > 0 ? "r+" : "w", 0o644);
    let written = from;
    try {
      const r = await receive(
        res,
        async (c) => {
          let off = 0;
          while (off < c.length) off += (await fh.write(c, off, c.length - off, written + off)).bytesWritten;
          written += c.length;
        },
        hash,
        from,
        opts,
      );
      await fh.truncate(written);
      await fh.close();
      await rename(part, path);
      return { path, ...r };
    } catch (e) {
      await fh.close().catch(() => {});
      const corrupt = e instanceof NatterError && e.code === "internal";
      if (corrupt || !opts.resume) await rm(part, { force: true });
      if (corrupt && from > 0 && attempt === 0) continue; // the kept part was not this file: start over once
      throw e;
    }
  }
}

/** Streams a 200/206 body into `write`, hashing; checks length and the ETag's SHA-256. */
async function receive(
  res: Response,
  write: (c: Uint8Array) => Promise<void>,
  hash: ReturnType<typeof createHash>,
  from: number,
  opts: TransferOptions,
): Promise<Omit<Downloaded, "path">> {
  const length = Number(res.headers.get("content-length") ?? NaN);
  const total = Number.isFinite(length) ? from + length : null;
  const etag = (res.headers.get("etag") ?? "").replace(/^W\//, "").replace(/"/g, "");
  let done = from;
  opts.onProgress?.({ done, total });
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    await write(chunk);
    done += chunk.byteLength;
    opts.onProgress?.({ done, total });
  }
  const sha256 = hash.digest("hex");
  if (total !== null && done !== total) throw new NatterError("unavailable", `download ended after ${done} of ${total} bytes`, 1000);
  if (/^[0-9a-f]{64}$/.test(etag) && etag !== sha256) throw new NatterError("internal", `downloaded bytes do not match the server's SHA-256 (${etag})`);
  return {
    size: done,
    sha256,
    mime: res.headers.get("content-type") ?? "application/octet-stream",
    name: dispositionName(res.headers.get("content-disposition")),
  };
}

/** The message type for a sniffed MIME type: image, video, audio, else file. */
export function messageTypeFor(mime: string): Exclude<MessageType, "text"> {
  const top = mime.split("/")[0];
  return top === "image" || top === "video" || top === "audio" ? top : "file";
}
