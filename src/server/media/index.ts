// The media module: blob storage behind BlobStore (local disk), the media
// service (uploads, access, orphan sweep) and its HTTP routes. See docs/media.md.
import { join } from "node:path";
import type { ServerConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { MediaStore } from "../store/types.ts";
import { LocalBlobStore } from "./blob-store.ts";
import { MediaService } from "./media-service.ts";

export { LocalBlobStore, type BlobStore, type TempBlob } from "./blob-store.ts";
export { MediaService, newMediaId, type MediaLimits, type UploadInput } from "./media-service.ts";
export { mediaRoutes } from "./routes.ts";
export type { UploadedMedia } from "./types.ts";

/** The media service for a data directory: blobs under DATA/media, limits from the config. */
export function createMedia(config: ServerConfig, dataDir: string, store: MediaStore, metrics: Metrics, log: Logger): MediaService {
  return new MediaService(store, new LocalBlobStore(join(dataDir, "media")), metrics, log, {
    maxUploadBytes: config.maxUploadBytes,
    quotaBytes: config.mediaQuotaBytes,
    orphanAgeMs: config.mediaOrphanAgeMs,
    sweepIntervalMs: config.mediaSweepIntervalMs,
    stallMs: config.uploadStallMs,
  });
}

/**
 * Bun's whole-server body limit. It is effectively off: the media route enforces the upload cap
 * itself (so an oversize upload gets the protocol's JSON too_large), and refuseOversizeBody
 * bounds every other route.
 */
export function requestBodyLimit(config: ServerConfig): number {
  return Math.max(config.maxFrameBytes, Number.MAX_SAFE_INTEGER);
}

/**
 * With Bun's body limit off for uploads, every other route must still not buffer more than
 * maxFrameBytes: a body declared larger gets 413 too_large at once, and a body with no
 * Content-Length (chunked) gets 411, since its size could not be bounded before reading.
 */
export function refuseOversizeBody(request: Request, maxFrameBytes: number): Response | undefined {
  if (new URL(request.url).pathname === "/api/media") return undefined;
  const cl = request.headers.get("content-length");
  const chunked = cl === null && /chunked/i.test(request.headers.get("transfer-encoding") ?? "");
  if (!chunked && !(Number(cl ?? 0) > maxFrameBytes)) return undefined;
  const [status, code, message] = chunked
    ? [411, "bad_request", "send a Content-Length (chunked bodies are accepted only by /api/media)"]
    : [413, "too_large", `request body is larger than ${maxFrameBytes} bytes`];
  return new Response(JSON.stringify({ ok: false, error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", connection: "close" },
  });
}
