// Media for the TUI: metadata for labels (GET /api/media/ID/info), uploads
// for /file and downloads for /save, all with the device token. The client
// library does the streaming and checking; this binds it to one login so the
// controller (and a fake in tests) needs no server URL or token.
import { baseUrl, downloadMedia, onSomeServer, ServerRotation, uploadMedia, type Progress } from "../client/index.ts";
import { NatterError, type MediaInfo, type WireError } from "../protocol/index.ts";

export type MediaInfoFn = (id: string) => Promise<MediaInfo>;

export interface TransferCallbacks {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** What the TUI does with media; rejects with NatterError (not_found, too_large, ...). */
export interface MediaApi {
  info: MediaInfoFn;
  /** Streams a local file to the server; resolves with the stored media. */
  upload(path: string, o?: TransferCallbacks): Promise<MediaInfo>;
  /**
   * Downloads a media id to the path `choose` returns for the server's file name (checked
   * against its SHA-256; a failed download leaves no file). `choose` may throw to refuse.
   */
  download(id: string, choose: (offeredName: string) => string, o?: TransferCallbacks): Promise<{ path: string; size: number }>;
}

/** A metadata fetcher bound to one server and token; rejects with NatterError. */
export function mediaInfoFetcher(server: string, token: string, timeoutMs = 10_000): MediaInfoFn {
  const base = baseUrl(server);
  return async (id) => {
    const res = await fetch(`${base}/api/media/${encodeURIComponent(id)}/info`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => null)) as { media?: MediaInfo; error?: WireError } | null;
    if (res.ok && body?.media) return body.media;
    if (body?.error) throw NatterError.fromWire(body.error);
    throw new NatterError(res.status === 404 ? "not_found" : "internal", `HTTP ${res.status}`);
  };
}

/** The real MediaApi for one login; with several servers, a call moves to the next one that can take it (onSomeServer). */
export function mediaApi(servers: string | readonly string[], token: string): MediaApi {
  const rotation = new ServerRotation(servers);
  const on = <T,>(f: (server: string) => Promise<T>) => onSomeServer(rotation, f);
  return {
    info: (id) => on((server) => mediaInfoFetcher(server, token)(id)),
    upload: (path, o = {}) => on((server) => uploadMedia(server, token, path, o)),
    download: async (id, choose, o = {}) => {
      const d = await on((server) => downloadMedia(server, token, id, choose, o));
      return { path: d.path ?? "", size: d.size };
    },
  };
}
