import { expect, test } from "bun:test";
import { createLogger } from "./log.ts";
import { asDiskFull, DiskFull, diskFullReporter, isDiskFull } from "./disk-full.ts";

test("a full disk is recognised by SQLite's and the OS's codes, nothing else", () => {
  const err = (code: string, extra: object = {}) => Object.assign(new Error(code), { code, ...extra });
  expect(isDiskFull(err("SQLITE_FULL"))).toBe(true);
  expect(isDiskFull(err("ENOSPC"))).toBe(true);
  expect(isDiskFull(err("EDQUOT"))).toBe(true);
  expect(isDiskFull(err("SQLITE_CONSTRAINT_UNIQUE"))).toBe(false);
  expect(isDiskFull(err("EACCES"))).toBe(false);
  expect(isDiskFull(new Error("database or disk is full"))).toBe(false);
  // An I/O error counts only where the filesystem has no space left (here it has).
  expect(isDiskFull(err("SQLITE_IOERR_SHMSIZE"), import.meta.dir)).toBe(false);

  const full = asDiskFull(err("ENOSPC", { path: "/data/media/tmp/x.part" }), "/elsewhere");
  expect(full).toBeInstanceOf(DiskFull);
  expect((full as DiskFull).path).toBe("/data/media/tmp/x.part");
  expect((full as DiskFull).toWire()).toEqual({ code: "unavailable", message: "the server's disk is full; retry later", retry_after_ms: (full as DiskFull).retryAfterMs! });
  expect((full as DiskFull).retryAfterMs).toBeGreaterThanOrEqual(5_000);
  const other = new Error("x");
  expect(asDiskFull(other, "/p")).toBe(other);
});

test("the reporter counts every refusal and logs once per interval", () => {
  const lines: string[] = [];
  let counted = 0;
  const log = createLogger("info", (l) => lines.push(l));
  const once = diskFullReporter(log, () => counted++, 60_000);
  for (let i = 0; i < 100; i++) once("/data/shards/01.db");
  expect(counted).toBe(100);
  expect(lines.length).toBe(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: "disk full", path: "/data/shards/01.db", refused: 1 });

  lines.length = 0;
  const every = diskFullReporter(log, () => {}, 0);
  for (let i = 0; i < 3; i++) every("/d");
  expect(lines.length).toBe(3);
});
