// Uploads that stall halfway (docs/security.md, docs/media.md "Stalled uploads"): a client
// that sends part of a body and then nothing, keeping the connection open, is answered 400
// bad_request "upload stalled" once --upload-stall-ms passes with no byte; its temp file is
// deleted and no blob is stored, while other uploads and the rest of the server go on. An
// upload that keeps sending with pauses shorter than the bound completes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as netConnect, type Socket } from "node:net";
import { makeUser, startServer, until, type TestServer, type TestUser } from "../harness.ts";
import { bytes, download, filesUnder, metric, sha256hex, uploadOk } from "./media-helpers.ts";

const STALL_MS = 1500;
let server: TestServer;
let up: TestUser;
let other: TestUser;

beforeAll(async () => {
  server = await startServer({ args: ["--upload-stall-ms", String(STALL_MS), "--rate-burst", "100000", "--rate-per-sec", "100000"] });
  up = await makeUser(server, "Staller");
  other = await makeUser(server, "Other");
});
afterAll(() => server.cleanup());

/** A raw HTTP upload on its own socket; `response` resolves with the server's whole response (or what it wrote before closing). */
async function rawUpload(headers: string): Promise<{ sock: Socket; response: Promise<string> }> {
  const sock = netConnect({ host: "127.0.0.1", port: server.port });
  await new Promise<void>((res) => sock.once("connect", () => res()));
  let got = "";
  let done: (s: string) => void;
  const response = new Promise<string>((res) => (done = res));
  sock.on("data", (d) => {
    got += d.toString("latin1");
    const end = got.indexOf("\r\n\r\n");
    const len = /\r\ncontent-length: (\d+)/i.exec(got)?.[1];
    if (end >= 0 && len !== undefined && got.length >= end + 4 + Number(len)) done(got);
  });
  sock.on("error", () => {});
  sock.once("close", () => done(got));
  sock.write(`POST /api/media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${up.token}\r\nContent-Type: application/octet-stream\r\n${headers}\r\n`);
  return { sock, response };
}

function parse(raw: string): { status: number; connection: string | null; body: any } {
  const [head, body = ""] = raw.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? "")?.[1] ?? 0);
  const connection = /\r\nconnection: ([^\r]*)/i.exec(head ?? "")?.[1] ?? null;
  let json: any = null;
  try {
    json = JSON.parse(body);
  } catch {}
  return { status, connection, body: json };
}

test("half a body and then silence: 400 upload stalled, connection closed, temp file gone, no blob", async () => {
  const before = await metric(server, 'natter_media_uploads_rejected_total{reason="stalled"}');
  const { sock, response } = await rawUpload("Content-Length: 2000000\r\n");
  sock.write(Buffer.alloc(1_000_000, 7));
  await until(() => filesUnder(server, "tmp").length === 1, 10_000, "the upload's temp file");
  // Other users keep uploading and the server keeps answering while this one hangs.
  const body = bytes(300_000, 3);
  const m = await uploadOk(server, other.token, body);
  expect((await fetch(server.url + "/healthz")).status).toBe(200);
  const r = parse(await response);
  expect(r.status).toBe(400);
  expect(r.body.error.code).toBe("bad_request");
  expect(r.body.error.message).toBe(`upload stalled: no bytes for ${STALL_MS} ms`);
  expect(r.connection).toBe("close");
  await until(() => sock.closed, 10_000, "the server to close the connection");
  await until(() => filesUnder(server, "tmp").length === 0, 10_000, "no temp file left");
  expect(filesUnder(server, "blobs").map((p) => p.split("/").at(-1))).toEqual([m.sha256]);
  expect(await metric(server, 'natter_media_uploads_rejected_total{reason="stalled"}')).toBe(before + 1);
  const d = await download(server, other.token, m.id);
  expect(sha256hex(new Uint8Array(await d.arrayBuffer()))).toBe(sha256hex(body));
}, 30_000);

test("headers only, or a chunked body that stops: ended the same way", async () => {
  const blobs = filesUnder(server, "blobs").length;
  const a = await rawUpload("Content-Length: 5000\r\n");
  const b = await rawUpload("Transfer-Encoding: chunked\r\n");
  b.sock.write(`2000\r\n${"x".repeat(0x2000)}\r\n`);
  for (const x of [a, b]) {
    const r = parse(await x.response);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("upload stalled");
  }
  await until(() => filesUnder(server, "tmp").length === 0, 10_000, "no temp file left");
  expect(filesUnder(server, "blobs").length).toBe(blobs);
}, 30_000);

test("an upload that pauses for less than the bound between chunks completes whole", async () => {
  const body = bytes(400_000, 9);
  const { sock, response } = await rawUpload(`Content-Length: ${body.length}\r\n`);
  for (let i = 0; i < 4; i++) {
    sock.write(body.subarray(i * 100_000, (i + 1) * 100_000));
    if (i < 3) await Bun.sleep(STALL_MS / 3);
  }
  const r = parse(await response);
  sock.destroy();
  expect(r.status).toBe(201);
  expect(r.body.media.sha256).toBe(sha256hex(body));
  expect(r.body.media.size).toBe(body.length);
}, 30_000);
