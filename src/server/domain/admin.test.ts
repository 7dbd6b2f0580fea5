// The operator's operations on a real SQLite store, with deliveries recorded:
// users, login codes, devices, groups (the same rules as members' ops, acting
// as "admin") and stats.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { failure, openDomain, TEST_NODE, type DomainFixture } from "../../../test/support/domain-fixture.ts";

let d: DomainFixture;
beforeEach(() => {
  d = openDomain();
});
afterEach(async () => {
  await d.close();
});

const phone = (n: number) => `+1202555${String(9000 + n)}`;

describe("users", () => {
  test("createUser returns the user and a one-time login code; the phone is unique; a bad name or phone changes nothing", async () => {
    const { user, code } = await d.admin.createUser({ name: " Ada ", phone: phone(1) });
    expect(user).toMatchObject({ name: "Ada", phone: phone(1), last_seen: null });
    const login = await d.accounts.login(code, "laptop");
    expect(login.user).toEqual(user);
    expect(await failure(d.accounts.login(code, "again"))).toMatchObject({ code: "unauthorized" });
    expect(await failure(d.admin.createUser({ name: "Other", phone: phone(1) }))).toMatchObject({ code: "conflict" });
    expect(await failure(d.admin.createUser({ name: "   ", phone: phone(2) }))).toMatchObject({ code: "bad_request" });
    expect(await failure(d.admin.createUser({ name: "x".repeat(101), phone: phone(2) }))).toMatchObject({ code: "bad_request" });
    expect(await failure(d.admin.createUser({ name: "Bo", phone: "not a phone" }))).toMatchObject({ code: "bad_request" });
    expect((await d.admin.listUsers()).users).toEqual([{ ...user, phone_ok: true }]);
  });

  test("loginCode gives another device a code; an unknown user is not_found", async () => {
    const a = await d.user("Ada");
    const { code } = await d.admin.loginCode(a.id);
    await d.accounts.login(code, "phone");
    expect((await d.admin.listDevices(a.id)).devices.map((x) => x.name)).toEqual(["phone"]);
    expect(await failure(d.admin.loginCode("u_ghost"))).toMatchObject({ code: "not_found" });
    expect(await failure(d.admin.listDevices("u_ghost"))).toMatchObject({ code: "not_found" });
  });

  test("showUser: the user, devices, channels and whether they are online; an unknown user is not_found", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    const { code } = await d.admin.loginCode(a.id);
    const dev = (await d.accounts.login(code, "laptop")).device;
    const g = (await d.dispatch("createGroup", b.caller, { name: "g", members: [a.id] })).channel;
    d.delivery.online.add(a.id);
    const shown = await d.admin.showUser(a.id);
    expect(shown).toEqual({ user: { id: a.id, name: "Ada", phone: a.phone, last_seen: null }, devices: [dev], channels: [g.id], online: true });
    expect(await failure(d.admin.showUser("u_ghost"))).toMatchObject({ code: "not_found" });
  });

  test("deleteUser: they leave their groups (members told), their tokens die, their connections close; history stays", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    const { code } = await d.admin.loginCode(a.id);
    const { token } = await d.accounts.login(code, "laptop");
    const g = (await d.dispatch("createGroup", b.caller, { name: "g", members: [a.id] })).channel;
    const m = (await d.dispatch("sendMessage", a.caller, { channel: g.id, client_id: "c", type: "text", content: "bye" })).message;
    const dm = (await d.dispatch("sendMessage", a.caller, { to: b.id, client_id: "c", type: "text", content: "hi" })).message;
    const mark = d.delivery.sent.length;
    expect(await d.admin.deleteUser(a.id)).toEqual({ ok: true });
    expect(d.delivery.since(mark, "member").map((s) => s.event)).toEqual([{ ev: "member", channel: g.id, user: a.id, action: "removed", by: "admin" }]);
    expect(d.delivery.closed).toEqual([{ kind: "user", id: a.id, code: 4401 }]);
    expect(await failure(d.accounts.authenticate(token))).toMatchObject({ code: "unauthorized" });
    expect(await failure(d.admin.showUser(a.id))).toMatchObject({ code: "not_found" });
    expect((await d.dispatch("getAll", b.caller, {})).channels.find((c) => c.id === g.id)!.members).toEqual([b.id]);
    expect((await d.dispatch("getMessages", b.caller, { channel: g.id })).messages).toEqual([m]);
    expect((await d.dispatch("getMessages", b.caller, { channel: dm.channel })).messages).toEqual([dm]);
    expect(await failure(d.admin.deleteUser(a.id))).toMatchObject({ code: "not_found" });
  });

  test("revokeDevice logs that device out now and leaves the others; an unknown device is not_found", async () => {
    const a = await d.user("Ada");
    const one = await d.accounts.login((await d.admin.loginCode(a.id)).code, "one");
    const two = await d.accounts.login((await d.admin.loginCode(a.id)).code, "two");
    expect(await d.admin.revokeDevice(one.device.id)).toEqual({ ok: true });
    expect(d.delivery.closed).toEqual([{ kind: "device", id: one.device.id, code: 4401 }]);
    expect(await failure(d.accounts.authenticate(one.token))).toMatchObject({ code: "unauthorized" });
    expect((await d.accounts.authenticate(two.token)).device).toBe(two.device.id);
    expect((await d.admin.listDevices(a.id)).devices.map((x) => x.id)).toEqual([two.device.id]);
    expect(await failure(d.admin.revokeDevice(one.device.id))).toMatchObject({ code: "not_found" });
  });
});

