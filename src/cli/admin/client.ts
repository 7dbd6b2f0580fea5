// The admin CLI's HTTP client: server URL and admin token from flags, env, or the data dir.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NatterError, type WireError } from "../../protocol/index.ts";
import { CliError, EXIT } from "../run.ts";

export interface AdminOptions {
  server?: string;
  data?: string;
  token?: string;
  json?: boolean;
}

export interface AdminClient {
  /** The server's base URL, as resolved. */
  readonly server: string;
  call<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Resolves `--server`/NATTER_SERVER and the admin token (`--token`, NATTER_ADMIN_TOKEN, DATA/admin.token). */
export function adminClient(o: AdminOptions, env = process.env): AdminClient {
  const server = (o.server ?? env.NATTER_SERVER ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  let token = o.token ?? env.NATTER_ADMIN_TOKEN;
  if (!token) {
    const data = o.data ?? env.NATTER_DATA ?? "./data";
    const p = join(data, "admin.token");
    if (!existsSync(p)) throw new CliError(`no admin token: pass --data DIR (holding admin.token) or set NATTER_ADMIN_TOKEN`, EXIT.auth);
    token = readFileSync(p, "utf8").trim();
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
      if (!res.ok) throw NatterError.fromWire(parsed.error as WireError);
      return parsed;
    },
  };
}
