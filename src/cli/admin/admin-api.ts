// The admin CLI's HTTP client: server URL and admin token from flags, env, or the data dir.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NatterError, type WireError } from "../../protocol/index.ts";
import { CliError, EXIT } from "../run.ts";
import { serverUrl } from "../server-url.ts";

export interface AdminOptions {
  server?: string;
  data?: string;
  token?: string;
  /** A file holding the admin token (kept out of `ps`, unlike --token). */
  tokenFile?: string;
  json?: boolean;
}

export interface AdminClient {
  /** The server's base URL, as resolved. */
  readonly server: string;
  call<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * Resolves `--server`/NATTER_SERVER and the admin token (`--token`,
 * `--token-file`, NATTER_ADMIN_TOKEN, DATA/admin.token). No token at all is a CliError
 * (exit 4) before any call; a token the server refuses is one too, naming
 * where the token came from.
 */
export function adminClient(o: AdminOptions, env = process.env): AdminClient {
  const server = serverUrl(o.server || env.NATTER_SERVER || "http://127.0.0.1:8080");
  let token = o.token || env.NATTER_ADMIN_TOKEN;
  let from = o.token ? "--token" : "NATTER_ADMIN_TOKEN";
  if (!o.token && o.tokenFile) {
    if (!existsSync(o.tokenFile)) throw new CliError(`--token-file ${o.tokenFile}: no such file`, EXIT.auth);
    token = readFileSync(o.tokenFile, "utf8").trim();
    from = o.tokenFile;
  }
  if (!token) {
    const data = o.data ?? env.NATTER_DATA ?? "./data";
    const p = join(data, "admin.token");
    if (!existsSync(p)) throw new CliError(`no admin token: pass --data DIR (holding admin.token) or set NATTER_ADMIN_TOKEN`, EXIT.auth);
    token = readFileSync(p, "utf8").trim();
    from = p;
  }
  return {
    server,
    async call(method, path, body) {
      const res = await fetch(server + path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(`unexpected reply from ${server} (HTTP ${res.status})`);
      }
      if (res.status === 401)
        throw new CliError(`the admin token from ${from} was not accepted by ${server} (is it that server's token? it changes when a data dir is restored)`, EXIT.auth);
      if (!res.ok) throw NatterError.fromWire(parsed.error as WireError);
      return parsed;
    },
  };
}
