// The admin CLI against a real server: the exact forms other clients rely on
// (`users add --json`, `users code --json`), --help, env variables, and a
// few human tables.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminFetch, api, login, makeUser, runCli, startServer, tempDir, WsClient, type TestServer } from "../harness.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.cleanup();
});

const admin = (...args: string[]) => runCli(["admin", "--server", server.url, "--data", server.dataDir, ...args]);

describe("the contract forms", () => {
  test("users add --json prints exactly one JSON object {user, code}; the code logs in", async () => {
    const r = await admin("users", "add", "--name", "Cli Ann", "--phone", "+447700901001", "--json");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["code", "user"]);
    expect(out.user).toMatchObject({ name: "Cli Ann", phone: "+447700901001" });
    expect(typeof out.user.id).toBe("string");
    const l = await login(server, out.code, "cli");
    expect(l.user.id).toBe(out.user.id);
  }, 20_000);

  test("users code USER_ID --json prints {code}, a fresh code for another device", async () => {
    const add = JSON.parse((await admin("users", "add", "--name", "Cli Bob", "--phone", "+447700901002", "--json")).stdout);
    const r = await admin("users", "code", add.user.id, "--json");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").length).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["code"]);
    expect(out.code).not.toBe(add.code);
    const l1 = await login(server, add.code, "one");
    const l2 = await login(server, out.code, "two");
    expect(l2.user.id).toBe(l1.user.id);
    expect(l2.device.id).not.toBe(l1.device.id);
  }, 20_000);

  test("users add with a taken phone fails with a non-zero exit and says why", async () => {
    await admin("users", "add", "--name", "First", "--phone", "+447700901003", "--json");
    const r = await admin("users", "add", "--name", "Second", "--phone", "+447700901003", "--json");
    expect(r.code).not.toBe(0);
    expect(r.stdout.trim()).toBe("");
    expect(r.stderr).toContain("conflict");
  }, 20_000);

  test("NATTER_SERVER and NATTER_ADMIN_TOKEN replace --server/--data", async () => {
    const r = await runCli(["admin", "users", "add", "--name", "Env", "--phone", "+447700901004", "--json"], {
      env: { NATTER_SERVER: server.url, NATTER_ADMIN_TOKEN: server.adminToken },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).user.name).toBe("Env");
  }, 20_000);

  test("admin --token-file reads the token from a file (kept out of ps); a missing file exits 4", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tok"), server.adminToken + "\n");
    const r = await runCli(["admin", "--server", server.url, "--token-file", join(dir, "tok"), "stats", "--json"], { env: { NATTER_ADMIN_TOKEN: "wrong" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    writeFileSync(join(dir, "bad"), "wrong\n");
    const bad = await runCli(["admin", "--server", server.url, "--token-file", join(dir, "bad"), "stats"], { env: { NATTER_ADMIN_TOKEN: "" } });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain(`the admin token from ${join(dir, "bad")} was not accepted`);
    const missing = await runCli(["admin", "--server", server.url, "--token-file", join(dir, "none"), "stats"], { env: { NATTER_ADMIN_TOKEN: "" } });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("no such file");
  }, 20_000);

  test("an unreachable server is a clear error, exit 3", async () => {
    const down = await runCli(["admin", "users", "list"], { env: { NATTER_SERVER: "http://127.0.0.1:1", NATTER_ADMIN_TOKEN: "x" } });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain("cannot reach the server at http://127.0.0.1:1");
  }, 20_000);

  test("a wrong admin token is 'not accepted' (naming where it came from), a missing one 'required'; both exit 4", async () => {
    const wrongEnv = await runCli(["admin", "--server", server.url, "users", "list"], { env: { NATTER_ADMIN_TOKEN: "wrong" } });
    expect(wrongEnv.code).toBe(4);
    expect(wrongEnv.stderr).toContain(`the admin token from NATTER_ADMIN_TOKEN was not accepted by ${server.url}`);
    const wrongFlag = await runCli(["admin", "--server", server.url, "--token", "wrong", "users", "list"], { env: { NATTER_ADMIN_TOKEN: "" } });
    expect(wrongFlag.code).toBe(4);
    expect(wrongFlag.stderr).toContain("the admin token from --token was not accepted");
    const missing = await runCli(["admin", "--server", server.url, "--data", "/nonexistent", "users", "list"], { env: { NATTER_ADMIN_TOKEN: "" } });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("no admin token");
    // The server's own words, for any HTTP client.
    const none = await fetch(`${server.url}/admin/users`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toBe("admin token required");
    const wrong = await fetch(`${server.url}/admin/users`, { headers: { authorization: "Bearer wrong" } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe("admin token not accepted");
  }, 20_000);

  test("admin --server takes host:port (http:// assumed); an unknown host exits 3; another scheme is a usage error", async () => {
    const r = await runCli(["admin", "--server", `127.0.0.1:${server.port}`, "--data", server.dataDir, "stats", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const unknown = await runCli(["admin", "--server", "nonexistent.invalid:8080", "--data", server.dataDir, "stats"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("unknown host");
    const bad = await runCli(["admin", "--server", "ftp://127.0.0.1", "--data", server.dataDir, "stats"]);
    expect(bad.code).toBe(2);
  }, 20_000);
});

describe("help and human output", () => {
  test("--help works for natter, admin, admin users, serve", async () => {
    for (const args of [["--help"], ["admin", "--help"], ["admin", "users", "--help"], ["serve", "--help"]]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage:/);
    }
    const users = await runCli(["admin", "users", "--help"]);
    for (const cmd of ["add", "list", "show", "remove", "code"]) expect(users.stdout).toContain(cmd);
    const adm = await runCli(["admin", "--help"]);
    for (const cmd of ["users", "devices", "groups", "stats"]) expect(adm.stdout).toContain(cmd);
    const serve = await runCli(["serve", "--help"]);
    for (const flag of ["--host", "--port", "--data"]) expect(serve.stdout).toContain(flag);
  }, 30_000);

  test("users list: a human table with names and phones; --json is the same data", async () => {
    await admin("users", "add", "--name", "Table Tom", "--phone", "+447700901005", "--json");
    const human = await admin("users", "list");
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("Table Tom");
    expect(human.stdout).toContain("+447700901005");
    expect(() => JSON.parse(human.stdout)).toThrow();
    const json = await admin("users", "list", "--json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    const users = Array.isArray(parsed) ? parsed : parsed.users;
    expect(users.find((u: any) => u.phone === "+447700901005").name).toBe("Table Tom");
  }, 20_000);

  test("users show, devices list, stats print human text", async () => {
    const add = JSON.parse((await admin("users", "add", "--name", "Dev Dora", "--phone", "+447700901006", "--json")).stdout);
    await login(server, add.code, "dora-phone");
    const show = await admin("users", "show", add.user.id);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("Dev Dora");
    const devs = await admin("devices", "list", add.user.id);
    expect(devs.code).toBe(0);
    expect(devs.stdout).toContain("dora-phone");
    const stats = await admin("stats");
    expect(stats.code).toBe(0);
    expect(stats.stdout.trim().length).toBeGreaterThan(0);
  }, 20_000);

  test("users remove deletes the user", async () => {
    const add = JSON.parse((await admin("users", "add", "--name", "Gone Gus", "--phone", "+447700901007", "--json")).stdout);
    const r = await admin("users", "remove", add.user.id);
    expect(r.code).toBe(0);
    expect((await adminFetch(server, "GET", `/admin/users/${add.user.id}`)).status).toBe(404);
  }, 20_000);
});

describe("groups and devices", () => {
  test("groups create/list/show/add/remove/invite, human and --json", async () => {
    const [o, m, n] = await Promise.all([makeUser(server, "Gro Owner"), makeUser(server, "Gro Mem"), makeUser(server, "Gro New")]);
    const created = await admin("groups", "create", "--name", "Cli Crew", "--owner", o!.user.id, "--members", m!.user.id, "--json");
    expect(created.code).toBe(0);
    const cj = JSON.parse(created.stdout);
    const g = cj.channel ?? cj.group ?? cj;
    expect(g).toMatchObject({ kind: "group", name: "Cli Crew", admins: [o!.user.id] });
    expect([...g.members].sort()).toEqual([o!.user.id, m!.user.id].sort());

    const list = await admin("groups", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("Cli Crew");
    const show = await admin("groups", "show", g.id);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("Cli Crew");

    expect((await admin("groups", "add", g.id, n!.user.id)).code).toBe(0);
    let now = (await api(server, o!.token, "getAll")).body.channels.find((c: any) => c.id === g.id);
    expect(now.members).toContain(n!.user.id);
    expect((await admin("groups", "remove", g.id, n!.user.id)).code).toBe(0);
    now = (await api(server, o!.token, "getAll")).body.channels.find((c: any) => c.id === g.id);
    expect(now.members).not.toContain(n!.user.id);

    const inv = await admin("groups", "invite", g.id, "--json");
    expect(inv.code).toBe(0);
    const { invite } = JSON.parse(inv.stdout);
    const joined = await api(server, n!.token, "joinGroup", { channel: g.id, invite });
    expect(joined.status).toBe(200);
    expect(joined.body.channel.members).toContain(n!.user.id);
  }, 30_000);

  test("devices list and revoke: the revoked device's socket closes with 4401", async () => {
    const u = await makeUser(server, "Dev Rev", "old-phone");
    const c = await WsClient.connect(server, u.token);
    const list = await admin("devices", "list", u.user.id, "--json");
    expect(list.code).toBe(0);
    const parsed = JSON.parse(list.stdout);
    const devices = Array.isArray(parsed) ? parsed : parsed.devices;
    expect(devices.map((d: any) => d.name)).toEqual(["old-phone"]);
    const r = await admin("devices", "revoke", u.deviceId);
    expect(r.code).toBe(0);
    expect((await c.waitClosed(5000)).code).toBe(4401);
    expect((await api(server, u.token, "ping")).status).toBe(401);
  }, 20_000);
});

