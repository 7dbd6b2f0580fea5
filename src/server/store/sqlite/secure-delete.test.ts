// A message deleted for everyone leaves no trace of its text (or earlier edits) in the shard file:
// secure_delete zeroes the freed cells and overflow pages (fails without it: the overflow text stays),
// on bun:sqlite shards (set per connection) and on libSQL (set in the delete's commit: its pool's
// connections do not keep it).
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LibsqlStore } from "../libsql/libsql-store.ts";
import type { Store } from "../types.ts";
import { SqliteStore } from "./sqlite-store.ts";

const dir = mkdtempSync(join(tmpdir(), "natter-secdel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: Array<[string, (d: string) => Promise<Store>]> = [
  ["bun:sqlite", async (d) => new SqliteStore({ dir: d, shards: 1, synchronous: "normal" })],
  ["libSQL (file:)", (d) => LibsqlStore.open({ url: "file:" + join(d, "natter.db") })],
];

test.each(stores)("%s: delete for everyone leaves neither the text nor its edits in the database file", async (_name, open) => {
  const d = mkdtempSync(join(dir, "s-"));
  const store = await open(d);
  await store.createChannel({ id: "c", kind: "group", name: "c", description: "", avatar_url: "", join: "invite", created_at: 1, created_by: "u", last_seq: 0 }, [{ user: "u", role: "admin" }]);
  const send = (client_id: string, content: string) => store.appendMessage({ channel: "c", sender: "u", client_id, type: "text", content, media: null, reply_to: null, sent_at: Date.now() });
  for (let i = 0; i < 20; i++) await send(`f${i}`, `filler ${i}`);
  await send("small", "SMALLSECRET-" + "x".repeat(20)); // 21
  await send("big", "BIGSECRET-" + "y".repeat(20_000)); // 22: overflow pages
  const change = (seq: number, kind: "edit" | "delete", content?: string) =>
    store.applyChange({ channel: "c", seq, actor: "u", at: Date.now(), kind, windowMs: 1e9, ...(content ? { content } : {}) });
  await change(21, "edit", "EDITSECRET-z");
  await change(21, "delete");
  await change(22, "delete");
  await store.close();
  const files = (readdirSync(d, { recursive: true }) as string[]).filter((f) => f.endsWith(".db"));
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    // Every page the WAL holds goes into the file (the libSQL client leaves its WAL in place).
    const db = new Database(join(d, f));
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = readFileSync(join(d, f)).toString("latin1");
    for (const secret of ["SMALLSECRET", "BIGSECRET", "EDITSECRET"]) expect(bytes.includes(secret), `${secret} in ${f}`).toBe(false);
  }
});
