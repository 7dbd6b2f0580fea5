// `natter chat` without a terminal: a clear message and exit code 2, no stack trace.
import { expect, test } from "bun:test";
import { runCli, tempDir } from "../harness.ts";

test("with no TTY, natter chat explains itself and exits 2", async () => {
  const r = await runCli(["chat"], { env: { NATTER_CONFIG_DIR: tempDir("natter-tui-cfg-") } });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("natter chat: needs an interactive terminal");
  expect(r.stderr).toContain("natter send");
  expect(r.stderr).not.toMatch(/\bat .*\.(ts|js|tsx):\d+/);
  expect(r.stdout).toBe("");
});

test("natter chat --help documents --server and --profile", async () => {
  const r = await runCli(["chat", "--help"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("--server <url>");
  expect(r.stdout).toContain("--profile <name>");
});
