import { expect, test } from "bun:test";
import { OP_NAMES, isOpName, validateParams } from "./schema.ts";

test("every op of protocol v1 has a schema", () => {
  expect([...OP_NAMES].sort() as string[]).toEqual(
    [
      "getAll", "getMessages", "sendMessage", "createGroup", "createInvite", "joinGroup", "leaveGroup",
      "addMembers", "removeMember", "markDelivered", "markSeen", "typing", "findUser", "ping", "getUsers",
      "linkDevice", "listDevices", "revokeDevice", "revokeInvite", "listInvites",
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
});
