// Media limits at their edges against the real server: the upload cap (with
// and without Content-Length), aborted uploads, the per-user quota, and the
// orphan sweep (unsent uploads go, referenced blobs stay).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { makeUser, startServer, until, type TestServer, type TestUser } from "../harness.ts";
import { bytes, download, filesUnder, metric, sendMedia, sha256hex, upload, uploadOk } from "./media-helpers.ts";

const T = 60_000;
const CAP = 256 * 1024;

function chunked(data: Uint8Array, size = 16 * 1024): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= data.length) return c.close();
      c.enqueue(data.slice(off, off + size));
      off += size;
    },
  });
}

describe("upload size cap", () => {
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    server = await startServer({ args: ["--max-upload-bytes", String(CAP)] });
    alice = await makeUser(server, "Alice");
  }, T);
  afterAll(async () => {
    await server?.cleanup();
  });

  test("exactly the cap is accepted, with or without Content-Length", async () => {
    expect((await uploadOk(server, alice.token, bytes(CAP, 1))).size).toBe(CAP);
    const r = await upload(server, alice.token, chunked(bytes(CAP, 2)));
    expect(r.status).toBe(201);
    expect(r.body.media.size).toBe(CAP);
  }, T);

  test("one byte over is 413 too_large with a clear message, promptly, and nothing is left on disk", async () => {
    const blobsBefore = filesUnder(server, "blobs").length;
    const rejectedBefore = await metric(server, 'natter_media_uploads_rejected_total{reason="too_large"}');
    for (const body of [bytes(CAP + 1, 3), chunked(bytes(CAP + 1, 4)), bytes(20 * CAP, 5), chunked(bytes(20 * CAP, 6))]) {
      const t0 = Date.now();
      const r = await upload(server, alice.token, body);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe("too_large");
      expect(r.body.error.message).toContain(String(CAP));
      expect(Date.now() - t0).toBeLessThan(5_000); // the connection is not left hanging
    }
    expect(filesUnder(server, "blobs").length).toBe(blobsBefore);
    expect(filesUnder(server, "tmp")).toEqual([]);
    expect(await metric(server, 'natter_media_uploads_rejected_total{reason="too_large"}')).toBe(rejectedBefore + 4);
    // The server is fine afterwards.
    expect((await uploadOk(server, alice.token, bytes(10, 7))).size).toBe(10);
  }, T);

  test("a client that keeps sending after the 413 is cut off promptly, not left hanging", async () => {
    const url = new URL(server.url);
    const t0 = Date.now();
    const reply = await new Promise<string>((resolve, reject) => {
      let got = "";
      const s = connect(Number(url.port), url.hostname, () => {
        s.write(`POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          if (s.destroyed) return;
          s.write(chunk.length.toString(16) + "\r\n");
          s.write(chunk);
          s.write("\r\n", () => setTimeout(pump, 1));
        };
        pump(); // never stops on its own
      });
      s.on("data", (d) => (got += d.toString("latin1")));
      s.on("close", () => resolve(got));
      s.on("error", () => {}); // EPIPE/ECONNRESET while still writing: the close event follows
      setTimeout(() => reject(new Error(`not closed within 10s; got ${JSON.stringify(got.slice(0, 200))}`)), 10_000);
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    // The server answers and closes at once. A client that is not reading while it sends can lose
    // the answer to the reset that closing with unread input causes (fetch and curl read it: see above).
    if (reply !== "") {
      expect(reply).toStartWith("HTTP/1.1 413");
      expect(reply).toContain("too_large");
    }
    expect(filesUnder(server, "tmp")).toEqual([]);
  }, T);

  test("an upload aborted midway leaves nothing behind", async () => {
    const blobsBefore = filesUnder(server, "blobs").length;
    const abortedBefore = await metric(server, 'natter_media_uploads_rejected_total{reason="aborted"}');
    const url = new URL(server.url);
    for (const framing of ["content-length", "chunked"]) {
      await new Promise<void>((resolve) => {
        const s = connect(Number(url.port), url.hostname, () => {
          const head =
            framing === "chunked"
              ? "Transfer-Encoding: chunked\r\n\r\n" + (100_000).toString(16) + "\r\n"
              : `Content-Length: ${CAP - 1}\r\n\r\n`;
          s.write(`POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n${head}`);
          s.write(Buffer.alloc(50_000, 2), () => setTimeout(() => (s.destroy(), resolve()), 200));
        });
        s.on("error", () => {});
      });
    }
    // The abort is noticed, the temp file removed, nothing stored.
    await until(async () => (await metric(server, 'natter_media_uploads_rejected_total{reason="aborted"}')) === abortedBefore + 2, 10_000, "aborts");
    expect(filesUnder(server, "tmp")).toEqual([]);
    expect(filesUnder(server, "blobs").length).toBe(blobsBefore);
    // A fetch aborted by the client, too.
    const ac = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent > 100_000) {
          ac.abort();
          return;
        }
        sent += 10_000;
        c.enqueue(new Uint8Array(10_000));
        await Bun.sleep(5);
      },
    });
    await expect(fetch(server.url + "/api/media", { method: "POST", body, headers: { authorization: `Bearer ${alice.token}` }, signal: ac.signal })).rejects.toThrow();
    await until(async () => (await metric(server, 'natter_media_uploads_rejected_total{reason="aborted"}')) === abortedBefore + 3, 10_000, "fetch abort");
    expect(filesUnder(server, "tmp")).toEqual([]);
    expect(filesUnder(server, "blobs").length).toBe(blobsBefore);
  }, T);

  test("other routes still refuse bodies over the frame limit", async () => {
    const r = await fetch(server.url + "/api/ping", {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as any).error.code).toBe("too_large");
  }, T);
});

describe("per-user quota", () => {
  let server: TestServer;
  let alice: TestUser, bob: TestUser;
  const QUOTA = 100_000;

  beforeAll(async () => {
    server = await startServer({ env: { NATTER_MEDIA_QUOTA_BYTES: String(QUOTA) } });
    [alice, bob] = await Promise.all([makeUser(server, "Alice"), makeUser(server, "Bob")]);
  }, T);
  afterAll(async () => {
    await server?.cleanup();
  });

  test("uploads fill the quota exactly; one byte more is too_large with a quota message; others are unaffected", async () => {
    await uploadOk(server, alice.token, bytes(60_000, 1));
    await uploadOk(server, alice.token, bytes(QUOTA - 60_000, 2));
    for (const body of [bytes(1, 3), chunked(bytes(5_000, 4))]) {
      const r = await upload(server, alice.token, body);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe("too_large");
      expect(r.body.error.message).toContain("quota");
    }
    expect(filesUnder(server, "tmp")).toEqual([]);
    expect(await metric(server, 'natter_media_uploads_rejected_total{reason="quota"}')).toBe(2);
    expect((await uploadOk(server, bob.token, bytes(QUOTA, 5))).size).toBe(QUOTA);
  }, T);

  test("concurrent uploads cannot together pass the quota; with Content-Length the first ones win", async () => {
    const dan = await makeUser(server, "Dan");
    const sized = await Promise.all([1, 2, 3].map((seed) => upload(server, dan.token, bytes(40_000, 100 + seed))));
    expect(sized.map((r) => r.status).sort()).toEqual([201, 201, 413]); // 3 x 40 000 > 100 000
    expect(sized.find((r) => r.status === 413)!.body.error.message).toContain("quota");
    // Without Content-Length the size is only known as it arrives: at least one is refused, and
    // what is stored never passes the quota.
    const erin = await makeUser(server, "Erin");
    const streamed = await Promise.all([1, 2, 3].map((seed) => upload(server, erin.token, chunked(bytes(40_000, 200 + seed)))));
    const ok = streamed.filter((r) => r.status === 201);
    expect(ok.length).toBeLessThanOrEqual(2);
    expect(ok.reduce((n, r) => n + r.body.media.size, 0)).toBeLessThanOrEqual(QUOTA);
    expect(streamed.filter((r) => r.status === 413).every((r) => r.body.error.message.includes("quota"))).toBe(true);
    expect(filesUnder(server, "tmp")).toEqual([]);
  }, T);

  test("bytes count against each uploader's quota even when they are stored once", async () => {
    const carol = await makeUser(server, "Carol");
    await uploadOk(server, carol.token, bytes(60_000, 1)); // the same bytes as alice's first upload
    const over = await upload(server, carol.token, bytes(QUOTA - 60_000 + 1, 9));
    expect(over.status).toBe(413);
    expect(over.body.error.message).toContain("quota");
    expect((await uploadOk(server, carol.token, bytes(QUOTA - 60_000, 9))).size).toBe(QUOTA - 60_000);
  }, T);
});

describe("orphan sweep", () => {
  let server: TestServer;
  let alice: TestUser, bob: TestUser;

  beforeAll(async () => {
    server = await startServer({ args: ["--media-orphan-age-ms", "1500", "--media-sweep-interval-ms", "300"] });
    [alice, bob] = await Promise.all([makeUser(server, "Alice"), makeUser(server, "Bob")]);
  }, T);
  afterAll(async () => {
    const dir = server?.dataDir;
    await server?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true }); // restarted on an explicit dir: cleanup keeps it
  });

  test("unsent uploads older than the orphan age are removed; sent ones and blobs they share are kept", async () => {
    const shared = bytes(70_000, 1);
    const sent = await uploadOk(server, alice.token, shared); // sent in a message: kept
    expect((await sendMedia(server, alice, { to: bob.user.id }, sent.id)).status).toBe(200);
    const sameBytes = await uploadOk(server, bob.token, shared); // never sent, but its blob is referenced by `sent`
    const lonely = await uploadOk(server, alice.token, bytes(50_000, 2)); // never sent, unique bytes
    const blobOf = (sha: string) => filesUnder(server, "blobs").filter((p) => p.endsWith(sha)).length;
    expect(blobOf(lonely.sha256)).toBe(1);
    expect(await metric(server, "natter_media_blobs")).toBe(2);

    // The row goes first, then (same sweep step) its blob.
    await until(async () => (await download(server, alice.token, lonely.id)).status === 404 && blobOf(lonely.sha256) === 0, 15_000, "lonely swept");
    await until(async () => (await download(server, bob.token, sameBytes.id)).status === 404, 15_000, "sameBytes swept");
    // The referenced blob stays, and both people still download it byte-exact.
    expect(blobOf(sent.sha256)).toBe(1);
    for (const u of [alice, bob]) {
      const r = await download(server, u.token, sent.id);
      expect(r.status).toBe(200);
      expect(sha256hex(new Uint8Array(await r.arrayBuffer()))).toBe(sha256hex(shared));
    }
    expect(await metric(server, "natter_media_swept_total")).toBe(2);
    expect(await metric(server, "natter_media_blobs")).toBe(1);
    expect(await metric(server, "natter_media_bytes_stored")).toBe(shared.length);
    // An orphan can no longer be sent.
    expect((await sendMedia(server, alice, { to: bob.user.id }, lonely.id)).status).toBe(404);
  }, T);

  test("a sent upload survives later sweeps and a restart; the stored-bytes gauge is rebuilt at start", async () => {
    const m = await uploadOk(server, alice.token, bytes(1234, 3));
    expect((await sendMedia(server, alice, { to: bob.user.id }, m.id)).status).toBe(200);
    await Bun.sleep(2000); // several sweeps past the orphan age
    expect((await download(server, bob.token, m.id)).status).toBe(200);
    const stored = await metric(server, "natter_media_bytes_stored");
    expect(stored).toBe(70_000 + 1234);
    expect(await server.stop()).toBe(0);
    server = await startServer({ dataDir: server.dataDir, args: ["--media-orphan-age-ms", "1500", "--media-sweep-interval-ms", "300"] });
    expect(await metric(server, "natter_media_bytes_stored")).toBe(stored);
    const r = await download(server, bob.token, m.id);
    expect(r.status).toBe(200);
    expect(sha256hex(new Uint8Array(await r.arrayBuffer()))).toBe(sha256hex(bytes(1234, 3)));
  }, T);
});
