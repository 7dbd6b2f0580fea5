// Headers every HTTP response carries (security headers), and CORS, which is
// off unless --cors-origin names the origins a browser app may call from.

/** Set on every HTTP response. */
const ALWAYS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};
/** Set on every response but media downloads (JSON and text only: nothing to run, embed or load). */
const CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** True for the media routes, whose bodies keep their own type and Content-Disposition (see docs/media.md). */
const isMedia = (path: string) => path === "/api/media" || path.startsWith("/api/media/");

/** The allowed origins of `--cors-origin` (comma-separated; "*" any); empty = CORS off. */
export function parseCorsOrigins(s: string): Set<string> {
  return new Set(
    s
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter(Boolean),
  );
}

/** The headers a response to `req` gets: security headers, plus CORS when its Origin is allowed. */
export function responseHeaders(req: Request, cors: ReadonlySet<string>): Record<string, string> {
  const path = new URL(req.url).pathname;
  const h: Record<string, string> = { ...ALWAYS };
  if (!isMedia(path)) h["content-security-policy"] = CSP;
  const origin = req.headers.get("origin");
  if (origin && cors.size > 0 && (cors.has("*") || cors.has(origin))) {
    h["access-control-allow-origin"] = cors.has("*") ? "*" : origin;
    h["access-control-expose-headers"] = "retry-after, x-request-id, content-disposition, content-range, etag";
    h["vary"] = "Origin";
  }
  return h;
}

/** The answer to a CORS preflight (OPTIONS with Access-Control-Request-Method) from an allowed origin; null otherwise. */
export function corsPreflight(req: Request, cors: ReadonlySet<string>): Response | null {
  if (req.method !== "OPTIONS" || !req.headers.get("access-control-request-method")) return null;
  const h = responseHeaders(req, cors);
  if (!h["access-control-allow-origin"]) return null;
  return new Response(null, {
    status: 204,
    headers: {
      ...h,
      "access-control-allow-methods": "GET, HEAD, POST, DELETE",
      "access-control-allow-headers": "authorization, content-type, range, if-none-match, if-range, x-filename",
      "access-control-max-age": "600",
    },
  });
}
