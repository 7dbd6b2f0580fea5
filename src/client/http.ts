// The HTTP side of the protocol: login, and any op as POST /api/OP. Used by
// one-shot commands that need no live connection. Errors are NatterErrors;
// a server that cannot be reached throws fetch's own error.
import { NatterError, type LoginResult, type OpName, type OpParams, type OpResults, type WireError } from "../protocol/index.ts";
import { deviceOps, type DeviceOps } from "./devices.ts";

/** Normalises a server base URL (no trailing slash); throws bad_request if it is not http(s). */
export function baseUrl(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new NatterError("bad_request", `not a server URL: ${server}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new NatterError("bad_request", `server URL must be http(s): ${server}`);
  return u.origin + u.pathname.replace(/\/+$/, "");
}

/** The websocket URL for a server base URL and token. */
export function wsUrl(server: string, token: string): string {
  return baseUrl(server).replace(/^http/, "ws") + "/ws?token=" + encodeURIComponent(token);
}

async function parseReply(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: reported below by status
  }
  if (res.ok && body && typeof body === "object") return body as Record<string, unknown>;
  const err = (body as { error?: WireError } | null)?.error;
  if (err && typeof err.code === "string") throw NatterError.fromWire(err);
  const retry = Number(res.headers.get("retry-after"));
  const code = res.status === 401 ? "unauthorized" : res.status === 429 ? "rate_limited" : res.status === 503 ? "unavailable" : res.status === 404 ? "not_found" : "internal";
  throw new NatterError(code, `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`, retry > 0 ? retry * 1000 : undefined);
}

/** Default limit for one HTTP call. */
export const HTTP_TIMEOUT_MS = 30_000;

/** fetch with a time limit; a server that does not answer in time is `unavailable`. */
async function fetchWithin(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    if ((e as Error)?.name === "TimeoutError") throw new NatterError("unavailable", `no answer from ${url} within ${timeoutMs} ms`);
    throw e;
  }
}

/** Exchanges a one-time login code for a device token. */
export async function login(server: string, code: string, device: string): Promise<LoginResult> {
  const res = await fetchWithin(
    baseUrl(server) + "/api/login",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, device }) },
    HTTP_TIMEOUT_MS,
  );
  return (await parseReply(res)) as unknown as LoginResult;
}

/** Calls ops over HTTP with a device token. */
export class HttpApi {
  readonly server: string;
  /** This user's devices: link another, list, revoke. */
  readonly devices: DeviceOps = deviceOps((op, params) => this.call(op, params));
  constructor(
    server: string,
    private readonly token: string,
    private readonly timeoutMs: number = HTTP_TIMEOUT_MS,
  ) {
    this.server = baseUrl(server);
  }

  /** POST /api/OP; resolves with the result, rejects with NatterError. */
  async call<K extends OpName>(op: K, params: OpParams[K]): Promise<OpResults[K]> {
    const res = await fetchWithin(
      `${this.server}/api/${op}`,
      { method: "POST", headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" }, body: JSON.stringify(params) },
      this.timeoutMs,
    );
    const body = await parseReply(res);
    delete body.ok;
    return body as unknown as OpResults[K];
  }
}
