import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirObjects, ObjectBlobReplica } from "./objects.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "natter-objects-"));
  dirs.push(d);
  return d;
};

test("directory blob replica: put, list, get with hash check; puts are idempotent", async () => {
  const src = tmp();
  const rep = new ObjectBlobReplica(new DirObjects(join(tmp(), "replica")));
  const bytes = Buffer.from("some media bytes");
  const sha = createHash("sha256").update(bytes).digest("hex");
  const p = join(src, "blob");
  writeFileSync(p, bytes);
  await rep.put(sha, p);
  await rep.put(sha, p);
  expect(await rep.list()).toEqual([sha]);
  const dest = join(tmp(), "media", "blobs", sha.slice(0, 2), sha);
  expect(await rep.get(sha, dest)).toBe(true);
  expect(readFileSync(dest)).toEqual(bytes);
  expect(await rep.get("0".repeat(64), join(tmp(), "x"))).toBe(false);
  await expect(rep.put("../../etc/passwd", p)).rejects.toThrow(/not a sha256/);
});

test("a corrupt blob in the replica is refused, not restored", async () => {
  const root = join(tmp(), "replica");
  const objects = new DirObjects(root);
  const rep = new ObjectBlobReplica(objects);
  const sha = "ab".repeat(32);
  const p = join(tmp(), "wrong");
  writeFileSync(p, "these bytes do not hash to that name");
  await objects.put(`media/${sha}`, p);
  const dest = join(tmp(), "out");
  await expect(rep.get(sha, dest)).rejects.toThrow(/corrupt/);
  expect(existsSync(dest)).toBe(false);
});

test("text objects round-trip; keys cannot escape the replica", async () => {
  const objects = new DirObjects(join(tmp(), "r"));
  await objects.putText("layout.json", '{"shards":4}');
  expect(await objects.getText("layout.json")).toBe('{"shards":4}');
  expect(await objects.getText("missing.json")).toBeNull();
  await expect(objects.putText("../escape", "x")).rejects.toThrow(/bad replica key/);
});
