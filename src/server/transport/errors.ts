// HTTP helpers of the edge: errors as protocol error bodies and responses,
// bearer tokens, JSON bodies read and validated against a schema.

import { NatterError, validate, type ParamsOf, type Schema, type WireError } from "../../protocol/index.ts";
import { asDiskFull, DiskFull } from "../disk-full.ts";
import type { Logger } from "../log.ts";

/** Converts any thrown value to a NatterError: a full disk is a DiskFull; unexpected ones are logged and become `internal`. */
export function toNatterError(e: unknown, log: Logger, where: string): NatterError {
  if (e instanceof NatterError) return e;
  const full = asDiskFull(e);
  if (full instanceof DiskFull) return full;
  log.error("unexpected error", { where, error: String((e as Error)?.stack ?? e) });
  return new NatterError("internal", "internal server error");
}

export function errorBody(e: NatterError): { ok: false; error: WireError } {
  return { ok: false, error: e.toWire() };
}

/** A JSON HTTP response for an error, with Retry-After where the code carries one. */
export function errorResponse(e: NatterError): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (e.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
  return new Response(JSON.stringify(errorBody(e)), { status: e.status, headers });
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Bearer token from the Authorization header, or null. */
export function bearer(req: Request): string | null {
  const h = req.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1]! : null;
}

/** Parses a JSON object body; empty body is {}; anything else is bad_request. */
export async function readJson(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new NatterError("bad_request", "body is not valid JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new NatterError("bad_request", "body must be a JSON object");
  return v as Record<string, unknown>;
}

/** Reads a JSON object body and validates it against the route's schema; bad_request otherwise. */
export async function readBody<S extends Schema>(req: Request, schema: S): Promise<ParamsOf<S>> {
  const v = validate(schema, await readJson(req));
  if (!v.ok) throw new NatterError("bad_request", v.message);
  return v.value;
}
