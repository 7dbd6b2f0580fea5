// Invites over real websockets and the admin routes: limits from the server's
// options (--invite-max-uses 5, --invite-ttl-ms 600000 here), a use limit at
// its edge, expiry, revocation (op, admin route, CLI), and removal closing the
// removed member's way back in while leaving it open to one who left.
import { describe, expect, test } from "bun:test";
import { adminFetch, makeUser, runCli, type TestServer, type WsClient } from "../harness.ts";
import { expectError, serverPerFile } from "./server-helpers.ts";
import { until } from "../support/until.ts";

const TTL = 600_000;
let server: TestServer;
const connect = serverPerFile({ args: ["--invite-max-uses", "5", "--invite-ttl-ms", String(TTL)] }, (s) => (server = s));
const cli = (...args: string[]) => runCli(["admin", "--server", server.url, "--data", server.dataDir, ...args]);
const members = async (c: WsClient, channel: string) => (await c.call("getAll")).channels.find((x: any) => x.id === channel)?.members ?? [];
let n = 0;
const users = (k: number) => Promise.all(Array.from({ length: k }, () => makeUser(server, `Inv ${++n}`)));

async function group(names: number, join = "invite") {
  const us = await users(names);
  const cs = await Promise.all(us.map((u) => connect(u)));
  const ch = (await cs[0]!.call("createGroup", { name: `invites ${n}`, join })).channel;
  return { us, cs, id: ch.id as string };
}

const refused = (reply: any, words: string) => {
  expectError(reply, "forbidden");
  expect(reply.error.message).toContain(words);
};

describe("limits", () => {
  test("an invite gets the server's limits by default; asking for more than them is bad_request; admins list the live ones", async () => {
    const { cs, id } = await group(2);
    const [admin, other] = cs;
    const before = Date.now();
    const r = await admin!.call("createInvite", { channel: id });
    expect(r.max_uses).toBe(5);
    expect(r.expires_at).toBeGreaterThanOrEqual(before + TTL);
    expect(r.expires_at).toBeLessThanOrEqual(Date.now() + TTL);
    const edge = await admin!.call("createInvite", { channel: id, max_uses: 5, expires_in_ms: TTL });
    expect(edge.max_uses).toBe(5);
    expectError(await admin!.request("createInvite", { channel: id, max_uses: 6 }), "bad_request");
    expectError(await admin!.request("createInvite", { channel: id, expires_in_ms: TTL + 1 }), "bad_request");
    expectError(await admin!.request("createInvite", { channel: id, max_uses: 0 }), "bad_request");
    const listed = (await admin!.call("listInvites", { channel: id })).invites;
    expect(listed.map((i: any) => i.invite)).toEqual([r.invite, edge.invite]);
    expect(listed[0]).toMatchObject({ uses: 0, max_uses: 5, expires_at: r.expires_at });
    expectError(await other!.request("listInvites", { channel: id }), "forbidden");
  }, 20_000);

  test("max_uses 2: two joins, the third is forbidden (used up) and changes nothing", async () => {
    const { cs, us, id } = await group(4);
    const invite = (await cs[0]!.call("createInvite", { channel: id, max_uses: 2 })).invite;
    await cs[1]!.call("joinGroup", { channel: id, invite });
    await cs[2]!.call("joinGroup", { channel: id, invite });
    refused(await cs[3]!.request("joinGroup", { channel: id, invite }), "used up");
    expect([...(await members(cs[0]!, id))].sort()).toEqual(us.slice(0, 3).map((u) => u.user.id).sort());
    expect((await cs[0]!.call("listInvites", { channel: id })).invites).toEqual([]);
  }, 20_000);

  test("an expired invite is forbidden (expired)", async () => {
    const { cs, id } = await group(2);
    const r = await cs[0]!.call("createInvite", { channel: id, expires_in_ms: 50 });
    await until(() => Date.now() > r.expires_at, "the invite's expiry", 5000);
    refused(await cs[1]!.request("joinGroup", { channel: id, invite: r.invite }), "expired");
    expect(await members(cs[0]!, id)).toHaveLength(1);
  }, 20_000);
});

