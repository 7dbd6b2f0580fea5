// The shared storage suite against libSQL through @libsql/client on a local file: URL.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LibsqlStore } from "./libsql/libsql-store.ts";
import { MIGRATIONS } from "./migrations.ts";
import { storeSuite } from "./store-suite.ts";

storeSuite("libSQL (file:)", async (dir) => LibsqlStore.open({ url: "file:" + join(dir, "natter.db") }));

test("several processes opening one new database at once apply each migration once (the nodes of a cluster starting together)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-libsql-race-"));
  try {
    const url = "file:" + join(dir, "natter.db");
    const code = `const { LibsqlStore } = await import(${JSON.stringify(join(import.meta.dir, "libsql/libsql-store.ts"))}); await (await LibsqlStore.open({ url: ${JSON.stringify(url)} })).close();`;
    const procs = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, "-e", code], { stderr: "pipe" }));
    const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })));
    expect(results).toEqual(results.map(() => ({ code: 0, err: "" })));
    const db = new Database(join(dir, "natter.db"), { readonly: true });
    expect((db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
