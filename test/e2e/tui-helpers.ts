// Helpers for the terminal tests: users with login codes, credentials saved
// by the real `natter login`, and `natter chat` panes in tmux.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { User } from "../../src/protocol/index.ts";
import { adminFetch, makeUser, NATTER, ROOT, runCli, startServer, tempDir, type TestServer, type TestUser } from "../harness.ts";
import type { Pane, Tmux } from "../tmux.ts";

let n = 0;
/** A phone number unique to this test process. */
export function phone(): string {
  return `+1777${String(process.pid % 10000).padStart(4, "0")}${String(++n).padStart(3, "0")}`;
}

/** Creates a user through the admin API; returns it with a one-time login code. */
export async function newUser(server: TestServer, name: string): Promise<{ user: User; code: string }> {
  const res = await adminFetch(server, "POST", "/admin/users", { name, phone: phone() });
  if (res.status !== 200 && res.status !== 201) throw new Error(`create user failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { user: User; code: string };
}

/** A config dir holding credentials saved by `natter login` (the real CLI). */
export async function loggedInConfig(server: TestServer, code: string): Promise<string> {
  const dir = tempDir("natter-tui-cfg-");
  const r = await runCli(["login", "--server", server.url, "--code", code, "--device", "tmux"], { env: { NATTER_CONFIG_DIR: dir } });
  if (r.code !== 0) throw new Error(`natter login failed (${r.code}): ${r.stderr}${r.stdout}`);
  return dir;
}

/**
 * A fresh server (data dir named by `prefix`) with alice, logged in by `natter login` into a config
 * dir for `natter chat`, and bob, who talks through the API with his token. Every temp path goes to `paths`.
 */
export async function twoPeople(prefix: string, paths: string[]): Promise<{ server: TestServer; alice: User; aliceCfg: string; aliceToken: string; bob: TestUser }> {
  const server = await startServer({ dataDir: tempDir(prefix) });
  paths.push(server.dataDir);
  const a = await newUser(server, "alice");
  const bob = await makeUser(server, "bob");
  const aliceCfg = await loggedInConfig(server, a.code);
  paths.push(aliceCfg);
  return { server, alice: a.user, aliceCfg, aliceToken: savedToken(aliceCfg), bob };
}

/** The device token saved in a config dir (for checking the server's view through the API). */
export function savedToken(configDir: string): string {
  return JSON.parse(readFileSync(join(configDir, "profiles", "default.json"), "utf8")).token;
}

/** Starts `natter chat` in a new tmux session with its own config dir, NO_COLOR set; `exitFile` receives its exit status. */
export function chatPane(
  tmux: Tmux,
  name: string,
  configDir: string,
  opts: { width?: number; height?: number; args?: string[]; exitFile?: string } = {},
): Pane {
  const cmd = [NATTER, "chat", ...(opts.args ?? [])].map((a) => `'${a}'`).join(" ");
  return tmux.newSession(name, {
    // The exit status goes to a file: more dependable than tmux's dead-pane report.
    command: opts.exitFile ? `${cmd}; echo $? > '${opts.exitFile}'` : cmd,
    cwd: ROOT,
    env: { NATTER_CONFIG_DIR: configDir, NO_COLOR: "1", TERM: "xterm-256color" },
    width: opts.width ?? 100,
    height: opts.height ?? 30,
  });
}

/** Types text, waits until the composer shows it, then presses Enter: a message typed at a human pace (bursts are tui-input.test.ts's). */
export async function send(pane: Pane, text: string): Promise<void> {
  pane.type(text);
  const firstLine = text.split(/\r|\n/)[0]!;
  await pane.waitFor(`› ${firstLine}`, 5_000, `composer to show "${firstLine}"`);
  pane.keys("Enter");
  await pane.waitGone(`› ${firstLine}`, 5_000);
}

/** How many times `s` occurs in `screen`. */
export function count(screen: string, s: string): number {
  return screen.split(s).length - 1;
}

/** Wraps test bodies with withDump: `const step = stepsFor(tmux, () => server); test("...", step(async () => {...}))`. */
export function stepsFor(tmux: Tmux, server: () => TestServer | null) {
  return (body: () => Promise<void>) => () => withDump(tmux, server, body);
}

/** Ends a terminal test file: its tmux server (every pane), the natter server and its data, and the temp paths. */
export async function tearDown(tmux: Tmux, server: TestServer | null, paths: string[]): Promise<void> {
  tmux.kill();
  await server?.cleanup();
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

/**
 * Runs a test body; on failure prints every pane and the server log's tail,
 * so the reader of the test output sees what the terminals showed.
 */
export async function withDump(tmux: Tmux, server: () => TestServer | null, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const log = server()?.output().slice(-4000) ?? "(no server)";
    console.error(`\n${tmux.dumpAll()}\n---------- server log (tail) ----------\n${log}\n`);
    throw e;
  }
}

/**
 * What is wrong with a chat screen (an open conversation, composer focused) at `width` x `height`:
 * the frame takes height-1 rows (header, title first; the composer and its divider; the status
 * line last), no row is wider than the terminal, dividers span the pane exactly, and with the chat
 * list beside it (60 columns and more) the pane border runs the full height in one column.
 * Empty when the frame is whole.
 */
export function frameProblems(screen: string, o: { width: number; height: number; title: string; who: string; text: string }): string[] {
  const rows = screen.split("\n").slice(0, o.height);
  while (rows.length < o.height) rows.push("");
  const problems: string[] = [];
  const wide = o.width >= 60;
  const w = (s: string) => Bun.stringWidth(s);
  rows.forEach((r, i) => w(r) > o.width && problems.push(`row ${i} is ${w(r)} wide`));
  // In the wide layout the conversation pane starts after the border column.
  const border = wide ? rows[0]!.indexOf("│") : -1;
  if (wide && border < 1) problems.push("no pane border on the first row");
  const pane = (r: string) => (wide ? r.slice(border + 1) : r);
  const main = rows.slice(0, o.height - 2);
  if (wide) main.forEach((r, i) => r[border] !== "│" && problems.push(`row ${i} has no border at column ${border}`));
  const paneW = wide ? o.width - w(rows[0]!.slice(0, border)) - 1 : o.width;
  const divider = "─".repeat(paneW);
  if (pane(rows[0]!) !== o.title) problems.push(`row 0 is not the title "${o.title}": "${pane(rows[0]!)}"`);
  if (pane(rows[2]!) !== divider) problems.push(`row 2 is not a ${paneW}-wide divider`);
  if (pane(rows[o.height - 4]!) !== divider) problems.push(`row ${o.height - 4} is not a ${paneW}-wide divider`);
  if (!pane(rows[o.height - 3]!).startsWith("› ")) problems.push(`row ${o.height - 3} is not the composer`);
  if (!rows[o.height - 2]!.includes(o.who)) problems.push(`row ${o.height - 2} is not the status line`);
  if (rows[o.height - 1]!.trim() !== "") problems.push("the last row is not empty");
  if (!rows.some((r) => pane(r).includes(o.text))) problems.push(`"${o.text}" is not on screen`);
  return problems;
}
