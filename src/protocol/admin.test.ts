import { expect, test } from "bun:test";
import { ADMIN_SCHEMAS } from "./admin.ts";
import { LOGIN_SCHEMA, validate } from "./schema.ts";

test("login: a code of 1-100 characters and an optional device name; nothing else passes", () => {
  expect(validate(LOGIN_SCHEMA, { code: "ABCD-1234", device: "laptop", extra: 1 })).toEqual({ ok: true, value: { code: "ABCD-1234", device: "laptop" } });
  expect(validate(LOGIN_SCHEMA, { code: "c".repeat(100) })).toEqual({ ok: true, value: { code: "c".repeat(100) } });
  expect(validate(LOGIN_SCHEMA, { code: "c".repeat(101) })).toEqual({ ok: false, message: "code is longer than 100 characters" });
  expect(validate(LOGIN_SCHEMA, {})).toEqual({ ok: false, message: "code is required" });
  expect(validate(LOGIN_SCHEMA, { code: "" })).toMatchObject({ ok: false });
  expect(validate(LOGIN_SCHEMA, { code: "c", device: 7 })).toEqual({ ok: false, message: "device must be a string" });
});

test("admin bodies: users need a name and a phone; groups an owner and the createGroup op's fields; adding members takes a list of ids", () => {
  expect(validate(ADMIN_SCHEMAS.createUser, { name: "Ada" })).toEqual({ ok: false, message: "phone is required" });
  expect(validate(ADMIN_SCHEMAS.createUser, { name: "Ada", phone: 44 })).toEqual({ ok: false, message: "phone must be a string" });
  const group = { owner: "u_1", name: "ops", members: ["u_2"], join: "open", avatar_url: "dropped" };
  expect(validate(ADMIN_SCHEMAS.createGroup, group)).toEqual({ ok: true, value: { owner: "u_1", name: "ops", members: ["u_2"], join: "open" } });
  expect(validate(ADMIN_SCHEMAS.createGroup, { ...group, join: "closed" })).toEqual({ ok: false, message: "join must be one of invite, open" });
  expect(validate(ADMIN_SCHEMAS.createGroup, { ...group, name: "n".repeat(201) })).toMatchObject({ ok: false });
  expect(validate(ADMIN_SCHEMAS.createGroup, { name: "ops" })).toEqual({ ok: false, message: "owner is required" });
  expect(validate(ADMIN_SCHEMAS.addMembers, {})).toEqual({ ok: true, value: {} });
  expect(validate(ADMIN_SCHEMAS.addMembers, { members: "u_2" })).toEqual({ ok: false, message: "members must be an array of ids" });
});
