// HTTP routes of the media module:
//   POST /api/media            raw body (streamed), X-Filename -> 201 {media}
//   GET|HEAD /api/media/ID     the bytes, with Range (206/416), ETag, Content-Disposition
//   GET /api/media/ID/info     {media} (same access rule)
// Anyone who may not read a media id gets 404, exactly as for an id that does not exist.

import { Elysia } from "elysia";
import { NatterError } from "../../protocol/index.ts";
import type { Caller } from "../domain/ports.ts";
import type { Metrics } from "../metrics.ts";
import { contentDisposition, decodeFilenameHeader } from "./filename.ts";
import { toUploaded, type MediaService } from "./media-service.ts";
import { parseRange } from "./range.ts";

const NOT_FOUND = () => new NatterError("not_found", "no such media");

/** What the media routes need from the HTTP edge (the server passes transport's Edge). */
export interface MediaEdge {
  /** The request's caller, authenticated and admitted (draining, rate limit); throws NatterError. */
  caller(req: Request): Promise<Caller>;
  /** Runs `fn` counted as in flight: shutdown waits for it. */
  track<T>(fn: () => Promise<T>): Promise<T>;
  /** The protocol error response for anything thrown (logged if unexpected, counted). */
  response(e: unknown, where: string): Response;
}

export function mediaRoutes(edge: MediaEdge, media: MediaService, metrics: Metrics) {
  const fail = (e: unknown, where: string, closeConnection: boolean): Response => {
    const res = edge.response(e, where);
    // The body may be unread: close instead of leaving the client sending into a dead request.
    if (closeConnection) res.headers.set("connection", "close");
    return res;
  };

  const upload = ({ request }: { request: Request }): Promise<Response> =>
    edge.track(async () => {
      try {
        const caller = await edge.caller(request);
        const cl = request.headers.get("content-length");
        const length = cl !== null && /^\d+$/.test(cl.trim()) ? Number(cl) : null;
        const info = await media.upload(caller.user, {
          body: request.body,
          length,
          filename: decodeFilenameHeader(request.headers.get("x-filename")),
        });
        return Response.json({ media: info }, { status: 201 });
      } catch (e) {
        return fail(e, "media.upload", true);
      }
    });

  const download = async (request: Request, id: string, head: boolean): Promise<Response> => {
    try {
      const caller = await edge.caller(request);
      const row = await media.readable(caller.user, id);
      const blob = row && (await media.blob(row));
      if (!row || !blob) throw NOT_FOUND();
      const etag = `"${row.sha256}"`;
      const kind = /^(image|video|audio)\//.test(row.mime) ? "inline" : "attachment";
      const headers = new Headers({
        "content-type": row.mime,
        etag,
        "accept-ranges": "bytes",
        "content-disposition": contentDisposition(kind, row.name),
        "cache-control": "private, max-age=86400",
        "last-modified": new Date(row.created_at).toUTCString(),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
      });
      const inm = request.headers.get("if-none-match");
      if (inm !== null && (inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag))) {
        metrics.mediaDownloads.inc({ status: "304" });
        return new Response(null, { status: 304, headers });
      }
      // If-Range with another validator means "the file changed": send it whole.
      const ifRange = request.headers.get("if-range");
      const range = parseRange(ifRange !== null && ifRange.trim() !== etag ? null : request.headers.get("range"), row.size);
      if (range.kind === "unsatisfiable") {
        metrics.mediaDownloads.inc({ status: "416" });
        headers.set("content-range", `bytes */${row.size}`);
        headers.set("content-type", "application/json");
        headers.delete("content-disposition");
        const body = { ok: false, error: { code: "bad_request", message: `range not satisfiable: the file has ${row.size} bytes` } };
        return new Response(head ? null : JSON.stringify(body), { status: 416, headers });
      }
      let status = 200;
      let body: Blob = blob;
      if (range.kind === "range") {
        status = 206;
        body = blob.slice(range.start, range.end + 1);
        headers.set("content-range", `bytes ${range.start}-${range.end}/${row.size}`);
      }
      headers.set("content-length", String(body.size));
      metrics.mediaDownloads.inc({ status: String(status) });
      if (head) return new Response(null, { status, headers });
      metrics.mediaDownloadBytes.inc({}, body.size);
      return new Response(body, { status, headers });
    } catch (e) {
      return fail(e, "media.download", false);
    }
  };

  const info = async (request: Request, id: string): Promise<Response> => {
    try {
      const caller = await edge.caller(request);
      const row = await media.readable(caller.user, id);
      if (!row) throw NOT_FOUND();
      return Response.json({ media: toUploaded(row) });
    } catch (e) {
      return fail(e, "media.info", false);
    }
  };

  return new Elysia()
    .post("/api/media", upload, { parse: "none" })
    .get("/api/media/:id", ({ request, params }) => download(request, params.id, false))
    .head("/api/media/:id", ({ request, params }) => download(request, params.id, true))
    .get("/api/media/:id/info", ({ request, params }) => info(request, params.id));
}
