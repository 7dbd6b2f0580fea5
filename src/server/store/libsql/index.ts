// The libSQL storage backend: `--store libsql://HOST` / `https://HOST` (a libSQL
// server or Turso; token from NATTER_STORE_AUTH_TOKEN) or `--store file:PATH`.
import { LibsqlStore, type LibsqlStoreOptions } from "./libsql-store.ts";

export { LibsqlStore, type LibsqlStoreOptions } from "./libsql-store.ts";

export class StoreUrlError extends Error {}

const SCHEMES = ["libsql:", "https:", "http:", "wss:", "ws:", "file:"];

/** Checks a --store URL: a scheme @libsql/client speaks, and a path for file:. */
export function checkStoreUrl(url: string): string {
  const scheme = /^[a-z]+:/i.exec(url)?.[0]?.toLowerCase();
  if (!scheme || !SCHEMES.includes(scheme))
    throw new StoreUrlError(`--store must be libsql://, https://, http://, ws(s):// or file:PATH (got ${JSON.stringify(url)})`);
  if (scheme === "file:" && url.length <= "file:".length) throw new StoreUrlError("--store file: needs a path, e.g. file:/var/lib/natter/natter.db");
  return url;
}

export async function openLibsqlStore(
  url: string,
  env: Record<string, string | undefined> = process.env,
  extra: Omit<LibsqlStoreOptions, "url" | "authToken"> = {},
): Promise<LibsqlStore> {
  return LibsqlStore.open({ url: checkStoreUrl(url), authToken: env.NATTER_STORE_AUTH_TOKEN || undefined, ...extra });
}
