// Files through the client: `natter send --file` and `natter download` via
// bin/natter (a photo sent from one terminal arrives in the other and
// downloads byte-exact), the progress bar on a TTY, and the client library's
// uploadMedia / downloadMedia.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { downloadMedia, mediaInfo, uploadMedia, type Progress } from "../../src/client/index.ts";
import { NatterError, type Message } from "../../src/protocol/index.ts";
import { adminFetch, makeUser, NATTER, runCli, startServer, tempDir, type TestServer, type TestUser } from "../harness.ts";
import { bytes, png, sha256hex } from "./media-helpers.ts";

const T = 60_000;
const CAP = 4 * 1024 * 1024;

describe("natter send --file and natter download", () => {
  let server: TestServer;
  let work: string;
  let alice: { id: string; cfg: string };
  let bob: { id: string; cfg: string };
  let carol: TestUser;

  const cli = (who: { cfg: string }, args: string[], cwd?: string) =>
    runCli(args, { env: { NATTER_CONFIG_DIR: who.cfg, NATTER_SERVER: "", NATTER_PROFILE: "", ...(cwd && { PWD: cwd }) } });

  async function loggedIn(name: string, phone: string) {
    const res = await adminFetch(server, "POST", "/admin/users", { name, phone });
    const { user, code } = (await res.json()) as { user: { id: string }; code: string };
    const cfg = tempDir("natter-media-cfg-");
    const r = await runCli(["login", "--server", server.url, "--code", code, "--device", "term"], { env: { NATTER_CONFIG_DIR: cfg } });
    expect(r.code).toBe(0);
    return { id: user.id, cfg };
  }

  beforeAll(async () => {
    server = await startServer({ args: ["--max-upload-bytes", String(CAP)] });
    work = tempDir("natter-media-files-");
    alice = await loggedIn("Alice", "+15558880001");
    bob = await loggedIn("Bob", "+15558880002");
    carol = await makeUser(server, "Carol");
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    for (const d of [work, alice?.cfg, bob?.cfg]) if (d) rmSync(d, { recursive: true, force: true });
  });

  let photoMsg: Message;
  const photo = png(320, 240);

  test("a photo sent from one terminal arrives in the other's history and downloads byte-exact", async () => {
    const path = join(work, "beach photo.png");
    writeFileSync(path, photo);
    const sent = await cli(alice, ["send", "--to", "+15558880002", "--file", path, "--json", "look at this"]);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    photoMsg = JSON.parse(sent.stdout) as Message;
    expect(photoMsg).toMatchObject({ type: "image", content: "look at this", sender: alice.id });
    expect(photoMsg.media).toMatch(/^m_/);

    const hist = await cli(bob, ["history", photoMsg.channel, "--json"]);
    expect(hist.code).toBe(0);
    const got = (JSON.parse(hist.stdout) as { messages: Message[] }).messages;
    expect(got.some((m) => m.media === photoMsg.media && m.type === "image")).toBe(true);

    const out = join(work, "received.png");
    const dl = await cli(bob, ["download", photoMsg.media!, "-o", out]);
    expect(dl.stderr).toBe(""); // no TTY: no progress bar
    expect(dl.code).toBe(0);
    expect(dl.stdout).toContain(out);
    expect(sha256hex(new Uint8Array(await Bun.file(out).arrayBuffer()))).toBe(sha256hex(photo));
    expect(existsSync(out + ".part")).toBe(false);
  }, T);

  test("download into a directory uses the sender's file name; an existing file needs --force", async () => {
    const dir = join(work, "inbox");
    require("node:fs").mkdirSync(dir);
    const first = await cli(bob, ["download", photoMsg.media!, "-o", dir, "--json"]);
    expect(first.code).toBe(0);
    const d = JSON.parse(first.stdout);
    expect(d).toMatchObject({ path: join(dir, "beach photo.png"), size: photo.length, sha256: sha256hex(photo), mime: "image/png" });
    const again = await cli(bob, ["download", photoMsg.media!, "-o", dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--force");
    expect((await cli(bob, ["download", photoMsg.media!, "-o", dir, "--force"])).code).toBe(0);
    expect(readdirSync(dir)).toEqual(["beach photo.png"]);
  }, T);

  test("an interrupted download continues from PATH.part; a part of another file is replaced", async () => {
    const data = bytes(3 * 1024 * 1024 + 17, 21);
    const src = join(work, "movie.bin");
    writeFileSync(src, data);
    const sent = await cli(alice, ["send", "--to", bob.id, "--file", src, "--json"]);
    expect(sent.code).toBe(0);
    const id = (JSON.parse(sent.stdout) as Message).media!;
    const out = join(work, "movie-copy.bin");
    const ranged = async () => {
      const text = await (await fetch(server.url + "/metrics", { headers: { authorization: `Bearer ${server.adminToken}` } })).text();
      return Number(/natter_media_downloads_total\{status="206"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    // What a killed download leaves: the first 1 MiB.
    writeFileSync(out + ".part", data.subarray(0, 1024 * 1024));
    const before = await ranged();
    const r = await cli(bob, ["download", id, "-o", out]);
    expect(r.code).toBe(0);
    expect(await ranged()).toBe(before + 1);
    expect(sha256hex(new Uint8Array(await Bun.file(out).arrayBuffer()))).toBe(sha256hex(data));
    expect(existsSync(out + ".part")).toBe(false);
    // A stale part with other bytes: the check fails, and the file is fetched again whole.
    const out2 = join(work, "movie-copy2.bin");
    writeFileSync(out2 + ".part", bytes(1024 * 1024, 99));
    const r2 = await cli(bob, ["download", id, "-o", out2]);
    expect(r2.code).toBe(0);
    expect(sha256hex(new Uint8Array(await Bun.file(out2).arrayBuffer()))).toBe(sha256hex(data));
    expect(existsSync(out2 + ".part")).toBe(false);
  }, T);

  test("download -o - writes the bytes to stdout", async () => {
    const proc = Bun.spawn([NATTER, "download", photoMsg.media!, "-o", "-"], {
      env: { ...process.env, NATTER_CONFIG_DIR: bob.cfg, NATTER_SERVER: "", NATTER_PROFILE: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = new Uint8Array(await new Response(proc.stdout).arrayBuffer());
    expect(await proc.exited).toBe(0);
    expect(sha256hex(out)).toBe(sha256hex(photo));
  }, T);

  test("someone who may not see it gets not_found and no file", async () => {
    const carolCfg = tempDir("natter-media-cfg-");
    try {
      const code = ((await (await adminFetch(server, "POST", `/admin/users/${carol.user.id}/code`)).json()) as { code: string }).code;
      expect((await runCli(["login", "--server", server.url, "--code", code], { env: { NATTER_CONFIG_DIR: carolCfg } })).code).toBe(0);
      const out = join(work, "stolen.png");
      const r = await cli({ cfg: carolCfg }, ["download", photoMsg.media!, "-o", out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("not_found");
      expect(existsSync(out)).toBe(false);
      expect(existsSync(out + ".part")).toBe(false);
    } finally {
      rmSync(carolCfg, { recursive: true, force: true });
    }
  }, T);

  test("send --file over the server's limit fails with too_large and sends nothing", async () => {
    const count = async () => (JSON.parse((await cli(bob, ["history", photoMsg.channel, "--json"])).stdout) as { messages: Message[] }).messages.length;
    const before = await count();
    expect(before).toBeGreaterThan(0);
    const path = join(work, "huge.bin");
    writeFileSync(path, bytes(CAP + 1, 5));
    const r = await cli(alice, ["send", "--to", bob.id, "--file", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("too_large");
    expect(await count()).toBe(before);
  }, T);

  test("send --file with --type and no caption; a missing file is a clear error", async () => {
    const path = join(work, "notes.txt");
    writeFileSync(path, "meeting notes\n");
    const r = await cli(alice, ["send", "--to", bob.id, "--file", path, "--type", "file", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "file", content: "" });
    const missing = await cli(alice, ["send", "--to", bob.id, "--file", join(work, "nope.bin")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
  }, T);

  test("on a TTY, send --file and download draw a progress bar on stderr", async () => {
    const path = join(work, "clip.bin");
    writeFileSync(path, bytes(3 * 1024 * 1024, 6));
    const env = `NATTER_CONFIG_DIR='${alice.cfg}' NATTER_SERVER= NATTER_PROFILE=`;
    // script(1) gives the command a pseudo-terminal; its output is what the terminal showed.
    const run = async (args: string) => {
      const p = Bun.spawn(["script", "-qec", `env ${env} '${NATTER}' ${args}`, "/dev/null"], { stdout: "pipe", stderr: "pipe", stdin: "pipe" });
      const text = await new Response(p.stdout).text();
      expect(await p.exited).toBe(0);
      return text;
    };
    const sent = await run(`send --to ${bob.id} --file '${path}' caption`);
    expect(sent).toMatch(/clip\.bin\s+\[#{20}\] 100%\s+3\.0 MiB\/3\.0 MiB/);
    expect(sent).toMatch(/sent \S+ \(file m_/);
    const id = /\(file (m_[a-z0-9]+)\)/.exec(sent)![1]!;
    const out = join(work, "clip-copy.bin");
    const dl = await run(`download ${id} -o '${out}'`);
    expect(dl).toMatch(/clip\.bin\s+\[#{20}\] 100%/);
    expect(sha256hex(new Uint8Array(await Bun.file(out).arrayBuffer()))).toBe(sha256hex(bytes(3 * 1024 * 1024, 6)));
  }, T);
});

describe("client library media", () => {
  let server: TestServer;
  let a: TestUser;
  let b: TestUser;
  let dir: string;

  beforeAll(async () => {
    server = await startServer({ args: ["--max-upload-bytes", String(CAP)] });
    [a, b] = await Promise.all([makeUser(server, "A"), makeUser(server, "B")]);
    dir = tempDir("natter-media-lib-");
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("uploadMedia streams a Blob with progress; downloadMedia checks the SHA-256 and reports progress", async () => {
    const data = bytes(CAP, 11);
    const seen: Progress[] = [];
    const m = await uploadMedia(server.url, a.token, new Blob([data as Uint8Array<ArrayBuffer>]), { name: "video.mp4", onProgress: (p) => seen.push(p) });
    expect(m).toMatchObject({ size: CAP, sha256: sha256hex(data), name: "video.mp4", mime: "application/octet-stream", width: null });
    expect(seen[0]).toEqual({ done: 0, total: CAP });
    expect(seen.at(-1)).toEqual({ done: CAP, total: CAP });
    expect(seen.length).toBeGreaterThan(2);
    expect((await mediaInfo(server.url, a.token, m.id)).id).toBe(m.id);

    const dls: Progress[] = [];
    const path = join(dir, "out.bin");
    const d = await downloadMedia(server.url, a.token, m.id, path, { onProgress: (p) => dls.push(p) });
    expect(d).toMatchObject({ path, size: CAP, sha256: sha256hex(data), name: "video.mp4" });
    expect(dls.at(-1)).toEqual({ done: CAP, total: CAP });
    expect(Bun.file(path).size).toBe(CAP);
  }, T);

  test("errors are NatterErrors: too_large over the limit, not_found for others", async () => {
    const big = join(dir, "big.bin");
    writeFileSync(big, bytes(CAP + 1, 12));
    const e1 = await uploadMedia(server.url, a.token, big).catch((e) => e);
    expect(e1).toBeInstanceOf(NatterError);
    expect(e1.code).toBe("too_large");
    const m = await uploadMedia(server.url, a.token, new Blob(["hello"]));
    const e2 = await downloadMedia(server.url, b.token, m.id, join(dir, "x")).catch((e) => e);
    expect(e2).toBeInstanceOf(NatterError);
    expect(e2.code).toBe("not_found");
    expect(existsSync(join(dir, "x.part"))).toBe(false);
    const e3 = await mediaInfo(server.url, b.token, m.id).catch((e) => e);
    expect(e3.code).toBe("not_found");
  }, T);
});