describe("groups", () => {
  test("createGroup: the owner is the admin and is who added the members; an unknown owner is not_found", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    const mark = d.delivery.sent.length;
    const { group } = await d.admin.createGroup({ owner: a.id, name: "ops", members: [b.id], join: "open" });
    expect(group).toMatchObject({ kind: "group", name: "ops", admins: [a.id], join: "open", created_by: a.id, last_seq: 0, unread: 0 });
    expect([...group.members].sort()).toEqual([a.id, b.id].sort());
    expect(d.delivery.since(mark, "member").map((s) => [s.event.user, s.event.action, s.event.by])).toEqual([[b.id, "added", a.id]]);
    expect(await failure(d.admin.createGroup({ owner: "u_ghost", name: "x" }))).toMatchObject({ code: "not_found" });
    expect((await d.admin.listGroups()).groups.map((g) => g.id)).toEqual([group.id]);
  });

  test("the 101st member is group_full for the operator too", async () => {
    const people = await Promise.all(Array.from({ length: 101 }, (_, i) => d.user(`f${i}`)));
    const [owner, ...rest] = people;
    expect(await failure(d.admin.createGroup({ owner: owner!.id, name: "big", members: rest.map((u) => u.id) }))).toMatchObject({ code: "group_full" });
    const { group } = await d.admin.createGroup({ owner: owner!.id, name: "big", members: rest.slice(0, 99).map((u) => u.id) });
    expect(await failure(d.admin.addMembers(group.id, { members: [rest[99]!.id] }))).toMatchObject({ code: "group_full" });
    expect((await d.admin.showGroup(group.id)).group.members).toHaveLength(100);
  });

  test("add, remove and invite as the operator, who needs no membership; members are told it was the admin", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    const c = await d.user("Cy");
    const { group } = await d.admin.createGroup({ owner: a.id, name: "ops" });
    let mark = d.delivery.sent.length;
    expect((await d.admin.addMembers(group.id, { members: [b.id] })).group.members).toContain(b.id);
    expect(d.delivery.since(mark, "member").map((s) => [s.event.user, s.event.action, s.event.by])).toEqual([[b.id, "added", "admin"]]);
    expect((await d.admin.addMembers(group.id, {})).group.members).toHaveLength(2);
    mark = d.delivery.sent.length;
    expect((await d.admin.removeMember(group.id, b.id)).group.members).toEqual([a.id]);
    expect(d.delivery.since(mark, "member").map((s) => [s.event.user, s.event.action, s.event.by])).toEqual([[b.id, "removed", "admin"]]);
    expect(await failure(d.admin.removeMember(group.id, b.id))).toMatchObject({ code: "not_found" });
    const { invite } = await d.admin.createInvite(group.id);
    expect((await d.dispatch("joinGroup", c.caller, { channel: group.id, invite })).channel.members).toContain(c.id);
    for (const p of [d.admin.showGroup("g_nope"), d.admin.addMembers("g_nope", { members: [b.id] }), d.admin.createInvite("g_nope")])
      expect(await failure(p)).toMatchObject({ code: "not_found" });
  });

  test("listGroups leaves direct chats out; a direct chat has no members for the operator to manage", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    const dm = (await d.dispatch("sendMessage", a.caller, { to: b.id, client_id: "c", type: "text", content: "hi" })).message.channel;
    expect((await d.admin.listGroups()).groups).toEqual([]);
    expect(await failure(d.admin.addMembers(dm, { members: [a.id] }))).toMatchObject({ code: "bad_request" });
    expect(await failure(d.admin.removeMember(dm, a.id))).toMatchObject({ code: "bad_request" });
  });
});

test("stats: the store's counts and this node's numbers", async () => {
  const a = await d.user("Ada");
  await d.user("Bo");
  await d.accounts.login((await d.admin.loginCode(a.id)).code, "laptop");
  const g = (await d.dispatch("createGroup", a.caller, { name: "g" })).channel;
  await d.dispatch("sendMessage", a.caller, { channel: g.id, client_id: "c", type: "text", content: "hi" });
  expect(await d.admin.stats()).toEqual({ shards: 2, users: 2, channels: 1, messages: 1, devices: 1, ...TEST_NODE });
});
