// Hints that print a command print one that works as printed: serve's "next"
// line (a server on another port and data dir) and chats' "start one with"
// (a profile other than the default). Each printed command is then run.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { NATTER, makeUser, runCli, startServer, tempDir, type TestServer } from "../harness.ts";
import { Tmux } from "../tmux.ts";

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

test("serve's 'next:' line at a terminal names --server and --data when the defaults would not find this server", async () => {
  const data = tempDir("natter-hint-data-");
  cleanup.push(() => rmSync(data, { recursive: true, force: true }));
  const tmux = new Tmux();
  cleanup.push(() => tmux.kill());
  // stderr is the terminal (the plain-words summary); the JSON logs go to /dev/null.
  const pane = tmux.newSession("serve", { command: `${NATTER} serve --host 127.0.0.1 --port 0 --data ${data} >/dev/null`, width: 200 });
  const screen = await pane.waitFor(/next:\s+natter .*\n/, 20_000, "serve's next line");
  const next = /next:\s+natter (.*)$/m.exec(screen)![1]!.trim();
  const url = /listening on (http:\S+)/.exec(screen)![1]!;
  expect(next).toBe(`admin --server ${url} --data ${data} users add --name NAME --phone PHONE`);
  const args = next.split(/\s+/).map((a) => (a === "NAME" ? "Hinted" : a === "PHONE" ? "+12125552001" : a));
  const r = await runCli([...args, "--json"], { env: { NATTER_SERVER: "", NATTER_DATA: "", NATTER_ADMIN_TOKEN: "" } });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).user.name).toBe("Hinted");
}, 60_000);

test("chats with no chats yet prints a send command that works for this profile", async () => {
  const server: TestServer = await startServer();
  cleanup.push(() => server.cleanup());
  const cfg = tempDir("natter-hint-cfg-");
  cleanup.push(() => rmSync(cfg, { recursive: true, force: true }));
  const env = { NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" };
  const bob = await makeUser(server, "Bob");
  const add = await runCli(["admin", "--server", server.url, "--data", server.dataDir, "users", "add", "--name", "Ann", "--phone", "+12125552002", "--json"]);
  const { code } = JSON.parse(add.stdout) as { code: string };
  // Only the profile "work" exists: a hint without --profile would not be logged in.
  expect((await runCli(["login", "--server", server.url, "--code", code, "--profile", "work"], { env })).code).toBe(0);
  const r = await runCli(["chats", "--profile", "work"], { env });
  expect(r.code).toBe(0);
  const hint = /Start one with: natter (.*)$/m.exec(r.stdout)?.[1];
  expect(hint).toBe("send --to PHONE TEXT --profile work");
  const args = hint!.split(" ").map((a) => (a === "PHONE" ? bob.user.phone : a === "TEXT" ? "hello from the hint" : a));
  const sent = await runCli(args, { env });
  expect(sent.stderr).toBe("");
  expect(sent.code).toBe(0);
  expect(sent.stdout).toMatch(/^sent d_\w+:1$/m);
}, 60_000);
