import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULTS, envName, loadConfig } from "./config.ts";

test("defaults need no config at all", () => {
  expect(loadConfig({}, {})).toEqual(DEFAULTS);
  expect(DEFAULTS.data).toBe("./data");
  expect(DEFAULTS.maxMessageBytes).toBe(65536);
  expect(DEFAULTS.maxGroupMembers).toBe(100);
});

test("precedence: defaults < file < NATTER_* env < flags", () => {
  const f = join(mkdtempSync(join(tmpdir(), "natter-cfg-")), "natter.json");
  writeFileSync(f, JSON.stringify({ port: 9000, heartbeatMs: 1000, "rate-burst": 7, host: "127.0.0.2" }));
  const c = loadConfig({ port: "9100" }, { NATTER_HEARTBEAT_MS: "2000", NATTER_CONFIG: f }, undefined);
  expect(c.port).toBe(9100); // flag beats env and file
  expect(c.heartbeatMs).toBe(2000); // env beats file
  expect(c.rateBurst).toBe(7); // file (flag-style key) beats default
  expect(c.host).toBe("127.0.0.2");
});

test("bad values are refused with the source named", () => {
  expect(() => loadConfig({ port: "eighty" }, {})).toThrow(ConfigError);
  expect(() => loadConfig({}, { NATTER_SYNC: "sometimes" })).toThrow(/NATTER_SYNC/);
  expect(() => loadConfig({ maxGroupMembers: "1" }, {})).toThrow(/>= 2/);
  const f = join(mkdtempSync(join(tmpdir(), "natter-cfg-")), "bad.json");
  writeFileSync(f, JSON.stringify({ colour: "blue" }));
  expect(() => loadConfig({}, {}, f)).toThrow(/unknown option "colour"/);
});

test("env names follow the flags", () => {
  expect(envName("max-message-bytes")).toBe("NATTER_MAX_MESSAGE_BYTES");
});

test("a flag option (--reuse-port) takes true/false from the flag, env and file, and refuses anything else", () => {
  expect(loadConfig({}, {}).reusePort).toBe(false);
  expect(loadConfig({ reusePort: true }, {}).reusePort).toBe(true);
  expect(loadConfig({}, { NATTER_REUSE_PORT: "1" }).reusePort).toBe(true);
  expect(loadConfig({}, { NATTER_REUSE_PORT: "false" }).reusePort).toBe(false);
  const f = join(mkdtempSync(join(tmpdir(), "natter-cfg-")), "natter.json");
  writeFileSync(f, JSON.stringify({ reusePort: true }));
  expect(loadConfig({}, {}, f).reusePort).toBe(true);
  expect(() => loadConfig({}, { NATTER_REUSE_PORT: "maybe" })).toThrow(/NATTER_REUSE_PORT: reuse-port must be true or false/);
});

test("phone-region: a country code, upper-cased, from flag, env or file; unknown codes are refused with the source", () => {
  expect(DEFAULTS.phoneRegion).toBe("");
  expect(loadConfig({ phoneRegion: "gb" }, {}).phoneRegion).toBe("GB");
  expect(loadConfig({}, { NATTER_PHONE_REGION: "us" }).phoneRegion).toBe("US");
  const f = join(mkdtempSync(join(tmpdir(), "natter-cfg-")), "natter.json");
  writeFileSync(f, JSON.stringify({ phoneRegion: "DE" }));
  expect(loadConfig({}, {}, f).phoneRegion).toBe("DE");
  expect(() => loadConfig({ phoneRegion: "UK" }, {})).toThrow(/--phone-region: phone-region must be a two-letter country code/);
  expect(() => loadConfig({}, { NATTER_PHONE_REGION: "XX" })).toThrow(/NATTER_PHONE_REGION/);
  expect(() => loadConfig({ phoneRegion: "" }, {})).toThrow(/must not be empty/);
});
