// Exit codes, in one place: 0 ok, 1 failure reported by the server or a
// runtime error, 2 usage error, 3 cannot reach the server, 4 not logged in / unauthorized,
// 73 the data dir's disk is too full to start on (serve), 75 the data dir is in use by a running server (serve, restore).
import { NatterError } from "../protocol/index.ts";

export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, auth: 4, diskFull: 73, inUse: 75 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
  }
}

/** Runs a command body; prints errors as `natter: message` (or JSON with --json) and exits with a meaningful code. */
export async function runCommand(json: boolean | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const { code, message, exit } = describe(e);
    if (json) process.stderr.write(JSON.stringify({ ok: false, error: { code, message } }) + "\n");
    else process.stderr.write(`natter: ${message}${code ? ` (${code})` : ""}\n`);
    process.exit(exit);
  }
}

function describe(e: unknown): { code: string | null; message: string; exit: number } {
  if (e instanceof CliError) return { code: null, message: e.message, exit: e.exitCode };
  if (e instanceof NatterError) {
    const exit = e.code === "unauthorized" ? EXIT.auth : EXIT.failure;
    return { code: e.code, message: e.message, exit };
  }
  const why = unreachable(e);
  if (why) return { code: null, message: why, exit: EXIT.unreachable };
  const err = e as { message?: string };
  return { code: null, message: String(err?.message ?? e), exit: EXIT.failure };
}

const REFUSED = new Set(["ECONNREFUSED", "ConnectionRefused"]);
const NO_HOST = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "DNSException"]);
const NO_ROUTE = new Set(["EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNRESET", "ConnectionClosed", "FailedToOpenSocket"]);
const TLS = /^(EPROTO|ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * "cannot reach the server ..." when `e` is a failure to connect at all
 * (refused, unknown host, no route, TLS handshake or certificate), else null.
 * These exit 3; an answer the server gave never does.
 */
export function unreachable(e: unknown): string | null {
  const err = e as { code?: unknown; message?: unknown; path?: unknown; hostname?: unknown } | null;
  if (!err || typeof err !== "object" || e instanceof NatterError || e instanceof CliError) return null;
  const code = typeof err.code === "string" ? err.code : "";
  const message = String(err.message ?? "");
  let where = "";
  try {
    where = ` at ${new URL(String(err.path)).origin}`;
  } catch {}
  const host = typeof err.hostname === "string" ? err.hostname : "";
  if (REFUSED.has(code) || /Unable to connect|ConnectionRefused/i.test(message)) return `cannot reach the server${where}: connection refused (is it running?)`;
  if (NO_HOST.has(code)) return `cannot reach the server${where}: unknown host${host ? ` ${host}` : ""} (${code})`;
  if (TLS.test(code) || /TLS handshake failed/i.test(message)) return `cannot reach the server${where}: TLS failed: ${message} (${code || "tls"})`;
  if (NO_ROUTE.has(code)) return `cannot reach the server${where}: ${message} (${code})`;
  return null;
}
