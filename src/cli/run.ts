// Exit codes, in one place: 0 ok, 1 failure reported by the server or a
// runtime error, 2 usage error, 3 cannot reach the server, 4 not logged in / unauthorized,
// 75 the data dir is in use by a running server (serve, restore).
import { NatterError } from "../protocol/index.ts";

export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, auth: 4, inUse: 75 } as const;

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
  const err = e as { code?: string; message?: string };
  if (err?.code === "ConnectionRefused" || err?.code === "ECONNREFUSED" || /Unable to connect|ConnectionRefused/i.test(String(err?.message)))
    return { code: null, message: `cannot reach the server: ${err.message}`, exit: EXIT.unreachable };
  return { code: null, message: String(err?.message ?? e), exit: EXIT.failure };
}
