// `natter chat` in tmux linking a second device: /link shows a code (and its
// QR code) that `natter login` on another machine accepts; the chat shows
// the "new device linked" notice; /devices lists both and revokes the new
// one after a confirmation. A real server throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, runCli, startServer, tempDir, type TestServer } from "../harness.ts";
import { haveTmux, Tmux, type Pane } from "../tmux.ts";
import { chatPane, loggedInConfig, newUser, savedToken, send, stepsFor, tearDown } from "./tui-helpers.ts";

const T = 60_000;

describe.skipIf(!haveTmux())("device linking in natter chat", () => {
  const tmux = new Tmux("natter-tui-dev");
  let server: TestServer | null = null;
  const dirs: string[] = [];
  let pane: Pane;
  let aliceCfg = "";
  const deskCfg = tempDir("natter-tui-desk-");
  const step = stepsFor(tmux, () => server);
  let code = "";

  beforeAll(async () => {
    server = await startServer();
    const a = await newUser(server, "alice");
    aliceCfg = await loggedInConfig(server, a.code);
    dirs.push(aliceCfg, deskCfg);
  });
  afterAll(() => tearDown(tmux, server, dirs));

  test(
    "/link shows a code with its QR code; natter login with it links the desk, once; the chat says so",
    step(async () => {
      pane = chatPane(tmux, "alice", aliceCfg, { width: 100, height: 30 });
      await pane.waitFor("alice · 127.0.0.1", 15_000);
      await send(pane, "/link");
      const screen = await pane.waitFor(/Code: [A-Z0-9-]{14} · works once · expires in \d:\d\d/, 10_000, "the link code");
      code = /Code: ([A-Z0-9-]{14})/.exec(screen)![1]!;
      expect(screen).toMatch(/[▀▄█]{7}/); // the QR code fits a 100x30 terminal
      expect(screen.replace(/\s+/g, " ")).toContain(`natter login --server ${server!.url} --code ${code}`);

      const r = await runCli(["login", "--server", server!.url, "--code", code, "--device", "desk"], { env: { NATTER_CONFIG_DIR: deskCfg } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      await pane.waitFor("New device linked: desk", 10_000, "the notice in the chat");
      const again = await runCli(["login", "--server", server!.url, "--code", code], { env: { NATTER_CONFIG_DIR: tempDir("natter-tui-again-") } });
      expect(again.code).toBe(4);
      pane.keys("Escape");
      await pane.waitGone("Link a new device");
    }),
    T,
  );

  test(
    "/devices lists both; revoking the desk asks first, and y logs it out",
    step(async () => {
      await send(pane, "/devices");
      await pane.waitFor("Your devices", 10_000);
      await pane.waitFor(/tmux +dv_\w+ +linked .*\(this device\)/);
      await pane.waitFor(/desk +dv_\w+ +linked/);
      // Down to the desk, x asks, another key cancels: nothing is revoked.
      pane.keys("Down", "x");
      await pane.waitFor("Revoke desk");
      pane.keys("n");
      await pane.waitGone("Revoke desk");
      expect((await api(server!, savedToken(deskCfg), "ping")).status).toBe(200);
      pane.keys("x");
      await pane.waitFor("Revoke desk");
      pane.keys("y");
      await pane.waitFor("revoked desk; it is logged out", 10_000);
      await pane.waitGone(/desk +dv_/);
      expect((await api(server!, savedToken(deskCfg), "ping")).status).toBe(401);
      expect((await api(server!, savedToken(aliceCfg), "ping")).status).toBe(200);
    }),
    T,
  );

  test(
    "a small terminal shows the code and the login line without the QR code",
    step(async () => {
      pane.keys("Escape");
      await pane.waitGone("Your devices");
      pane.resize(100, 16);
      await send(pane, "/link");
      const screen = await pane.waitFor(/Code: [A-Z0-9-]{14}/, 10_000, "the link code");
      expect(screen).not.toMatch(/[▀▄█]{7}/);
      expect(screen).toContain("a larger window shows it as a QR code");
      const small = /Code: ([A-Z0-9-]{14})/.exec(screen)![1]!;
      expect(small).not.toBe(code);
    }),
    T,
  );
});
