import { expect, test } from "bun:test";
import { parseReplica, redactUrl, ReplicaUrlError, shardReplicaUrl } from "./target.ts";

test("a plain path or file:// URL is a directory replica; shards go under shards/NN", () => {
  const t = parseReplica("backups/natter", "/srv");
  expect(t).toEqual({ kind: "dir", url: "file:///srv/backups/natter", dir: "/srv/backups/natter" });
  expect(shardReplicaUrl(t, 3)).toBe("file:///srv/backups/natter/shards/03");
  expect(parseReplica("file:///var/backups/n/")).toEqual({ kind: "dir", url: "file:///var/backups/n", dir: "/var/backups/n" });
  expect(parseReplica("/abs/path").kind).toBe("dir");
});

test("s3 keeps bucket, prefix and query options; other Litestream schemes pass through", () => {
  const t = parseReplica("s3://bucket/a/b?endpoint=http://127.0.0.1:9000&region=us-east-1");
  expect(t.kind).toBe("s3");
  if (t.kind !== "s3") throw new Error();
  expect([t.bucket, t.prefix, t.params.region]).toEqual(["bucket", "a/b", "us-east-1"]);
  expect(shardReplicaUrl(t, 12)).toBe("s3://bucket/a/b/shards/12?endpoint=http://127.0.0.1:9000&region=us-east-1");
  const s = parseReplica("sftp://user@host:22/backups");
  expect(s).toEqual({ kind: "other", url: "sftp://user@host:22/backups", scheme: "sftp" });
  expect(shardReplicaUrl(s, 0)).toBe("sftp://user@host:22/backups/shards/00");
});

test("unsupported or malformed replica URLs are refused with a clear message", () => {
  expect(() => parseReplica("")).toThrow(ReplicaUrlError);
  expect(() => parseReplica("ftp://x/y")).toThrow(/unsupported replica scheme/);
  expect(() => parseReplica("s3:///nobucket")).toThrow(/bucket/);
  expect(() => parseReplica("file://otherhost/x")).toThrow(/absolute/);
});

test("secrets are masked for logs and status", () => {
  expect(redactUrl("sftp://me:hunter2@host/x")).toBe("sftp://me:***@host/x");
  expect(redactUrl("s3://b/p?secret-access-key=abc&region=x")).toBe("s3://b/p?secret-access-key=***&region=x");
});
