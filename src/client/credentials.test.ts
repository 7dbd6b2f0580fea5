import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configDir, credentialsPath, knownServers, loadCredentials, saveCredentials, saveLearnedNodes, type Credentials } from "./credentials.ts";

const creds: Credentials = {
  server: "http://127.0.0.1:1234",
  servers: ["http://127.0.0.1:1234"],
  token: "secret-token",
  user: { id: "u_1", name: "Ann", phone: "+15550001", last_seen: null },
  device: { id: "dv_1", name: "laptop", created_at: 1 },
};

describe("credentials", () => {
  let dir: string;
  const keys = ["NATTER_CONFIG_DIR", "XDG_CONFIG_HOME", "HOME"] as const;
  const saved = keys.map((k) => process.env[k]);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "natter-creds-"));
    process.env.NATTER_CONFIG_DIR = join(dir, "cfg");
  });
  afterEach(() => {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
    rmSync(dir, { recursive: true, force: true });
  });

  test("configDir prefers NATTER_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(configDir()).toBe(join(dir, "cfg"));
    delete process.env.NATTER_CONFIG_DIR;
    process.env.XDG_CONFIG_HOME = join(dir, "xdg");
    expect(configDir()).toBe(join(dir, "xdg", "natter"));
    delete process.env.XDG_CONFIG_HOME;
    process.env.HOME = join(dir, "home");
    expect(configDir()).toBe(join(dir, "home", ".config", "natter"));
  });

  test("save writes a 0600 file in a 0700 directory and load reads it back", () => {
    const path = saveCredentials(creds);
    expect(path).toBe(join(dir, "cfg", "profiles", "default.json"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "cfg", "profiles")).mode & 0o777).toBe(0o700);
    expect(loadCredentials()).toEqual(creds);
  });

  test("profiles are separate and a missing profile is null", () => {
    saveCredentials({ ...creds, token: "other" }, "work");
    expect(loadCredentials("work")?.token).toBe("other");
    expect(loadCredentials()).toBeNull();
  });

  test("saving over an existing file keeps it 0600", () => {
    const path = saveCredentials(creds);
    writeFileSync(path, "{}", { mode: 0o644 });
    saveCredentials(creds);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("profile names cannot escape the directory", () => {
    expect(() => credentialsPath("../x")).toThrow(/invalid profile/);
    expect(() => credentialsPath("")).toThrow(/invalid profile/);
  });

  test("a malformed file is reported, not treated as logged out", () => {
    const path = saveCredentials(creds);
    writeFileSync(path, JSON.stringify({ server: "x" }));
    expect(() => loadCredentials()).toThrow(/malformed/);
  });

  test("a profile of one URL string (older natter) loads as a list of one", () => {
    const path = saveCredentials(creds);
    const { servers: _s, ...old } = creds;
    writeFileSync(path, JSON.stringify(old));
    expect(loadCredentials()).toEqual(creds);
  });

  test("several servers: `server` is the first (for older readers); learned nodes follow them, saved only for the same token", () => {
    const path = saveCredentials({ ...creds, server: "http://a:1", servers: ["http://a:1", "http://b:2"] });
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ server: "http://a:1", servers: ["http://a:1", "http://b:2"] });
    expect(saveLearnedNodes("default", "another-token", ["http://c:3"])).toBe(false);
    expect(saveLearnedNodes("default", creds.token, ["http://c:3"])).toBe(true);
    expect(saveLearnedNodes("default", creds.token, ["http://c:3"])).toBe(false);
    const c = loadCredentials()!;
    expect(c.nodes).toEqual(["http://c:3"]);
    expect(knownServers(c)).toEqual(["http://a:1", "http://b:2", "http://c:3"]);
    writeFileSync(path, JSON.stringify({ ...c, servers: [] }));
    expect(() => loadCredentials()).toThrow(/malformed/);
  });
});
