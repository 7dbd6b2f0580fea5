// HTTP API bodies are bounded by --max-frame-bytes and must carry a
// Content-Length (uploads to /api/media excepted).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { makeUser, startServer, type TestServer, type TestUser } from "../harness.ts";

const LIMIT = 4096;
let server: TestServer;
let u: TestUser;

beforeAll(async () => {
  server = await startServer({ args: ["--max-frame-bytes", String(LIMIT)] });
  u = await makeUser(server, "Body");
});
afterAll(() => server.cleanup());

/** A valid JSON object body of exactly `n` bytes. */
const bodyOf = (n: number) => {
  const base = JSON.stringify({ pad: "" });
  return JSON.stringify({ pad: "x".repeat(n - base.length) });
};

const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/api/ping`, { method: "POST", headers: { authorization: `Bearer ${u.token}`, ...headers }, body });

test("a body of exactly the limit is accepted; one byte more is 413 too_large", async () => {
  expect(bodyOf(LIMIT).length).toBe(LIMIT);
  const ok = await post(bodyOf(LIMIT));
  expect(ok.status).toBe(200);
  const over = await post(bodyOf(LIMIT + 1));
  expect(over.status).toBe(413);
  expect(((await over.json()) as { error: { code: string } }).error.code).toBe("too_large");
});

test("a chunked body (no Content-Length) is refused with 411 and a protocol error", async () => {
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode("{}"));
      c.close();
    },
  });
  const r = await post(stream);
  expect(r.status).toBe(411);
  expect(((await r.json()) as { error: { code: string } }).error.code).toBe("bad_request");
});
