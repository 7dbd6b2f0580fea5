// The rules of an edit, delete, hide or reaction (planChange), at their edges.
import { expect, test } from "bun:test";
import { NatterError } from "../../protocol/index.ts";
import { planChange } from "./changes.ts";
import type { ChangeRequest, MessageRow } from "./types.ts";

const row = (over: Partial<MessageRow> = {}): MessageRow => ({
  channel: "g", seq: 1, sender: "u1", client_id: "c", type: "text", content: "hi", media: null, reply_to: null,
  sent_at: 1000, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [], ...over,
});
const member = { current: true, groupAdmin: false };
const admin = { current: true, groupAdmin: true };
const ask = (kind: ChangeRequest["kind"], over: Partial<ChangeRequest> = {}): ChangeRequest => ({ channel: "g", seq: 1, actor: "u1", at: 1500, kind, windowMs: 1000, content: "new", emoji: "👍", ...over });
const code = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e) {
    return e instanceof NatterError ? e.code : String(e);
  }
};

test("the window: open until sent_at + window (exclusive); 0 closes it", () => {
  expect(planChange(row(), member, ask("edit", { at: 1999 }), false)?.next).toEqual({ content: "new", edited_at: 1999 });
  expect(code(() => planChange(row(), member, ask("edit", { at: 2000 }), false))).toBe("window_closed");
  expect(code(() => planChange(row(), member, ask("delete", { at: 2000 }), false))).toBe("window_closed");
  expect(code(() => planChange(row(), member, ask("edit", { at: 1000, windowMs: 0 }), false))).toBe("window_closed");
  // An admin deletes anything at any time, their own included; reactions and hides have no window.
  expect(planChange(row(), admin, ask("delete", { at: 1e12 }), false)?.record).toEqual({ op: "delete" });
  expect(planChange(row({ sender: "u2" }), admin, ask("delete", { at: 1e12 }), false)?.record).toEqual({ op: "delete" });
  expect(planChange(row(), member, ask("react", { at: 1e12 }), false)?.record).toEqual({ op: "react", emoji: "👍" });
  expect(planChange(row({ sender: "u2" }), { current: false, groupAdmin: false }, ask("hide", { at: 1e12 }), false)?.record).toEqual({ op: "hide" });
});

test("who and what: someone else's, a media message, a deleted one, a change entry, a missing one, a non-member", () => {
  expect(code(() => planChange(row({ sender: "u2" }), admin, ask("edit"), false))).toBe("forbidden");
  expect(code(() => planChange(row({ sender: "u2" }), member, ask("delete"), false))).toBe("forbidden");
  expect(code(() => planChange(row({ type: "image", media: "m" }), member, ask("edit"), false))).toBe("bad_request");
  expect(code(() => planChange(row({ deleted_at: 1200 }), member, ask("edit"), false))).toBe("conflict");
  expect(code(() => planChange(row({ deleted_at: 1200 }), member, ask("react"), false))).toBe("conflict");
  expect(code(() => planChange(row({ type: "change" }), member, ask("react"), false))).toBe("not_found");
  expect(code(() => planChange(null, member, ask("hide"), false))).toBe("not_found");
  expect(code(() => planChange(row(), { current: false, groupAdmin: false }, ask("react"), false))).toBe("forbidden");
});

test("nothing to do is null: a second delete, the same reaction, removing none, hiding again", () => {
  expect(planChange(row({ deleted_at: 1200 }), member, ask("delete"), false)).toBeNull();
  expect(planChange(row({ reactions: [{ emoji: "👍", users: ["u1"] }] }), member, ask("react"), false)).toBeNull();
  expect(planChange(row(), member, ask("react", { emoji: "" }), false)).toBeNull();
  expect(planChange(row(), member, ask("hide"), true)).toBeNull();
  // A delete clears text, media and reactions.
  expect(planChange(row({ type: "image", media: "m", reactions: [{ emoji: "👍", users: ["u2"] }] }), member, ask("delete"), false)?.next).toEqual({
    content: "", media: null, deleted_at: 1500, reactions: [],
  });
});
