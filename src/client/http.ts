// The HTTP side of the protocol: login, and any op as POST /api/OP. Used by
// one-shot commands that need no live connection. Errors are NatterErrors;
// a server that cannot be reached throws fetch's own error.
import { NatterError, type LoginResult, type OpName, type OpParams, type OpResults, type Privacy, type WireError } from "../protocol/index.ts";
import { deviceOps, type DeviceOps } from "./devices.ts";
import { ServerRotation } from "./servers.ts";

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
    if ((e as Error)?.name === "TimeoutError") throw new NoAnswer("unavailable", `no answer from ${url} within ${timeoutMs} ms`);
    throw e;
  }
}

const NEVER_REACHED = new Set(["ECONNREFUSED", "ConnectionRefused", "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "DNSException", "EHOSTUNREACH", "ENETUNREACH", "FailedToOpenSocket"]);

/**
 * True when a request surely never reached a server (refused, unknown host,
 * no route, TLS failure) or the server refused it with `unavailable`
 * (changing nothing): trying it on another node cannot do it twice.
 */
export function triedNowhere(e: unknown): boolean {
  if (e instanceof NatterError) return e.code === "unavailable" && !(e instanceof NoAnswer);
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === "string" ? err.code : "";
  return NEVER_REACHED.has(code) || /^(EPROTO|ERR_TLS_|ERR_SSL_)|CERT/.test(code) || /Unable to connect|TLS handshake failed/i.test(String(err?.message ?? ""));
}

/** A request that got no answer in time: it may have been done, so it is not tried elsewhere. */
export class NoAnswer extends NatterError {}

/**
 * Runs `f` on the rotation's current server; while it fails in a way that
 * did nothing (`triedNowhere`), on each next server once. Throws the last error.
 */
export async function onSomeServer<T>(servers: ServerRotation, f: (server: string) => Promise<T>): Promise<T> {
  for (let left = servers.size - 1; ; left--) {
    try {
      return await f(servers.current);
    } catch (e) {
      if (left <= 0 || !triedNowhere(e)) throw e;
      servers.advance();
    }
  }
}

/** Exchanges a one-time login code for a device token, at the first of `servers` that answers. */
export async function login(servers: string | readonly string[], code: string, device: string): Promise<LoginResult> {
  return onSomeServer(new ServerRotation(servers), async (server) => {
    const res = await fetchWithin(
      baseUrl(server) + "/api/login",
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, device }) },
      HTTP_TIMEOUT_MS,
    );
    return (await parseReply(res)) as unknown as LoginResult;
  });
}

/** Calls ops over HTTP with a device token; with several servers, moves on as `onSomeServer` says. */
export class HttpApi {
  private readonly servers: ServerRotation;
  /** This user's devices: link another, list, revoke. */
  readonly devices: DeviceOps = deviceOps((op, params) => this.call(op, params));
  constructor(
    servers: string | readonly string[],
    private readonly token: string,
    private readonly timeoutMs: number = HTTP_TIMEOUT_MS,
  ) {
    this.servers = new ServerRotation(servers);
  }

  /** The server in use (the last one that answered, or the first to try). */
  get server(): string {
    return this.servers.current;
  }

  /** Runs `f` with a server URL, moving on to the next server as `call` does (uploads, downloads). */
  onServer<T>(f: (server: string) => Promise<T>): Promise<T> {
    return onSomeServer(this.servers, f);
  }

  /** POST /api/OP; resolves with the result, rejects with NatterError. */
  call<K extends OpName>(op: K, params: OpParams[K]): Promise<OpResults[K]> {
    return this.onServer((server) => this.callOn(server, op, params));
  }

  /** This user's privacy settings: who finds them by phone, who may add them to groups. */
  async getPrivacy(): Promise<Privacy> {
    return (await this.call("getPrivacy", {})).privacy;
  }

  /** Changes the settings given (at least one); resolves with all of them. */
  async setPrivacy(p: OpParams["setPrivacy"]): Promise<Privacy> {
    return (await this.call("setPrivacy", p)).privacy;
  }

  private async callOn<K extends OpName>(server: string, op: K, params: OpParams[K]): Promise<OpResults[K]> {
    const res = await fetchWithin(
      `${server}/api/${op}`,
      { method: "POST", headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" }, body: JSON.stringify(params) },
      this.timeoutMs,
    );
    const body = await parseReply(res);
    delete body.ok;
    return body as unknown as OpResults[K];
  }
}
