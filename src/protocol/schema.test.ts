import { expect, test } from "bun:test";
import { ADMIN_SCHEMAS } from "./admin.ts";
import { LOGIN_SCHEMA, OP_NAMES, isOpName, validate, validateParams } from "./schema.ts";

test("every op of protocol v1 has a schema", () => {
  expect([...OP_NAMES].sort() as string[]).toEqual(
    [
      "getAll", "getMessages", "sendMessage", "createGroup", "createInvite", "joinGroup", "leaveGroup",
      "addMembers", "removeMember", "markDelivered", "markSeen", "typing", "findUser", "ping", "getUsers",
      "linkDevice", "listDevices", "revokeDevice", "revokeInvite", "listInvites",
      "getPrivacy", "setPrivacy",
      "editMessage", "deleteMessage", "react",
    ].sort(),
  );
  expect(isOpName("toString")).toBe(false);
  expect(isOpName("__proto__")).toBe(false);
});

test("valid params pass and unknown fields are dropped", () => {
  const v = validateParams("sendMessage", { to: "u_1", client_id: "c", type: "text", content: "hi", extra: 1 });
  expect(v).toEqual({ ok: true, value: { to: "u_1", client_id: "c", type: "text", content: "hi" } });
});

test("missing, mistyped and out-of-range params are refused with a reason", () => {
  expect(validateParams("getMessages", {})).toEqual({ ok: false, message: "channel is required" });
  expect(validateParams("getMessages", { channel: "c", limit: 201 })).toEqual({ ok: false, message: "limit must be at most 200" });
  expect(validateParams("getMessages", { channel: "c", limit: 0 })).toMatchObject({ ok: false });
  expect(validateParams("getMessages", { channel: "c", limit: 1.5 })).toMatchObject({ ok: false });
  expect(validateParams("sendMessage", { to: "u", client_id: "c", type: "gif", content: "x" })).toMatchObject({ ok: false });
  expect(validateParams("addMembers", { channel: "c", members: "u_1" })).toMatchObject({ ok: false });
  expect(validateParams("addMembers", { channel: "c", members: [1] })).toMatchObject({ ok: false });
  expect(validateParams("typing", { channel: "c", state: "maybe" })).toMatchObject({ ok: false });
  expect(validateParams("ping", [])).toMatchObject({ ok: false });
  expect(validateParams("setPrivacy", { find_by_phone: "friends" })).toEqual({ ok: false, message: "find_by_phone must be one of everyone, contacts, nobody" });
  expect(validateParams("setPrivacy", { add_to_groups: 1 })).toMatchObject({ ok: false });
  expect(validateParams("setPrivacy", { add_to_groups: "contacts" })).toEqual({ ok: true, value: { add_to_groups: "contacts" } });
});

test("a lone surrogate in any string or id is refused (it would collide with another after UTF-8 storage)", () => {
  for (const bad of ["k\ud800", "k\udc00", "\udc00\ud800", "a\ud83d"]) {
    expect(validateParams("sendMessage", { to: "u", client_id: bad, type: "text", content: "x" })).toEqual({
      ok: false,
      message: "client_id is not valid Unicode (lone surrogate)",
    });
    expect(validateParams("sendMessage", { to: "u", client_id: "c", type: "text", content: bad })).toMatchObject({ ok: false });
    expect(validateParams("getMessages", { channel: bad })).toMatchObject({ ok: false });
    expect(validateParams("addMembers", { channel: "c", members: ["u_1", bad] })).toMatchObject({ ok: false });
    expect(validate(LOGIN_SCHEMA, { code: "123", device: bad })).toMatchObject({ ok: false });
    expect(validate(ADMIN_SCHEMAS.createUser, { name: bad, phone: "+15550000000" })).toMatchObject({ ok: false });
  }
  // A surrogate pair (an emoji) is well-formed and passes.
  expect(validateParams("sendMessage", { to: "u", client_id: "k\ud83d\ude00", type: "text", content: "😀" })).toMatchObject({ ok: true });
});
