// The server URL as a user types it (--server, NATTER_SERVER), for every
// command: client commands, login and admin. Same rule as `natter chat`'s
// login screen: http(s)://host[:port][/path]; a bare host[:port] means http://.
import { CliError, EXIT } from "./run.ts";

/**
 * The base URL (origin + path, no trailing slash) for `raw`. Throws CliError
 * with exit 2 (usage) for anything that is not an http(s) server URL, so a
 * typo is never reported as a server's refusal.
 */
export function serverUrl(raw: string): string {
  const s = raw.trim();
  const hint = "the server URL (--server or NATTER_SERVER) must look like http://127.0.0.1:8080 or https://chat.example.org";
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1];
  if (scheme !== undefined && !/^https?$/i.test(scheme)) throw new CliError(`${hint} (got ${JSON.stringify(raw)}: ${scheme}:// is not http or https)`, EXIT.usage);
  let u: URL;
  try {
    u = new URL(scheme !== undefined ? s : `http://${s}`);
  } catch {
    throw new CliError(`${hint} (got ${JSON.stringify(raw)})`, EXIT.usage);
  }
  if (!u.hostname || u.search || u.hash || u.username || u.password) throw new CliError(`${hint} (got ${JSON.stringify(raw)})`, EXIT.usage);
  return u.origin + u.pathname.replace(/\/+$/, "");
}

/**
 * Several server URLs, comma-separated (`--server URL1,URL2`): each as
 * `serverUrl` says, repeats dropped, in the order given. An empty entry is
 * a usage error.
 */
export function serverUrls(raw: string): string[] {
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw new CliError(`the server list (--server or NATTER_SERVER) has an empty entry: ${JSON.stringify(raw)}; separate URLs with one comma`, EXIT.usage);
  return [...new Set(parts.map(serverUrl))];
}
