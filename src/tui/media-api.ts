// Media metadata for labelling media messages (name and size), over
// GET /api/media/ID/info with the device token.
import { baseUrl } from "../client/index.ts";
import { NatterError, type MediaInfo, type WireError } from "../protocol/index.ts";

export type MediaInfoFn = (id: string) => Promise<MediaInfo>;

/** A fetcher bound to one server and token; rejects with NatterError. */
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
