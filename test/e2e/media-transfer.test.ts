// Media upload and download against the real server: byte-exact round trip,
// Range (start, middle, suffix, unsatisfiable), HEAD and ETag, dedupe of
// identical bytes, content sniffing over a lying Content-Type, file names,
// image dimensions, metrics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeUser, startServer, type TestServer, type TestUser } from "../harness.ts";
import { bytes, download, filesUnder, metric, png, sha256hex, upload, uploadOk } from "./media-helpers.ts";

const T = 60_000;

describe("media transfer", () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const big = bytes(6 * 1024 * 1024 + 123, 7); // several MiB, not a round size
  let bigId: string;

  beforeAll(async () => {
    server = await startServer();
    alice = await makeUser(server, "Alice");
    bob = await makeUser(server, "Bob");
  }, T);
  afterAll(async () => {
    await server?.cleanup();
  });

  test("upload of several MiB answers 201 with id, size, sha256, and downloads byte-exact", async () => {
    const r = await upload(server, alice.token, big, { "content-type": "application/octet-stream", "x-filename": "big.bin" });
    expect(r.status).toBe(201);
    const m = r.body.media;
    expect(m.id).toMatch(/^m_[a-z0-9]+$/);
    expect(m).toMatchObject({ size: big.length, sha256: sha256hex(big), name: "big.bin", mime: "application/octet-stream" });
    bigId = m.id;
    const res = await download(server, alice.token, bigId);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("etag")).toBe(`"${m.sha256}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.length).toBe(big.length);
    expect(sha256hex(got)).toBe(sha256hex(big));
    expect(Buffer.compare(Buffer.from(got), Buffer.from(big))).toBe(0);
  }, T);

  test("a streamed (chunked) upload is stored byte-exact too", async () => {
    const data = bytes(3 * 1024 * 1024 + 5, 8);
    let off = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= data.length) return c.close();
        const n = Math.min(50_000, data.length - off);
        c.enqueue(data.slice(off, off + n));
        off += n;
      },
    });
    const r = await upload(server, alice.token, stream);
    expect(r.status).toBe(201);
    expect(r.body.media).toMatchObject({ size: data.length, sha256: sha256hex(data) });
    const got = new Uint8Array(await (await download(server, alice.token, r.body.media.id)).arrayBuffer());
    expect(sha256hex(got)).toBe(sha256hex(data));
  }, T);

  test("Range: start, middle, suffix and open end give 206 with the exact bytes", async () => {
    const cases: Array<[string, number, number]> = [
      ["bytes=0-99", 0, 99],
      ["bytes=1000000-1000999", 1_000_000, 1_000_999],
      ["bytes=-500", big.length - 500, big.length - 1],
      [`bytes=${big.length - 10}-`, big.length - 10, big.length - 1],
      [`bytes=${big.length - 3}-${big.length + 100}`, big.length - 3, big.length - 1], // end past EOF is clamped
    ];
    for (const [range, start, end] of cases) {
      const res = await download(server, alice.token, bigId, { range });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${big.length}`);
      expect(res.headers.get("content-length")).toBe(String(end - start + 1));
      const got = new Uint8Array(await res.arrayBuffer());
      expect(Buffer.compare(Buffer.from(got), Buffer.from(big.subarray(start, end + 1)))).toBe(0);
    }
  }, T);

  test("Range: unsatisfiable gives 416 with Content-Range bytes */size", async () => {
    for (const range of [`bytes=${big.length}-`, `bytes=${big.length + 5}-${big.length + 10}`, "bytes=-0"]) {
      const res = await download(server, alice.token, bigId, { range });
      expect(res.status).toBe(416);
      expect(res.headers.get("content-range")).toBe(`bytes */${big.length}`);
      await res.arrayBuffer();
    }
    // The last byte is the edge of satisfiable.
    const last = await download(server, alice.token, bigId, { range: `bytes=${big.length - 1}-` });
    expect(last.status).toBe(206);
    expect(Array.from(new Uint8Array(await last.arrayBuffer()))).toEqual([big[big.length - 1]!]);
  }, T);

  test("If-Range with another validator, or several ranges, get the whole file (200)", async () => {
    const a = await download(server, alice.token, bigId, { range: "bytes=0-9", "if-range": '"other"' });
    expect(a.status).toBe(200);
    expect((await a.arrayBuffer()).byteLength).toBe(big.length);
    const b = await download(server, alice.token, bigId, { range: "bytes=0-9,20-29" });
    expect(b.status).toBe(200);
    expect((await b.arrayBuffer()).byteLength).toBe(big.length);
    const c = await download(server, alice.token, bigId, { range: "bytes=0-9", "if-range": `"${sha256hex(big)}"` });
    expect(c.status).toBe(206);
    await c.arrayBuffer();
  }, T);

  test("HEAD gives the headers without a body; If-None-Match with the ETag gives 304", async () => {
    const h = await fetch(`${server.url}/api/media/${bigId}`, { method: "HEAD", headers: { authorization: `Bearer ${alice.token}` } });
    expect(h.status).toBe(200);
    expect(h.headers.get("content-length")).toBe(String(big.length));
    expect(h.headers.get("etag")).toBe(`"${sha256hex(big)}"`);
    expect((await h.arrayBuffer()).byteLength).toBe(0);
    const n = await download(server, alice.token, bigId, { "if-none-match": `"${sha256hex(big)}"` });
    expect(n.status).toBe(304);
  }, T);

  test("identical bytes are stored once, whoever uploads them; each upload gets its own id", async () => {
    const data = bytes(200_000, 42);
    const before = filesUnder(server, "blobs").length;
    const a = await uploadOk(server, alice.token, data, { "x-filename": "a.bin" });
    const b = await uploadOk(server, bob.token, data, { "x-filename": "b.bin" });
    const c = await uploadOk(server, alice.token, data, { "x-filename": "c.bin" });
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(a.sha256).toBe(b.sha256);
    const blobs = filesUnder(server, "blobs");
    expect(blobs.length).toBe(before + 1);
    expect(blobs.filter((p) => p.endsWith(a.sha256)).length).toBe(1);
    expect(Bun.file(blobs.find((p) => p.endsWith(a.sha256))!).size).toBe(data.length);
    // Each keeps its own name.
    expect((await download(server, bob.token, b.id)).headers.get("content-disposition")).toContain(`filename="b.bin"`);
    expect(filesUnder(server, "tmp")).toEqual([]);
  }, T);

  test("concurrent uploads of the same bytes all succeed and share one blob", async () => {
    const data = bytes(1024 * 1024, 77);
    const before = filesUnder(server, "blobs").length;
    const ups = await Promise.all(Array.from({ length: 6 }, (_, i) => uploadOk(server, i % 2 ? bob.token : alice.token, data)));
    expect(new Set(ups.map((m) => m.id)).size).toBe(6);
    expect(new Set(ups.map((m) => m.sha256))).toEqual(new Set([sha256hex(data)]));
    expect(filesUnder(server, "blobs").length).toBe(before + 1);
    expect(filesUnder(server, "tmp")).toEqual([]);
    const got = new Uint8Array(await (await download(server, bob.token, ups[1]!.id)).arrayBuffer());
    expect(sha256hex(got)).toBe(sha256hex(data));
  }, T);

  test("the sniffed type wins over a lying Content-Type, and images get width and height", async () => {
    const img = png(64, 48);
    const m = await uploadOk(server, alice.token, img, { "content-type": "text/html", "x-filename": "photo.png" });
    expect(m).toMatchObject({ mime: "image/png", width: 64, height: 48 });
    const res = await download(server, alice.token, m.id);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition")).toStartWith("inline;");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // HTML claimed as an image is served as text, never as HTML.
    const html = new TextEncoder().encode("<html><script>alert(1)</script></html>");
    const h = await uploadOk(server, alice.token, html, { "content-type": "image/png", "x-filename": "x.html" });
    expect(h.mime).toBe("text/plain; charset=utf-8");
    expect(h.width).toBeNull();
    // Unknown binary is octet-stream whatever the header says.
    const o = await uploadOk(server, alice.token, bytes(1000, 3), { "content-type": "image/jpeg" });
    expect(o.mime).toBe("application/octet-stream");
    // The info route answers the same metadata.
    const info = (await (await fetch(`${server.url}/api/media/${m.id}/info`, { headers: { authorization: `Bearer ${alice.token}` } })).json()) as any;
    expect(info.media).toMatchObject({ id: m.id, mime: "image/png", width: 64, height: 48, name: "photo.png" });
  }, T);

  test("file names lose directories, traversal and control characters; UTF-8 names survive", async () => {
    const data = bytes(10, 9);
    const cases: Array<[string, string]> = [
      ["../../etc/passwd", "passwd"],
      ["..\\..\\windows\\system32\\cmd.exe", "cmd.exe"],
      ["a%0Ab%0D%09c.txt", "abc.txt"], // newline, CR, tab
      ["%1B%5B31mred.txt", "[31mred.txt"], // ESC removed
      ["..", "file"],
      ["...hidden", "hidden"],
      ["%E2%80%AEtxt.exe", "txt.exe"], // right-to-left override removed
      ["caf%C3%A9%20%F0%9F%93%B7.jpg", "café 📷.jpg"],
    ];
    for (const [header, want] of cases) {
      const m = await uploadOk(server, alice.token, data, { "x-filename": header });
      expect(m.name).toBe(want);
      const cd = (await download(server, alice.token, m.id)).headers.get("content-disposition")!;
      expect(cd).not.toMatch(/[\r\n]/);
      expect(cd).toContain(`filename*=UTF-8''${encodeURIComponent(want).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())}`);
    }
    const long = await uploadOk(server, alice.token, data, { "x-filename": "x".repeat(500) + ".pdf" });
    expect(long.name.endsWith(".pdf")).toBe(true);
    expect(Buffer.byteLength(long.name)).toBeLessThanOrEqual(200);
  }, T);

  test("no token is 401; an unknown or malformed id is 404", async () => {
    expect((await fetch(`${server.url}/api/media/${bigId}`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/media`, { method: "POST", body: "x" })).status).toBe(401);
    for (const id of ["m_doesnotexist", "nope", "..%2F..%2Fadmin.token"]) {
      const r = await download(server, alice.token, id);
      expect(r.status).toBe(404);
      expect(((await r.json()) as any).error.code).toBe("not_found");
    }
  }, T);

  test("metrics count uploads, downloads and bytes stored", async () => {
    expect(await metric(server, "natter_media_uploads_total")).toBeGreaterThanOrEqual(5);
    expect(await metric(server, 'natter_media_downloads_total{status="206"}')).toBeGreaterThanOrEqual(5);
    expect(await metric(server, "natter_media_bytes_stored")).toBeGreaterThanOrEqual(big.length);
    expect(await metric(server, "natter_media_upload_bytes_total")).toBeGreaterThanOrEqual(big.length);
  }, T);
});
