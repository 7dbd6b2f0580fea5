import { expect, test } from "bun:test";
import { CliError, EXIT } from "../run.ts";
import { formatBackupStatus } from "./backup.ts";
import { parseRestoreOptions } from "./restore.ts";

test("restore needs a replica and an explicit --data; --shards must be a positive integer", () => {
  expect(parseRestoreOptions({ replica: "/r", data: "/d" }, {})).toEqual({ replica: "/r", data: "/d", force: false, shards: undefined, timestamp: undefined, json: false });
  expect(parseRestoreOptions({ replica: "/r", data: "/d", timestamp: "2026-11-25T16:00:00.123+01:00" }, {}).timestamp).toBe("2026-11-25T15:00:00.123Z");
  expect(parseRestoreOptions({ data: "/d", force: true, shards: "4" }, { NATTER_REPLICA: "s3://b/p" })).toMatchObject({
    replica: "s3://b/p",
    force: true,
    shards: 4,
  });
  const usage = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof CliError ? e.exitCode : -1;
    }
    return 0;
  };
  expect(usage(() => parseRestoreOptions({ data: "/d" }, {}))).toBe(EXIT.usage);
  expect(usage(() => parseRestoreOptions({ replica: "/r" }, {}))).toBe(EXIT.usage);
  expect(usage(() => parseRestoreOptions({ replica: "/r", data: "/d", shards: "0" }, {}))).toBe(EXIT.usage);
  expect(usage(() => parseRestoreOptions({ replica: "/r", data: "/d", timestamp: "yesterday-ish" }, {}))).toBe(EXIT.usage);
});

test("backup status reads plainly, off or on", () => {
  expect(formatBackupStatus({ enabled: false })).toContain("replication is off");
  const out = formatBackupStatus({
    enabled: true,
    replica: "file:///r",
    running: true,
    media_only: false,
    degraded: false,
    pid: 42,
    restarts: 1,
    last_exit: "2026-01-01T00:00:00.000Z killed by SIGKILL",
    monitor_interval_ms: 100,
    sync_interval_ms: 100,
    lag_ms: 120,
    blobs: { replicated: 3, pending: 0, failures: 0, last_error: null },
    shards: [
      { shard: 0, generation: "abc", replica_position: "0/4152", local_position: "0/4152", lag_ms: 0, last_lag_ms: 300, last_replicated_at: null, sync_errors: 0 },
    ],
  });
  expect(out).toContain("running (pid 42), restarts 1");
  expect(out).toContain("3 replicated, 0 pending");
  expect(out).toMatch(/00\s+abc\s+0\/4152\s+0\/4152\s+0\s+300/);
});
