// Self-service devices through the real CLI and the client library against a
// real server: `natter devices link` on one machine, the printed `natter
// login` line on another, `natter watch` seeing it, `natter devices` and
// `natter devices revoke`, and NatterClient's typed device methods.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NatterClient } from "../../src/client/index.ts";
import type { DeviceEvent, OwnDevice, ServerEvent } from "../../src/protocol/index.ts";
import { adminFetch, api, makeUser, NATTER, runCli, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";

const T = 60_000;

describe("natter devices", () => {
  let server: TestServer;
  let cfgA: string, cfgB: string;
  let bob: TestUser;
  const dirs: string[] = [];
  const cli = (cfg: string, args: string[]) => runCli(args, { env: { NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" } });
  const saved = (cfg: string) => Bun.file(join(cfg, "profiles", "default.json")).json();

  beforeAll(async () => {
    server = await startServer();
    cfgA = tempDir("natter-cfg-a-");
    cfgB = tempDir("natter-cfg-b-");
    dirs.push(cfgA, cfgB);
    bob = await makeUser(server, "Bob");
    const res = await adminFetch(server, "POST", "/admin/users", { name: "Alice", phone: "+15558880001" });
    const { code } = (await res.json()) as { code: string };
    const r = await cli(cfgA, ["login", "--server", server.url, "--code", code, "--device", "laptop"]);
    expect(r.code).toBe(0);
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("link prints a code whose login line logs in a second machine once; watch on the first shows it", async () => {
    const watch = Bun.spawn([NATTER, "watch", "--json"], { env: { ...process.env, NATTER_CONFIG_DIR: cfgA }, stdout: "pipe", stderr: "pipe" });
    let out = "";
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of watch.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    const events = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as ServerEvent);
    try {
      await until(() => events().find((e) => e.ev === "hello"), 20_000, "hello from watch");

      const before = Date.now();
      const r = await cli(cfgA, ["devices", "link", "--json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const link = JSON.parse(r.stdout);
      expect(link.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      expect(link.server).toBe(server.url);
      expect(link.command).toBe(`natter login --server ${server.url} --code ${link.code}`);
      expect(link.expires_at).toBeGreaterThanOrEqual(before + 5 * 60_000); // the default TTL
      expect(link.expires_at).toBeLessThanOrEqual(Date.now() + 5 * 60_000);

      // Run the printed line, word for word, on the "other machine".
      const words = (link.command as string).split(" ");
      expect(words[0]).toBe("natter");
      const b = await cli(cfgB, words.slice(1));
      expect(b.stderr).toBe("");
      expect(b.code).toBe(0);
      const credsB = await saved(cfgB);
      const credsA = await saved(cfgA);
      expect(credsB.user.id).toBe(credsA.user.id);

      const ev = (await until(() => events().find((e) => e.ev === "device"), 10_000, "device event in watch")) as DeviceEvent;
      expect(ev).toEqual({ ev: "device", user: credsA.user.id, action: "linked", device: credsB.device });

      // Single use: the same line again is refused (unauthorized: exit 4).
      const again = await cli(tempDir("natter-cfg-c-"), words.slice(1));
      expect(again.code).toBe(4);
      expect(again.stderr).toContain("unauthorized");
    } finally {
      watch.kill("SIGINT");
    }
    expect(await watch.exited).toBe(0);
  }, T);

  test("link without --json prints the code, the expiry, the login line and a QR code (or not, with --no-qr)", async () => {
    const r = await cli(cfgA, ["devices", "link"]);
    expect(r.code).toBe(0);
    const code = /Link code: ([A-Z0-9-]{14}) \(works once, expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, in 5 minutes\)/.exec(r.stdout)?.[1];
    expect(code).toBeDefined();
    expect(r.stdout).toContain(`  natter login --server ${server.url} --code ${code}\n`);
    expect(r.stdout).toMatch(/\u001b\[47m.*[▀▄█]/);
    const plain = await cli(cfgA, ["devices", "link", "--no-qr", "--server", server.url + "/"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`natter login --server ${server.url} --code `); // the URL as login saves it
    expect(plain.stdout).not.toMatch(/[▀▄█]/);
  }, T);

  test("devices lists only your own, marking this device, as text and as JSON", async () => {
    const a = await saved(cfgA);
    const b = await saved(cfgB);
    const j = await cli(cfgB, ["devices", "--json"]);
    expect(j.code).toBe(0);
    const { devices } = JSON.parse(j.stdout) as { devices: OwnDevice[] };
    expect(devices.map((d) => [d.id, d.current])).toEqual([
      [a.device.id, false],
      [b.device.id, true],
    ]);
    expect(devices.some((d) => d.id === bob.deviceId)).toBe(false);
    const t = await cli(cfgA, ["devices"]);
    expect(t.code).toBe(0);
    const lines = t.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+LINKED$/);
    expect(lines[1]).toMatch(new RegExp(`^${a.device.id}\\s+laptop\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\(this device\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^${b.device.id}\\s+\\S+`));
    expect(lines).toHaveLength(3);
  }, T);

  test("revoke: someone else's device is not_found (exit 1) and still works; your other device is logged out", async () => {
    const other = await cli(cfgA, ["devices", "revoke", bob.deviceId]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("not_found");
    expect((await api(server, bob.token, "ping")).status).toBe(200);

    const b = await saved(cfgB);
    const r = await cli(cfgA, ["devices", "revoke", b.device.id, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ revoked: { ...b.device, current: false }, this_device: false });
    const chats = await cli(cfgB, ["chats"]);
    expect(chats.code).toBe(4);
    expect(chats.stderr).toContain("unauthorized");
  }, T);

  test("revoking this device logs it out and removes its saved login", async () => {
    const a = await saved(cfgA);
    const r = await cli(cfgA, ["devices", "revoke", a.device.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Revoked this device, laptop (${a.device.id}); you are logged out here.\n`);
    expect(existsSync(join(cfgA, "profiles", "default.json"))).toBe(false);
    expect((await api(server, a.token, "ping")).status).toBe(401);
    const chats = await cli(cfgA, ["chats"]);
    expect(chats.code).toBe(4);
    expect(chats.stderr).toContain("not logged in");
  }, T);
});

describe("client library: devices", () => {
  let server: TestServer;
  const clients: NatterClient[] = [];
  beforeAll(async () => {
    server = await startServer();
  }, T);
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.cleanup();
  });
  const client = (token: string) => {
    const c = new NatterClient({ server: server.url, token, backoff: { baseMs: 50, maxMs: 400 }, requestTimeoutMs: 10_000 });
    clients.push(c);
    c.connect();
    return c;
  };

  test("link, list and revoke through NatterClient; the other device's client hears each; revoking itself takes a client offline", async () => {
    const a = await makeUser(server, "Cleo", "phone");
    const ca = client(a.token);
    const heard: DeviceEvent[] = [];
    ca.on("event", (e) => {
      if (e.ev === "device") heard.push(e);
    });
    await ca.waitOpen();

    const { code, expires_at } = await ca.devices.link();
    expect(expires_at).toBeGreaterThan(Date.now());
    const res = await fetch(server.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, device: "tablet" }) });
    const tablet = (await res.json()) as { token: string; device: { id: string } };
    await until(() => heard.find((e) => e.action === "linked" && e.device.id === tablet.device.id), 10_000, "linked event");

    const cb = client(tablet.token);
    await cb.waitOpen();
    const mine = await cb.devices.list();
    expect(Object.fromEntries(mine.map((d) => [d.id, d.current]))).toEqual({ [a.deviceId]: false, [tablet.device.id]: true });
    await cb.devices.revoke(tablet.device.id);
    await until(() => cb.state === "offline", 10_000, "revoked client offline");
    expect(cb.error?.code).toBe("unauthorized");
    await until(() => heard.find((e) => e.action === "revoked" && e.device.id === tablet.device.id), 10_000, "revoked event");
    await expect(ca.devices.revoke(tablet.device.id)).rejects.toMatchObject({ code: "not_found" });
    expect((await ca.devices.list()).map((d) => d.id)).toEqual([a.deviceId]);
  }, T);
});
