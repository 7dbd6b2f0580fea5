// The drill against an S3 replica: Litestream's S3 client (shards) and Bun's
// S3 client (layout.json, media blobs) talking to a small in-memory
// S3-compatible server on loopback (path-style, signatures not checked):
// write messages and a file, stop, delete the data dir, restore from the
// s3:// URL, start, everything intact.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { api, makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

/** A minimal S3: objects, ListObjects v1/v2, DeleteObjects, multipart upload. */
function fakeS3() {
  const objects = new Map<string, { body: Uint8Array; modified: Date }>();
  const uploads = new Map<string, Map<number, Uint8Array>>();
  let uploadSeq = 0;
  const requests: string[] = [];
  const xml = (body: string, status = 200) =>
    new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, { status, headers: { "content-type": "application/xml" } });
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const etag = (b: Uint8Array) => `"${new Bun.CryptoHasher("md5").update(b).digest("hex")}"`;
  const notFound = () => xml("<Error><Code>NoSuchKey</Code><Message>not found</Message></Error>", 404);

  /** Decodes aws-chunked (streaming SigV4) bodies. */
  function dechunk(raw: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const out: number[] = [];
    let i = 0;
    for (;;) {
      let j = i;
      while (!(raw[j] === 13 && raw[j + 1] === 10)) j++;
      const size = parseInt(new TextDecoder().decode(raw.subarray(i, j)).split(";")[0]!, 16);
      i = j + 2;
      if (size === 0) break;
      for (let k = 0; k < size; k++) out.push(raw[i + k]!);
      i += size + 2;
    }
    return Uint8Array.from(out);
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const [, bucket, ...rest] = url.pathname.split("/");
      const key = decodeURIComponent(rest.join("/"));
      const q = url.searchParams;
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      let body: Uint8Array<ArrayBuffer> = new Uint8Array(await req.arrayBuffer());
      if ((req.headers.get("x-amz-content-sha256") ?? "").startsWith("STREAMING-")) body = dechunk(body);
      const id = `${bucket}/${key}`;
      if (req.method === "GET" && key === "") {
        const prefix = q.get("prefix") ?? "";
        const delim = q.get("delimiter") ?? "";
        const keys = [...objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket!.length + 1)).sort();
        const contents: string[] = [];
        const prefixes = new Set<string>();
        for (const k of keys) {
          const restKey = k.slice(prefix.length);
          if (delim && restKey.includes(delim)) prefixes.add(prefix + restKey.slice(0, restKey.indexOf(delim) + delim.length));
          else {
            const o = objects.get(`${bucket}/${k}`)!;
            contents.push(
              `<Contents><Key>${esc(k)}</Key><LastModified>${o.modified.toISOString()}</LastModified><ETag>${etag(o.body)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
            );
          }
        }
        const cps = [...prefixes].map((p) => `<CommonPrefixes><Prefix>${esc(p)}</Prefix></CommonPrefixes>`).join("");
        return xml(
          `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${esc(prefix)}</Prefix>` +
            `<KeyCount>${contents.length + prefixes.size}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents.join("")}${cps}</ListBucketResult>`,
        );
      }
      if (req.method === "POST" && q.has("delete")) {
        const keys = [...new TextDecoder().decode(body).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
        for (const k of keys) objects.delete(`${bucket}/${k}`);
        return xml(`<DeleteResult>${keys.map((k) => `<Deleted><Key>${k}</Key></Deleted>`).join("")}</DeleteResult>`);
      }
      if (req.method === "POST" && q.has("uploads")) {
        const uploadId = `u${++uploadSeq}`;
        uploads.set(uploadId, new Map());
        return xml(`<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${esc(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (req.method === "PUT" && q.has("uploadId")) {
        uploads.get(q.get("uploadId")!)!.set(Number(q.get("partNumber")), body);
        return new Response(null, { status: 200, headers: { etag: etag(body) } });
      }
      if (req.method === "POST" && q.has("uploadId")) {
        const parts = uploads.get(q.get("uploadId")!)!;
        const ordered = [...parts.keys()].sort((a, b) => a - b).map((n) => parts.get(n)!);
        const whole = new Uint8Array(ordered.reduce((n, p) => n + p.length, 0));
        let off = 0;
        for (const p of ordered) whole.set(p, (off += p.length) - p.length);
        objects.set(id, { body: whole, modified: new Date() });
        uploads.delete(q.get("uploadId")!);
        return xml(`<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${esc(key)}</Key><ETag>${etag(whole)}</ETag></CompleteMultipartUploadResult>`);
      }
      if (req.method === "DELETE" && q.has("uploadId")) {
        uploads.delete(q.get("uploadId")!);
        return new Response(null, { status: 204 });
      }
      if (req.method === "PUT") {
        objects.set(id, { body, modified: new Date() });
        return new Response(null, { status: 200, headers: { etag: etag(body) } });
      }
      const o = objects.get(id);
      if (req.method === "HEAD") {
        if (!o) return new Response(null, { status: 404 });
        return new Response(null, {
          status: 200,
          headers: { "content-length": String(o.body.length), etag: etag(o.body), "last-modified": o.modified.toUTCString() },
        });
      }
      if (req.method === "GET") {
        if (!o) return notFound();
        return new Response(o.body, { headers: { etag: etag(o.body), "last-modified": o.modified.toUTCString() } });
      }
      if (req.method === "DELETE") {
        objects.delete(id);
        return new Response(null, { status: 204 });
      }
      return xml("<Error><Code>NotImplemented</Code></Error>", 501);
    },
  });
  return { server, objects, requests, url: `http://127.0.0.1:${server.port}` };
}

const s3 = fakeS3();
const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  s3.server.stop(true);
});