describe("revocation", () => {
  test("revokeInvite: admins only; unknown or another group's code is not_found; a revoked invite is forbidden (revoked)", async () => {
    const { cs, us, id } = await group(3);
    const [admin, member, outsider] = cs;
    await admin!.call("addMembers", { channel: id, members: [us[1]!.user.id] });
    const invite = (await admin!.call("createInvite", { channel: id })).invite;
    const elsewhere = (await admin!.call("createGroup", { name: "elsewhere" })).channel.id;
    const foreign = (await admin!.call("createInvite", { channel: elsewhere })).invite;
    expectError(await member!.request("revokeInvite", { channel: id, invite }), "forbidden");
    expectError(await outsider!.request("revokeInvite", { channel: id, invite }), "forbidden");
    expectError(await admin!.request("revokeInvite", { channel: id, invite: "no-such-code" }), "not_found");
    expectError(await admin!.request("revokeInvite", { channel: id, invite: foreign }), "not_found");
    expect((await admin!.call("revokeInvite", { channel: id, invite })).ok).toBe(true);
    refused(await outsider!.request("joinGroup", { channel: id, invite }), "revoked");
    expect((await admin!.call("listInvites", { channel: id })).invites).toEqual([]);
    // The other group's invite still works.
    expect((await outsider!.call("joinGroup", { channel: elsewhere, invite: foreign })).channel.id).toBe(elsewhere);
  }, 20_000);

  test("the admin routes: create with limits, list, revoke (DELETE), 404 for an unknown code; and the CLI", async () => {
    const { cs, id } = await group(3);
    const made = await adminFetch(server, "POST", `/admin/groups/${id}/invite`, { max_uses: 3 });
    expect(made.status).toBe(200);
    const { invite, max_uses } = (await made.json()) as any;
    expect(max_uses).toBe(3);
    expect((await adminFetch(server, "POST", `/admin/groups/${id}/invite`, { max_uses: 6 })).status).toBe(400);
    const listed = (await (await adminFetch(server, "GET", `/admin/groups/${id}/invites`)).json()) as any;
    expect(listed.invites.map((i: any) => [i.invite, i.created_by, i.max_uses])).toEqual([[invite, "admin", 3]]);
    const del = await adminFetch(server, "DELETE", `/admin/groups/${id}/invites/${invite}`);
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ ok: true });
    expect((await adminFetch(server, "DELETE", `/admin/groups/${id}/invites/no-such-code`)).status).toBe(404);
    refused(await cs[1]!.request("joinGroup", { channel: id, invite }), "revoked");

    const created = await cli("groups", "invite", id, "--max-uses", "2", "--json");
    expect(created.code).toBe(0);
    const fromCli = JSON.parse(created.stdout);
    expect(fromCli.max_uses).toBe(2);
    expect((await cli("groups", "invite", id, "--max-uses", "many")).code).not.toBe(0);
    const list = await cli("groups", "invites", id);
    expect(list.stdout).toContain(fromCli.invite);
    expect(list.stdout).toContain("0/2");
    expect(JSON.parse((await cli("groups", "invites", id, "--json")).stdout).invites.map((i: any) => i.invite)).toEqual([fromCli.invite]);
    expect((await cli("groups", "invite-revoke", id, fromCli.invite)).code).toBe(0);
    expect((await cli("groups", "invite-revoke", id, fromCli.invite + "x", "--json")).code).not.toBe(0);
    refused(await cs[2]!.request("joinGroup", { channel: id, invite: fromCli.invite }), "revoked");
  }, 30_000);
});

describe("removal and leaving", () => {
  test("a removed member cannot rejoin with an invite made before the removal; re-added by an admin or with a newer invite they can", async () => {
    const { cs, us, id } = await group(2);
    const [admin, removed] = cs;
    const old = (await admin!.call("createInvite", { channel: id })).invite;
    await removed!.call("joinGroup", { channel: id, invite: old });
    await admin!.call("removeMember", { channel: id, user: us[1]!.user.id });
    refused(await removed!.request("joinGroup", { channel: id, invite: old }), "removed");
    expect(await members(admin!, id)).toEqual([us[0]!.user.id]);
    // An admin adds them back.
    await admin!.call("addMembers", { channel: id, members: [us[1]!.user.id] });
    expect(await members(admin!, id)).toContain(us[1]!.user.id);
    // Removed again, a new invite (made after the removal) lets them in; the old one still does not.
    await admin!.call("removeMember", { channel: id, user: us[1]!.user.id });
    refused(await removed!.request("joinGroup", { channel: id, invite: old }), "removed");
    const fresh = (await admin!.call("createInvite", { channel: id })).invite;
    expect((await removed!.call("joinGroup", { channel: id, invite: fresh })).channel.members).toContain(us[1]!.user.id);
  }, 20_000);

  test("a member who left rejoins with a valid invite", async () => {
    const { cs, us, id } = await group(2);
    const invite = (await cs[0]!.call("createInvite", { channel: id })).invite;
    await cs[1]!.call("joinGroup", { channel: id, invite });
    await cs[1]!.call("leaveGroup", { channel: id });
    expect((await cs[1]!.call("joinGroup", { channel: id, invite })).channel.members).toContain(us[1]!.user.id);
    expect((await cs[0]!.call("listInvites", { channel: id })).invites[0].uses).toBe(2);
  }, 20_000);
});
