import { expect, test } from "bun:test";
import { litestreamBinary, litestreamConfig, parseLitestreamMetrics } from "./litestream.ts";
import { parseReplica } from "./target.ts";

test("the config lists every shard with the monitor and sync intervals and its own replica path", () => {
  const yml = litestreamConfig({
    shards: ["/d/shards/00.db", "/d/shards/01.db"],
    target: parseReplica("/r"),
    monitorIntervalMs: 100,
    syncIntervalMs: 250,
    metricsAddr: "127.0.0.1:9999",
  });
  expect(yml).toContain(`addr: "127.0.0.1:9999"`);
  expect(yml.match(/monitor-interval: 100ms/g)?.length).toBe(2);
  expect(yml.match(/sync-interval: 250ms/g)?.length).toBe(2);
  expect(yml).toContain(`  - path: "/d/shards/01.db"\n    monitor-interval: 100ms\n    replicas:\n      - path: "/r/shards/01"\n        sync-interval: 250ms`);
});

test("s3 query options become Litestream replica fields", () => {
  const yml = litestreamConfig({
    shards: ["/d/shards/00.db"],
    target: parseReplica("s3://bkt/natter?endpoint=http://127.0.0.1:9000&force-path-style=true"),
    monitorIntervalMs: 100,
    syncIntervalMs: 100,
    metricsAddr: "127.0.0.1:1",
  });
  expect(yml).toContain(`- url: "s3://bkt/natter/shards/00"`);
  expect(yml).toContain(`endpoint: "http://127.0.0.1:9000"`);
  expect(yml).toContain(`force-path-style: true`);
});

test("Litestream's Prometheus text parses into per-db positions", () => {
  const text = `# HELP x
litestream_db_size{db="/d/00.db"} 16384
litestream_replica_wal_index{db="/d/00.db",name="file"} 2
litestream_replica_wal_offset{db="/d/00.db",name="file"} 20632
litestream_shadow_wal_index{db="/d/00.db"} 2
litestream_shadow_wal_size{db="/d/00.db"} 24752
litestream_sync_count{db="/d/00.db"} 21
litestream_sync_error_count{db="/d/00.db"} 0
litestream_wal_size{db="/d/01.db"} 99
go_goroutines 12
`;
  const m = parseLitestreamMetrics(text);
  expect(m.get("/d/00.db")).toEqual({
    syncCount: 21,
    syncErrors: 0,
    shadowIndex: 2,
    shadowSize: 24752,
    replicaIndex: 2,
    replicaOffset: 20632,
    walSize: 0,
    dbSize: 16384,
  });
  expect(m.get("/d/01.db")?.walSize).toBe(99);
});

test("the binary is found (node_modules here) and is the real Go program, not the npm wrapper", async () => {
  const bin = await litestreamBinary({});
  expect(bin).not.toContain("@flydotio/litestream/");
  const r = Bun.spawnSync([bin, "version"]);
  expect(r.exitCode).toBe(0);
  expect(r.stdout.toString()).toMatch(/^v0\.\d+\.\d+/);
  await expect(litestreamBinary({ NATTER_LITESTREAM: "/nonexistent/litestream" })).rejects.toThrow(/does not exist/);
});

test("a snapshot interval, when set, goes on every replica; unset, Litestream keeps its default", () => {
  const base = { shards: ["/d/shards/00.db", "/d/shards/01.db"], target: parseReplica("/r"), monitorIntervalMs: 100, syncIntervalMs: 100, metricsAddr: "127.0.0.1:1" };
  expect(litestreamConfig({ ...base, snapshotIntervalMs: 60_000 }).match(/\n {8}snapshot-interval: 60000ms/g)?.length).toBe(2);
  expect(litestreamConfig(base)).not.toContain("snapshot-interval");
  expect(litestreamConfig({ ...base, snapshotIntervalMs: 0 })).not.toContain("snapshot-interval");
});