const ENV = { AWS_ACCESS_KEY_ID: "natter-test", AWS_SECRET_ACCESS_KEY: "natter-test-secret", AWS_REGION: "us-east-1" };

test("drill with an s3:// replica: shards through Litestream, layout and media through Bun's S3 client", async () => {
  const replica = `s3://natter-bucket/prod/node1?endpoint=${s3.url}&region=us-east-1&force-path-style=true`;
  const data = tempDir("natter-s3-data-");
  dirs.push(data);
  const s1 = await startServer({ dataDir: data, args: ["--replica", replica, "--shards", "4"], env: ENV });
  servers.push(s1);
  const alice = await makeUser(s1, "Alice");
  const bob = await makeUser(s1, "Bob");
  const contents: string[] = [];
  let channel = "";
  for (let i = 0; i < 15; i++) {
    const r = await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: `s${i}`, type: "text", content: `via s3 ${i}` });
    expect(r.status).toBe(200);
    channel = r.body.message.channel;
    contents.push(`via s3 ${i}`);
  }
  const blob = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
  const up = await fetch(s1.url + "/api/media", {
    method: "POST",
    headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/octet-stream" },
    body: blob,
  });
  expect([200, 201]).toContain(up.status);
  const media = ((await up.json()) as { media: { id: string; sha256: string } }).media;
  expect((await api(s1, alice.token, "sendMessage", { to: bob.user.id, client_id: "sf", type: "file", content: "f", media: media.id })).status).toBe(200);
  contents.push("f");
  expect(await s1.stop(), s1.output().slice(-2000)).toBe(0);
  expect(s1.output()).not.toContain('"level":"error"');
  const keys = [...s3.objects.keys()];
  expect(keys).toContain("natter-bucket/prod/node1/layout.json");
  expect(keys).toContain(`natter-bucket/prod/node1/media/${media.sha256}`);
  expect(keys.some((k) => k.startsWith("natter-bucket/prod/node1/shards/03/generations/"))).toBe(true);

  rmSync(data, { recursive: true, force: true });
  const r = await runCli(["admin", "restore", "--replica", replica, "--data", data], { env: ENV });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain("restoring 4 shards");
  expect(r.stderr.match(/integrity_check: ok/g)?.length).toBe(4);
  expect(r.stderr).toContain("media blobs 1/1");

  const s2 = await startServer({ dataDir: data, env: ENV });
  servers.push(s2);
  const c = await WsClient.connect(s2, bob.token);
  const got = await c.call("getMessages", { channel, after_seq: 0, limit: 100 });
  expect(got.messages.map((m: any) => m.content)).toEqual(contents);
  c.close();
  const dl = await fetch(`${s2.url}/api/media/${media.id}`, { headers: { authorization: `Bearer ${bob.token}` } });
  expect(dl.status).toBe(200);
  expect(Buffer.compare(Buffer.from(await dl.arrayBuffer()), Buffer.from(blob))).toBe(0);
  await s2.stop();
}, 90_000);
