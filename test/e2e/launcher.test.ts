// bin/natter called the ways a user puts it on PATH: a symlink, a chain of
// symlinks, a link through a symlinked directory (`npm link`), a PATH lookup.
// Each runs --help and a real command against a real server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NATTER, ROOT, runCli, startServer, tempDir, type TestServer } from "../harness.ts";

let server: TestServer;
let dir: string;
let phones = 0;

beforeAll(async () => {
  server = await startServer();
  dir = tempDir("natter-links-");
});
afterAll(async () => {
  await server?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** --help, then `admin users add` through `bin` (a path, or a bare name found on PATH). */
async function works(bin: string, env: Record<string, string> = {}): Promise<void> {
  const help = await runCli(["--help"], { bin, env });
  expect(help.stderr).toBe("");
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("Usage: natter");
  const phone = `+1212555${1000 + ++phones}`;
  const r = await runCli(["admin", "--server", server.url, "--data", server.dataDir, "users", "add", "--name", "Linked", "--phone", phone, "--json"], { bin, env });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).user.phone).toBe(phone);
}

test("a symlink in another directory runs natter", async () => {
  const link = join(dir, "natter");
  symlinkSync(NATTER, link);
  await works(link);
});

test("a chain of two symlinks, the second relative, runs natter", async () => {
  mkdirSync(join(dir, "one"));
  mkdirSync(join(dir, "two"));
  symlinkSync(NATTER, join(dir, "one", "natter"));
  symlinkSync("../one/natter", join(dir, "two", "natter"));
  await works(join(dir, "two", "natter"));
});

test("a link through a symlinked project directory (as npm link makes) runs natter", async () => {
  mkdirSync(join(dir, "lib"));
  mkdirSync(join(dir, "bin"));
  symlinkSync(ROOT, join(dir, "lib", "natter"));
  symlinkSync("../lib/natter/bin/natter", join(dir, "bin", "natter"));
  await works(join(dir, "bin", "natter"));
});

test("found on PATH, with a readlink that takes no options (no GNU readlink -f needed)", async () => {
  const path = join(dir, "path");
  mkdirSync(path);
  symlinkSync(NATTER, join(path, "natter"));
  const realReadlink = Bun.which("readlink");
  expect(realReadlink).toBeTruthy();
  // A POSIX-only readlink: any option is an error.
  writeFileSync(join(path, "readlink"), `#!/bin/sh\ncase "$1" in -*) echo "readlink: no options here" >&2; exit 2;; esac\nexec ${realReadlink} "$@"\n`);
  chmodSync(join(path, "readlink"), 0o755);
  await works("natter", { PATH: `${path}:${process.env.PATH}` });
});
