// foldChange: a client that folds every change entry in seq order holds what getMessages answers.
import { expect, test } from "bun:test";
import type { Message } from "../protocol/index.ts";
import { changeRecord, changeTarget, foldChange } from "./index.ts";

const base: Message = {
  id: "g:1", channel: "g", seq: 1, sender: "u1", client_id: "c", type: "text", content: "helo", media: null, reply_to: null,
  sent_at: 100, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [],
};
let next = 2;
const entry = (sender: string, record: object, over: Partial<Message> = {}): Message => {
  const seq = next++;
  return { ...base, id: `g:${seq}`, seq, sender, client_id: `\u0000${seq}`, type: "change", content: JSON.stringify(record), reply_to: "g:1", sent_at: 100 + seq, ...over };
};

test("edits, reactions and a delete fold into the target in order", () => {
  let m: Message | null = base;
  const steps = [
    entry("u1", { op: "edit", content: "hello" }),
    entry("u2", { op: "react", emoji: "👍" }),
    entry("u3", { op: "react", emoji: "👍" }),
    entry("u1", { op: "react", emoji: "🎉" }),
    entry("u2", { op: "react", emoji: "🎉" }),
    entry("u3", { op: "react", emoji: "" }),
  ];
  for (const s of steps) m = foldChange(m!, s);
  expect(m).toMatchObject({ content: "hello", edited_at: steps[0]!.sent_at, deleted_at: null, reactions: [{ emoji: "🎉", users: ["u1", "u2"] }] });
  const del = entry("u1", { op: "delete" });
  m = foldChange(m!, del);
  expect(m).toMatchObject({ content: "", media: null, reactions: [], deleted_at: del.sent_at, edited_at: steps[0]!.sent_at });
  // After a delete, a late edit or reaction (an older entry seen again) changes nothing.
  expect(foldChange(m!, entry("u1", { op: "edit", content: "back" }))).toEqual(m);
  expect(foldChange(m!, entry("u2", { op: "react", emoji: "👍" }))).toEqual(m);
});

test("hide drops the message; entries naming another message, unknown records and plain messages leave it", () => {
  expect(foldChange(base, entry("u1", { op: "hide" }))).toBeNull();
  expect(foldChange(base, entry("u1", { op: "edit", content: "x" }, { reply_to: "g:9" }))).toBe(base);
  expect(foldChange(base, entry("u1", { op: "edit", content: "x" }, { channel: "other" }))).toBe(base);
  expect(foldChange(base, entry("u1", { op: "pin" }))).toBe(base);
  expect(foldChange(base, { ...base, seq: 5 })).toBe(base);
  expect(changeRecord(base)).toBeNull();
  expect(changeTarget(entry("u1", { op: "delete" }))).toBe(1);
  expect(changeRecord({ ...entry("u1", {}), content: "not json" })).toBeNull();
});
