// The shared storage suite against libSQL over the network protocol: the same
// LibsqlStore with an http:// URL and an auth token, through @libsql/client's
// Hrana-over-HTTP client, served by a test server on loopback.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { LibsqlStore } from "./libsql/libsql-store.ts";
import { startTestHranaServer, type TestHranaServer } from "../../../test/support/hrana-server.ts";
import { storeSuite } from "./store-suite.ts";

const TOKEN = "suite-token";
const servers = new Map<string, TestHranaServer>();
afterAll(() => servers.forEach((s) => s.stop()));

storeSuite("libSQL (http:// with auth token)", async (dir) => {
  let s = servers.get(dir);
  if (!s) servers.set(dir, (s = startTestHranaServer(join(dir, "remote.db"), { token: TOKEN })));
  return LibsqlStore.open({ url: s.url, authToken: TOKEN });
});

test("the http suite really went over HTTP, and a wrong token is refused", async () => {
  const total = [...servers.values()].reduce((n, s) => n + s.requests(), 0);
  expect(total).toBeGreaterThan(100);
  const s = [...servers.values()][0]!;
  await expect(LibsqlStore.open({ url: s.url, authToken: "wrong" })).rejects.toThrow();
});
