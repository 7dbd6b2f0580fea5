// HTTP helpers of the edge: errors as protocol error bodies and responses,
// bearer tokens, JSON bodies read and validated against a schema.

import { randomBytes } from "node:crypto";
import { NatterError, validate, type ParamsOf, type Schema, type WireError } from "../../protocol/index.ts";
import { asDiskFull, DiskFull } from "../disk-full.ts";
import type { Logger } from "../log.ts";

/** A fresh request id (64 random bits, hex): names one error in a response and in the log. */
export const newRequestId = () => randomBytes(8).toString("hex");

/** `internal`: what a client sees of an unexpected failure; only its request id leads to the logged details. */
export class InternalError extends NatterError {
  constructor(readonly requestId: string) {
    super("internal", "internal server error");
  }
  override toWire(): WireError {
    return { ...super.toWire(), request_id: this.requestId };
  }
}

/**
 * Converts any thrown value to a NatterError: a full disk is a DiskFull;
 * unexpected ones are logged (stack and request id, never in a reply) and
 * become an InternalError carrying that request id.
 */
export function toNatterError(e: unknown, log: Logger, where: string): NatterError {
  if (e instanceof NatterError) return e;
  const full = asDiskFull(e);
  if (full instanceof DiskFull) return full;
  const requestId = newRequestId();
  log.error("unexpected error", { where, request_id: requestId, error: String((e as Error)?.stack ?? e) });
  return new InternalError(requestId);
}

export function errorBody(e: NatterError, requestId?: string): { ok: false; error: WireError } {
  const error = e.toWire();
  if (requestId !== undefined) error.request_id = requestId;
  return { ok: false, error };
}

/**
 * A JSON HTTP response for an error, with Retry-After where the code carries
 * one, and a request id (the logged one for `internal`, else fresh) in the
 * body's `error.request_id` and the X-Request-Id header.
 */
export function errorResponse(e: NatterError, requestId?: string): Response {
  const id = (e instanceof InternalError ? e.requestId : requestId) ?? newRequestId();
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": id };
  if (e.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
  return new Response(JSON.stringify(errorBody(e, id)), { status: e.status, headers });
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
