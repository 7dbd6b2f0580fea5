// Phone numbers end to end: one number is one person however it is typed
// (admin CLI, findUser, natter send), the server's --phone-region, and rows
// stored by servers before E.164 normalisation (staged with the real store).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Message, User } from "../../src/protocol/index.ts";
import { SqliteStore } from "../../src/server/store/sqlite/sqlite-store.ts";
import { adminFetch, api, makeUser, runCli, startServer, tempDir, until, type TestServer, type TestUser } from "../harness.ts";
import { logLines, makeUserWithPhone } from "./server-helpers.ts";

const T = 60_000;

const adminCli = (server: TestServer, ...args: string[]) => runCli(["admin", "--server", server.url, "--data", server.dataDir, ...args]);
const listUsers = async (server: TestServer): Promise<Array<User & { phone_ok: boolean; phone_e164?: string | null }>> =>
  ((await (await adminFetch(server, "GET", "/admin/users")).json()) as { users: any[] }).users;

describe("without a default region", () => {
  let server: TestServer;
  let caller: TestUser;
  beforeAll(async () => {
    server = await startServer();
    caller = await makeUser(server, "Caller");
  }, T);
  afterAll(() => server?.cleanup());

  test("users add stores E.164; any other spelling of the number is the same person (conflict)", async () => {
    const a = await adminCli(server, "users", "add", "--name", "Ann", "--phone", "0044 20 7946 0958", "--json");
    expect(a.stderr).toBe("");
    expect(JSON.parse(a.stdout).user.phone).toBe("+442079460958");
    for (const p of ["+44 20 7946 0958", "+442079460958", "+44 (0)20 7946-0958", "00442079460958"]) {
      const r = await adminCli(server, "users", "add", "--name", "Again", "--phone", p, "--json");
      expect({ p, code: r.code, conflict: r.stderr.includes("conflict") }).toEqual({ p, code: 1, conflict: true });
    }
    expect((await listUsers(server)).filter((u) => u.name === "Again")).toEqual([]);
  }, T);

  test("15550001, +1 555 and other non-numbers are refused with the reason, and nothing is stored", async () => {
    const before = await listUsers(server);
    const cases: Array<[string, string]> = [
      ["15550001", "no country code"],
      ["+1 555", "too short for +1"],
      ["12025550101", "no country code"],
      ["020 7946 0958", "no country code"],
      ["+1 202 555 0101 ext 9", "only digits"],
      ["call me", "only digits"],
      ["+999 1234 5678", "unknown country code"],
    ];
    for (const [p, why] of cases) {
      const r = await adminCli(server, "users", "add", "--name", "Nope", "--phone", p, "--json");
      expect({ p, code: r.code, stdout: r.stdout }).toEqual({ p, code: 1, stdout: "" });
      const err = JSON.parse(r.stderr).error;
      expect(err.code).toBe("bad_request");
      expect(err.message).toBe(`not a phone number: ${JSON.stringify(p)} (${err.message.split(" (")[1]}`);
      expect(err.message).toContain(why);
    }
    expect(await listUsers(server)).toEqual(before);
  }, T);

  test("findUser finds a user by any spelling; a non-number is bad_request, an unknown number not_found", async () => {
    const bob = await makeUserWithPhone(server, "Bob", "+1 202 555 0102");
    expect(bob.user.phone).toBe("+12025550102");
    for (const p of ["+1 202 555 0102", "+1 (202) 555-0102", "+1.202.555.0102", "001 202 555 0102", "+1\u00a0202\u2011555\u20110102"]) {
      const r = await api(server, caller.token, "findUser", { phone: p });
      expect({ p, status: r.status, id: r.body.user?.id }).toEqual({ p, status: 200, id: bob.user.id });
    }
    const short = await api(server, caller.token, "findUser", { phone: "+1 555" });
    expect({ status: short.status, code: short.body.error.code }).toEqual({ status: 400, code: "bad_request" });
    expect(short.body.error.message).toBe('not a phone number: "+1 555" (too short for +1)');
    expect((await api(server, caller.token, "findUser", { phone: "bob" })).body.error.code).toBe("bad_request");
    expect((await api(server, caller.token, "findUser", { phone: "+1 202 555 0199" })).status).toBe(404);
  }, T);

  test("natter send --to takes the number as typed: every spelling reaches the one direct chat", async () => {
    const carol = await makeUserWithPhone(server, "Carol", "+12025550103");
    const res = await adminFetch(server, "POST", `/admin/users/${caller.user.id}/code`);
    const { code } = (await res.json()) as { code: string };
    const cfg = tempDir("natter-phone-cfg-");
    try {
      const env = { NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" };
      expect((await runCli(["login", "--server", server.url, "--code", code], { env })).code).toBe(0);
      const channels = new Set<string>();
      for (const to of ["+1 202 555 0103", "001 202 555 0103", "+1.202.555.0103", "+1 (202) 555-0103"]) {
        const r = await runCli(["send", "--to", to, "--json", `to ${to}`], { env });
        expect({ to, code: r.code, stderr: r.stderr }).toEqual({ to, code: 0, stderr: "" });
        channels.add((JSON.parse(r.stdout) as Message).channel);
      }
      expect(channels.size).toBe(1);
      const h = await api(server, carol.token, "getMessages", { channel: [...channels][0] });
      expect(h.body.messages.length).toBe(4);
      const bad = await runCli(["send", "--to", "+1 555", "hi"], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('not a phone number: "+1 555" (too short for +1) (bad_request)');
    } finally {
      rmSync(cfg, { recursive: true, force: true });
    }
  }, T);
});

describe("--phone-region", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--phone-region", "gb"] });
  }, T);
  afterAll(() => server?.cleanup());

  test("national numbers are read in the region; numbers with a country code are unaffected", async () => {
    const a = JSON.parse((await adminCli(server, "users", "add", "--name", "Dee", "--phone", "020 7946 0958", "--json")).stdout);
    expect(a.user.phone).toBe("+442079460958");
    const again = await adminCli(server, "users", "add", "--name", "Dup", "--phone", "+44 20 7946 0958", "--json");
    expect(again.stderr).toContain("conflict");
    const us = JSON.parse((await adminCli(server, "users", "add", "--name", "Sam", "--phone", "+1 202 555 0101", "--json")).stdout);
    expect(us.user.phone).toBe("+12025550101");
    const caller = await makeUser(server, "Caller");
    expect((await api(server, caller.token, "findUser", { phone: "(020) 7946 0958" })).body.user.id).toBe(a.user.id);
    expect((await api(server, caller.token, "findUser", { phone: "0207 946 0958" })).body.user.id).toBe(a.user.id);
  }, T);

  test("an unknown region stops natter serve with exit 2, naming the option", async () => {
    const dir = tempDir();
    try {
      const r = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", "--data", dir, "--phone-region", "UK"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--phone-region: phone-region must be a two-letter country code such as GB or US (got "UK")');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, T);
});

describe("rows stored before normalisation", () => {
  let server: TestServer;
  const dataDir = tempDir("natter-legacy-");
  // What servers before E.164 stored: the phone as typed minus spaces, dashes, dots and parentheses.
  const legacy: Record<string, string> = {
    u_legacydigits: "12025550104",
    u_legacy00: "00442079460959",
    u_legacynational: "02079460960",
    u_legacyshort: "+1555",
    u_legacytwina: "12025550105",
    u_legacytwinb: "0012025550105",
  };
  beforeAll(async () => {
    const store = new SqliteStore({ dir: dataDir, shards: 16, synchronous: "normal" });
    for (const [id, phone] of Object.entries({ ...legacy, u_current: "+12025550106" }))
      await store.createUser({ id, name: id.slice(2), phone, created_at: 1, last_seen: null });
    await store.close();
    server = await startServer({ dataDir, args: ["--phone-region", "GB"] });
  }, T);
  afterAll(async () => {
    await server?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("at start the server warns once per user whose phone is not E.164, with what it stands for", async () => {
    const lines = () => logLines(server);
    const done = await until(() => lines().find((l) => l.msg === "phones checked"), 10_000, "phones checked");
    expect(done).toMatchObject({ level: "info", users: 7, not_e164: 6 });
    const warned = lines().filter((l) => l.msg.startsWith("phone not in E.164"));
    expect(warned.every((l) => l.level === "warn")).toBe(true);
    const byUser = Object.fromEntries(warned.map((l) => [l.user, { phone: l.phone, normalised: l.normalised, same: l.same_number_as }]));
    expect(byUser).toEqual({
      u_legacydigits: { phone: "12025550104", normalised: "+12025550104", same: undefined },
      u_legacy00: { phone: "00442079460959", normalised: "+442079460959", same: undefined },
      u_legacynational: { phone: "02079460960", normalised: "+442079460960", same: undefined },
      u_legacyshort: { phone: "+1555", normalised: "invalid", same: undefined },
      u_legacytwina: { phone: "12025550105", normalised: "+12025550105", same: ["u_legacytwinb"] },
      u_legacytwinb: { phone: "0012025550105", normalised: "+12025550105", same: ["u_legacytwina"] },
    });
  }, T);

  test("admin users list marks them; --json has phone_ok and phone_e164", async () => {
    const r = await adminCli(server, "users", "list", "--json");
    const users = JSON.parse(r.stdout).users as Array<User & { phone_ok: boolean; phone_e164?: string | null }>;
    const marks = Object.fromEntries(users.map((u) => [u.id, [u.phone_ok, u.phone_e164]]));
    expect(marks).toEqual({
      u_legacydigits: [false, "+12025550104"],
      u_legacy00: [false, "+442079460959"],
      u_legacynational: [false, "+442079460960"],
      u_legacyshort: [false, null],
      u_legacytwina: [false, "+12025550105"],
      u_legacytwinb: [false, "+12025550105"],
      u_current: [true, undefined],
    });
    const human = (await adminCli(server, "users", "list")).stdout;
    expect(human).toContain("12025550104 (not E.164: +12025550104)");
    expect(human).toContain("+1555 (not E.164: invalid)");
    expect(human).toMatch(/\+12025550106\s/);
    expect(human).toContain('6 phone(s) stored before E.164 normalisation; see docs/operations.md, "Upgrading: phone numbers"');
  }, T);

  test("the normalised number still finds a legacy row, and cannot be given to someone else", async () => {
    const caller = await makeUser(server, "Caller");
    const find = async (phone: string) => (await api(server, caller.token, "findUser", { phone })).body.user?.id;
    expect(await find("+1 202 555 0104")).toBe("u_legacydigits");
    expect(await find("+44 20 7946 0959")).toBe("u_legacy00");
    expect(await find("020 7946 0960")).toBe("u_legacynational");
    expect(await find("+1555")).toBe("u_legacyshort"); // no longer a valid number: found only as stored
    expect(await find("+1 202 555 0106")).toBe("u_current");
    for (const p of ["+1 202 555 0104", "0044 20 7946 0959", "+442079460960"]) {
      const r = await adminCli(server, "users", "add", "--name", "Taken", "--phone", p, "--json");
      expect({ p, conflict: r.stderr.includes("conflict") }).toEqual({ p, conflict: true });
    }
  }, T);
});
