// What every client command shares: the --profile/--server/--json options,
// finding the saved session, output helpers. Commands get plain typed options.
import { Option, type Command } from "commander";
import { DEFAULT_PROFILE, loadCredentials, type Credentials } from "../../client/index.ts";
import { NatterError } from "../../protocol/index.ts";
import { CliError, EXIT, runCommand } from "../run.ts";
import { serverUrls } from "../server-url.ts";

export interface SessionOptions {
  profile: string;
  /** Overrides the saved server URLs (for this run only). */
  servers?: string[];
  json: boolean;
}

/** Where command output goes; tests pass their own. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** All of stdin as text. */
  stdin(): Promise<string>;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: () => Bun.stdin.text(),
};

/** Adds --profile, --server and (if the command prints data) --json. */
export function sessionOptions(cmd: Command, { json = true } = {}): Command {
  cmd.addOption(new Option("--profile <name>", "credentials profile").env("NATTER_PROFILE").default(DEFAULT_PROFILE));
  cmd.addOption(new Option("--server <url>", "server URL, or several nodes' URLs comma-separated (overrides the saved ones)").env("NATTER_SERVER"));
  if (json) cmd.option("--json", "print JSON instead of text", false);
  return cmd;
}

/** Reads the session options commander parsed; a --server that is not a server URL is a usage error. */
export function parseSession(raw: Record<string, unknown>): SessionOptions {
  return {
    profile: typeof raw.profile === "string" && raw.profile ? raw.profile : DEFAULT_PROFILE,
    servers: typeof raw.server === "string" && raw.server ? serverUrls(raw.server) : undefined,
    json: raw.json === true,
  };
}

/**
 * The flags a printed command needs to act on the same session: ` --profile
 * NAME` unless it is the default, and ` --server URL` when one was given.
 * Every hint that prints a command ends with these, so it works as printed.
 */
export function sessionFlags(s: { profile: string; servers?: string[] }): string {
  return (s.profile === DEFAULT_PROFILE ? "" : ` --profile ${s.profile}`) + (s.servers ? ` --server ${s.servers.join(",")}` : "");
}

/** `natter login --server URL[,URL...] --code CODE [--profile NAME]`, with the servers filled in when known. */
export function loginHint(profile: string, servers?: string[]): string {
  return `natter login --server ${servers?.join(",") ?? "URL"} --code CODE${sessionFlags({ profile })}`;
}

/** The saved credentials (with --server applied); throws CliError exit 4 if not logged in. */
export function requireSession(s: SessionOptions): Credentials {
  let c: Credentials | null;
  try {
    c = loadCredentials(s.profile);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.auth);
  }
  if (!c) throw new CliError(`not logged in${s.profile === DEFAULT_PROFILE ? "" : ` (profile ${s.profile})`}; run: ${loginHint(s.profile, s.servers)}`, EXIT.auth);
  // --server overrides the saved servers and their learned nodes, for this run.
  return s.servers ? { ...c, server: s.servers[0]!, servers: s.servers, nodes: undefined } : c;
}

/**
 * runCommand, plus a hint to log in again when the server refuses the token
 * (exit 4). Given the raw options (not just --json), the hint names the
 * profile and server, so it works as printed.
 */
export async function runClientCommand(opts: boolean | Record<string, unknown>, body: () => Promise<void>): Promise<void> {
  const raw = typeof opts === "boolean" ? { json: opts } : opts;
  await runCommand(raw.json === true, async () => {
    try {
      await body();
    } catch (e) {
      if (e instanceof NatterError && e.code === "unauthorized" && !/natter login/.test(e.message))
        throw new NatterError("unauthorized", `${e.message}; log in again: ${reloginHint(raw)}`);
      throw e;
    }
  });
}

function reloginHint(raw: Record<string, unknown>): string {
  const profile = typeof raw.profile === "string" && raw.profile ? raw.profile : DEFAULT_PROFILE;
  let servers: string[] | undefined;
  try {
    servers = parseSession(raw).servers ?? loadCredentials(profile)?.servers;
  } catch {}
  return loginHint(profile, servers);
}

/** A positive integer option, or a usage error. */
export function intOption(name: string, v: unknown, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be an integer >= ${min}`, EXIT.usage);
  return n;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time as YYYY-MM-DD HH:MM:SS. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One line, at most `max` characters. */
export function preview(text: string, max = 40): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n").join("");
}
