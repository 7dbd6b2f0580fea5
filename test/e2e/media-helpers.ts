// Helpers shared by the media e2e tests: raw uploads and downloads over HTTP,
// deterministic test bytes, a tiny PNG, and a look at DATA/media on disk.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { api, type TestServer, type TestUser } from "../harness.ts";

/** Deterministic pseudo-random bytes (xorshift), so failures are reproducible. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A valid PNG of `w` x `h` (red pixels), built by hand. */
export function png(w: number, h: number): Uint8Array {
  const { crc32, deflateSync } = require("node:zlib") as typeof import("node:zlib");
  const chunk = (type: string, data: Uint8Array) => {
    const t = Buffer.from(type, "latin1");
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([t, data])) >>> 0);
    return Buffer.concat([len, t, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, Buffer.from([255, 0, 0]))]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]),
  );
}

export interface UploadReply {
  status: number;
  body: any;
  headers: Headers;
}

/** POST /api/media with the raw body. */
export async function upload(
  server: TestServer,
  token: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<UploadReply> {
  const res = await fetch(server.url + "/api/media", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: body as unknown as Blob,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Uploads and expects 201; returns the media object. */
export async function uploadOk(server: TestServer, token: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<any> {
  const r = await upload(server, token, body, headers);
  if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.media;
}

/** GET /api/media/ID as the user. */
export function download(server: TestServer, token: string, id: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/api/media/${id}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

/** Sends a media message; returns the HTTP op reply. */
export function sendMedia(server: TestServer, u: TestUser, where: { channel?: string; to?: string }, media: string, type = "file") {
  return api(server, u.token, "sendMessage", { ...where, client_id: crypto.randomUUID(), type, media, content: "caption" });
}

/** Every file under DATA/media/<sub> (recursively). */
export function filesUnder(server: TestServer, sub: "blobs" | "tmp"): string[] {
  const root = join(server.dataDir, "media", sub);
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

/** Reads /metrics and returns the value of one series (0 if absent). */
export async function metric(server: TestServer, series: string): Promise<number> {
  const text = await (await fetch(server.url + "/metrics", { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
