// The compiled binary (npm run build) runs serve, admin and client commands
// with no node_modules: it is copied to an empty temp dir and run from there.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, addUser, runCli, startServer, tempDir, type TestServer } from "../harness.ts";

let dir: string;
let bin: string;
let server: TestServer;

beforeAll(async () => {
  const build = Bun.spawnSync([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "scripts/build.ts")], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  dir = tempDir("natter-bin-");
  bin = join(dir, "natter");
  copyFileSync(join(ROOT, "dist/natter"), bin);
  Bun.spawnSync(["chmod", "755", bin]);
  server = await startServer({ bin });
}, 240_000);

afterAll(async () => {
  await server?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the binary serves, administers and chats", async () => {
  expect((await runCli(["--version"], { bin })).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const alice = await addUser(server, "Alice", "+15551230001");
  const r = await runCli(["admin", "--server", server.url, "--data", server.dataDir, "users", "add", "--name", "Bob", "--phone", "+15551230002", "--json"], { bin });
  expect(r.code).toBe(0);
  const bob = JSON.parse(r.stdout) as { user: { id: string }; code: string };

  const envA = { NATTER_CONFIG_DIR: join(dir, "cfg-a") };
  const envB = { NATTER_CONFIG_DIR: join(dir, "cfg-b") };
  expect((await runCli(["login", "--server", server.url, "--code", alice.code], { bin, env: envA })).code).toBe(0);
  expect((await runCli(["login", "--server", server.url, "--code", bob.code], { bin, env: envB })).code).toBe(0);

  const sent = await runCli(["send", "--to", "+15551230002", "--json", "hello from the binary"], { bin, env: envA });
  expect(sent.code).toBe(0);
  const msg = JSON.parse(sent.stdout) as { channel: string; seq: number; content: string };
  expect(msg.seq).toBe(1);

  const hist = await runCli(["history", msg.channel, "--json"], { bin, env: envB });
  expect(hist.code).toBe(0);
  expect(hist.stdout).toContain("hello from the binary");
  // The checkpoint worker thread is embedded and starts (else the server logs that it fell back).
  expect(server.output()).not.toContain("checkpointer stopped");
}, 60_000);

test("the binary links a second device: code, login line and QR code (qrcode embedded)", async () => {
  const cara = await addUser(server, "Cara", "+15551230003");
  const env = { NATTER_CONFIG_DIR: join(dir, "cfg-c") };
  expect((await runCli(["login", "--server", server.url, "--code", cara.code], { bin, env })).code).toBe(0);
  const r = await runCli(["devices", "link"], { bin, env });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\u001b\[47m.*[▀▄█]/);
  const code = /Link code: (\S+)/.exec(r.stdout)?.[1] ?? "";
  expect(r.stdout).toContain(`natter login --server ${server.url} --code ${code}`);
  expect((await runCli(["login", "--server", server.url, "--code", code], { bin, env: { NATTER_CONFIG_DIR: join(dir, "cfg-d") } })).code).toBe(0);
}, 60_000);
