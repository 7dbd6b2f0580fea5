// The compiled binary serves media too: built with the project's build plugins
// into a temp dir (not dist/, which other tests use), run with no
// node_modules, it sniffs (file-type is bundled), stores, and sends and
// downloads a photo byte-exact through its own client commands.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILD_PLUGINS, ENTRYPOINTS } from "../../scripts/build.ts";
import { addUser, runCli, startServer, tempDir, type TestServer } from "../harness.ts";
import { png, sha256hex } from "./media-helpers.ts";

let dir: string;
let bin: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir("natter-media-bin-");
  bin = join(dir, "natter");
  const result = await Bun.build({
    entrypoints: ENTRYPOINTS,
    compile: { outfile: bin },
    minify: true,
    plugins: BUILD_PLUGINS,
    define: { "process.env.NODE_ENV": '"production"' },
  } as Parameters<typeof Bun.build>[0]);
  if (!result.success) throw new Error(`build failed: ${result.logs.join("\n")}`);
  server = await startServer({ bin, args: ["--max-upload-bytes", "1000000"] });
}, 240_000);

afterAll(async () => {
  await server?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the binary uploads, sniffs, shares and downloads a photo byte-exact", async () => {
  const alice = await addUser(server, "Alice", "+15552340001");
  const bob = await addUser(server, "Bob", "+15552340002");
  const envA = { NATTER_CONFIG_DIR: join(dir, "cfg-a"), NATTER_SERVER: "", NATTER_PROFILE: "" };
  const envB = { NATTER_CONFIG_DIR: join(dir, "cfg-b"), NATTER_SERVER: "", NATTER_PROFILE: "" };
  expect((await runCli(["login", "--server", server.url, "--code", alice.code], { bin, env: envA })).code).toBe(0);
  expect((await runCli(["login", "--server", server.url, "--code", bob.code], { bin, env: envB })).code).toBe(0);

  const photo = png(200, 100);
  const path = join(dir, "photo.png");
  writeFileSync(path, photo);
  const sent = await runCli(["send", "--to", "+15552340002", "--file", path, "--json", "from the binary"], { bin, env: envA });
  expect(sent.stderr).toBe("");
  expect(sent.code).toBe(0);
  const msg = JSON.parse(sent.stdout) as { type: string; media: string };
  expect(msg.type).toBe("image"); // the bundled file-type sniffed it

  const out = join(dir, "got.png");
  const dl = await runCli(["download", msg.media, "-o", out, "--json"], { bin, env: envB });
  expect(dl.code).toBe(0);
  expect(JSON.parse(dl.stdout)).toMatchObject({ mime: "image/png", size: photo.length, sha256: sha256hex(photo) });
  expect(sha256hex(new Uint8Array(await Bun.file(out).arrayBuffer()))).toBe(sha256hex(photo));

  const big = join(dir, "big.bin");
  writeFileSync(big, new Uint8Array(1_000_001));
  const over = await runCli(["send", "--to", "+15552340002", "--file", big], { bin, env: envA });
  expect(over.code).toBe(1);
  expect(over.stderr).toContain("too_large");
}, 60_000);
