import { expect, test } from "bun:test";
import { NatterError } from "../../protocol/index.ts";
import type { Logger } from "../log.ts";
import { errorResponse, toNatterError } from "./errors.ts";

function recordingLog(lines: Array<Record<string, unknown>>): Logger {
  const rec = (msg: string, f?: Record<string, unknown>) => void lines.push({ msg, ...f });
  return { debug: rec, info: rec, warn: rec, error: rec };
}

test("an unexpected error is logged with its stack and a request id; the 500 carries only that id", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const err = toNatterError(new Error("ENOENT: /var/natter/data/shards/03.db"), recordingLog(lines), "op sendMessage");
  expect(err.code).toBe("internal");
  const res = errorResponse(err);
  expect(res.status).toBe(500);
  const text = await res.text();
  const body = JSON.parse(text);
  expect(body).toEqual({ ok: false, error: { code: "internal", message: "internal server error", request_id: expect.stringMatching(/^[0-9a-f]{16}$/) } });
  expect(res.headers.get("x-request-id")).toBe(body.error.request_id);
  expect(text).not.toContain("/var/natter");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.request_id).toBe(body.error.request_id);
  expect(String(lines[0]!.error)).toContain("/var/natter/data/shards/03.db");
  // The same id over the websocket (the wire error) as over HTTP.
  expect(err.toWire().request_id).toBe(body.error.request_id);
});

test("a protocol error is not logged; its response gets a fresh request id", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const err = toNatterError(new NatterError("not_found", "no such channel"), recordingLog(lines), "op x");
  const res = errorResponse(err);
  expect(res.status).toBe(404);
  expect(((await res.json()) as any).error.request_id).toBe(res.headers.get("x-request-id"));
  expect(lines).toHaveLength(0);
});
