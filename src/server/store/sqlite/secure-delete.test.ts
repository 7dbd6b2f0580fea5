// A message deleted for everyone leaves no trace of its text (or earlier edits) in the shard file:
// secure_delete zeroes the freed cells and overflow pages (fails without it: the overflow text stays).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "./sqlite-store.ts";

const dir = mkdtempSync(join(tmpdir(), "natter-secdel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("delete for everyone leaves neither the text nor its edits in the shard file", async () => {
  const store = new SqliteStore({ dir, shards: 1, synchronous: "normal" });
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
  await store.close(); // checkpoints the WAL into the file
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith(".db")) continue;
    const bytes = readFileSync(join(dir, f)).toString("latin1");
    for (const secret of ["SMALLSECRET", "BIGSECRET", "EDITSECRET"]) expect(bytes.includes(secret), `${secret} in ${f}`).toBe(false);
  }
});
