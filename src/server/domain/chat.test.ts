// Channel and message rules, through dispatch (the op door both transports
// use) on a real SQLite store, with deliveries recorded: every error branch
// changes nothing and tells no one.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Channel, OpParams, User } from "../../protocol/index.ts";
import { directChannelId } from "../ids.ts";
import type { Caller } from "./ports.ts";
import { failure, openDomain, type DomainFixture } from "../../../test/support/domain-fixture.ts";

let d: DomainFixture;
beforeEach(() => {
  d = openDomain();
});
afterEach(async () => {
  await d.close();
});

type Member = User & { caller: Caller };
let cids = 0;
const text = (channel: string, content = "hi"): OpParams["sendMessage"] => ({ channel, client_id: `c${++cids}`, type: "text", content });
const send = (who: Member, p: OpParams["sendMessage"]) => d.dispatch("sendMessage", who.caller, p);
const group = async (owner: Member, members: Member[], extra: Partial<OpParams["createGroup"]> = {}): Promise<Channel> =>
  (await d.dispatch("createGroup", owner.caller, { name: "g", members: members.map((m) => m.id), ...extra })).channel;
const lastSeq = async (channel: string) => (await d.store.getChannel(channel))!.channel.last_seq;
const users = (n: number, prefix: string) => Promise.all(Array.from({ length: n }, (_, i) => d.user(`${prefix}${i}`)));

describe("membership", () => {
  test("a non-member can neither read nor write; an unknown channel is not_found; nothing changes and no one is told", async () => {
    const [a, b, c] = await users(3, "m");
    const g = await group(a!, [b!]);
    await send(a!, text(g.id));
    const mark = d.delivery.sent.length;
    expect(await failure(d.dispatch("getMessages", c!.caller, { channel: g.id }))).toMatchObject({ code: "forbidden" });
    expect(await failure(send(c!, text(g.id)))).toMatchObject({ code: "forbidden" });
    expect(await failure(d.dispatch("markSeen", c!.caller, { channel: g.id, seq: 1 }))).toMatchObject({ code: "forbidden" });
    expect(await failure(d.dispatch("typing", c!.caller, { channel: g.id, state: "start" }))).toMatchObject({ code: "forbidden" });
    expect(await failure(d.dispatch("getMessages", a!.caller, { channel: "g_nope" }))).toMatchObject({ code: "not_found" });
    expect(await failure(send(a!, text("g_nope")))).toMatchObject({ code: "not_found" });
    expect(await lastSeq(g.id)).toBe(1);
    expect(d.delivery.since(mark)).toEqual([]);
    expect((await d.dispatch("getAll", c!.caller, {})).channels).toEqual([]);
  });

  test("a member who left reads what arrived while a member, nothing after, and can no longer write", async () => {
    const [a, b] = await users(2, "l");
    const g = await group(a!, [b!]);
    const m1 = (await send(a!, text(g.id, "before"))).message;
    await d.dispatch("leaveGroup", b!.caller, { channel: g.id });
    const mark = d.delivery.sent.length;
    await send(a!, text(g.id, "after"));
    expect(d.delivery.since(mark, "message").map((s) => s.to)).toEqual([[a!.id]]);
    expect((await d.dispatch("getMessages", b!.caller, { channel: g.id })).messages).toEqual([m1]);
    expect(await failure(send(b!, text(g.id)))).toMatchObject({ code: "forbidden", message: "no longer a member of this channel" });
    expect(await failure(d.dispatch("markSeen", b!.caller, { channel: g.id, seq: 1 }))).toMatchObject({ code: "forbidden" });
    const seen = (await d.dispatch("getAll", b!.caller, {})).channels.find((c) => c.id === g.id)!;
    expect(seen).toMatchObject({ last_seq: 1, members: [a!.id] });
    expect(seen.last_message?.content).toBe("before");
  });

  test("a member who joins later reads from their join on, and cannot reply to what came before", async () => {
    const [a, c] = await users(2, "j");
    const g = await group(a!, []);
    const m1 = (await send(a!, text(g.id, "old"))).message;
    await d.dispatch("addMembers", a!.caller, { channel: g.id, members: [c!.id] });
    const m2 = (await send(a!, text(g.id, "new"))).message;
    expect((await d.dispatch("getMessages", c!.caller, { channel: g.id })).messages).toEqual([m2]);
    expect(await failure(send(c!, { ...text(g.id), reply_to: m1.id }))).toMatchObject({ code: "not_found" });
    expect((await send(c!, { ...text(g.id), reply_to: m2.id })).message.reply_to).toBe(m2.id);
  });
});

describe("sendMessage", () => {
  test("content of exactly the byte limit is stored; one byte over is too_large and nothing is stored or sent", async () => {
    const [a, b] = await users(2, "s");
    const g = await group(a!, [b!]);
    const atLimit = "é".repeat(32 * 1024); // 2 bytes each: 65536 bytes, the default limit
    expect((await send(a!, text(g.id, atLimit))).message.content).toBe(atLimit);
    const mark = d.delivery.sent.length;
    expect(await failure(send(a!, text(g.id, atLimit + "x")))).toMatchObject({ code: "too_large" });
    expect(await lastSeq(g.id)).toBe(1);
    expect(d.delivery.since(mark)).toEqual([]);
  });

  test("the limit is the configured one", async () => {
    await d.close();
    d = openDomain({ maxMessageBytes: 10 });
    const [a, b] = await users(2, "s");
    const g = await group(a!, [b!]);
    expect((await send(a!, text(g.id, "0123456789"))).message.seq).toBe(1);
    expect(await failure(send(a!, text(g.id, "0123456789a")))).toMatchObject({ code: "too_large" });
  });

  test("a repeated client_id returns the original message and sends no second event", async () => {
    const [a, b] = await users(2, "i");
    const g = await group(a!, [b!]);
    const mark = d.delivery.sent.length;
    const first = (await send(a!, { channel: g.id, client_id: "same", type: "text", content: "one" })).message;
    const again = (await send(a!, { channel: g.id, client_id: "same", type: "text", content: "two" })).message;
    expect(again).toEqual(first);
    expect(again.content).toBe("one");
    expect(await lastSeq(g.id)).toBe(1);
    expect(d.delivery.since(mark, "message")).toHaveLength(1);
    expect(d.metrics.messages.get()).toBe(1);
    // The same client_id from another sender is another message.
    expect((await send(b!, { channel: g.id, client_id: "same", type: "text", content: "b" })).message.seq).toBe(2);
  });

  test("reply_to must name an existing message of this channel", async () => {
    const [a, b] = await users(2, "r");
    const g = await group(a!, [b!]);
    const other = await group(a!, []);
    const m1 = (await send(a!, text(g.id))).message;
    const elsewhere = (await send(a!, text(other.id))).message;
    const mark = d.delivery.sent.length;
    for (const reply_to of [`${g.id}:2`, `${g.id}:99`, elsewhere.id, "not-an-id"])
      expect(await failure(send(b!, { ...text(g.id), reply_to }))).toMatchObject({ code: "not_found" });
    expect(await lastSeq(g.id)).toBe(1);
    expect(d.delivery.since(mark)).toEqual([]);
    expect((await send(b!, { ...text(g.id), reply_to: m1.id })).message).toMatchObject({ seq: 2, reply_to: m1.id });
  });

  test("text needs content and no media; other types need media the sender may send", async () => {
    const [a, b, c] = await users(3, "t");
    const g = await group(a!, [b!]);
    const own = await d.upload(a!.id, new Uint8Array([1, 2, 3]));
    const foreign = await d.upload(c!.id, new Uint8Array([4, 5, 6]));
    const cases: [Partial<OpParams["sendMessage"]>, string][] = [
      [{ content: "" }, "bad_request"],
      [{ media: own }, "bad_request"],
      [{ type: "image", content: "caption" }, "bad_request"],
      [{ type: "image", media: "m_doesnotexist" }, "not_found"],
      [{ type: "file", media: foreign }, "not_found"],
    ];
    for (const [p, code] of cases) expect(await failure(send(a!, { ...text(g.id), ...p }))).toMatchObject({ code });
    expect(await lastSeq(g.id)).toBe(0);
    expect(await d.media.readable(b!.id, own)).toBeNull();
    const m = (await send(a!, { ...text(g.id, "look"), type: "image", media: own })).message;
    expect(m).toMatchObject({ type: "image", media: own, content: "look" });
    expect((await d.media.readable(b!.id, own))?.id).toBe(own); // members may now download it
  });

  test("channel or to, exactly one; not to oneself; not to a user who does not exist", async () => {
    const [a, b] = await users(2, "x");
    const g = await group(a!, [b!]);
    const base = { client_id: "c", type: "text", content: "hi" } as const;
    expect(await failure(send(a!, base))).toMatchObject({ code: "bad_request" });
    expect(await failure(send(a!, { ...base, channel: g.id, to: b!.id }))).toMatchObject({ code: "bad_request" });
    expect(await failure(send(a!, { ...base, to: a!.id }))).toMatchObject({ code: "bad_request" });
    expect(await failure(send(a!, { ...base, to: "u_ghost" }))).toMatchObject({ code: "not_found" });
    expect(await d.store.getChannel(directChannelId(a!.id, "u_ghost"))).toBeNull();
  });

  test("the first message to a user creates the one direct chat; members are introduced; the event skips the sending connection", async () => {
    const [a, b] = await users(2, "d");
    const conn = { id: 42 };
    const aOn: Caller = { ...a!.caller, conn };
    d.delivery.online.add(b!.id);
    const mark = d.delivery.sent.length;
    const m1 = (await send(a!, { to: b!.id, client_id: "c1", type: "text", content: "hi" })).message;
    expect(m1.channel).toBe(directChannelId(a!.id, b!.id));
    // b is online: each is told the other's presence.
    const presence = d.delivery.since(mark, "presence").map((s) => [s.to, s.event.user, s.event.online]);
    expect(presence).toEqual(expect.arrayContaining([[[b!.id], a!.id, false], [[a!.id], b!.id, true]]));
    const m2 = (await d.dispatch("sendMessage", aOn, { to: b!.id, client_id: "c2", type: "text", content: "again" })).message;
    expect(m2).toMatchObject({ channel: m1.channel, seq: 2 });
    const ev = d.delivery.since(mark, "message").at(-1)!;
    expect([...ev.to].sort()).toEqual([a!.id, b!.id].sort());
    expect(ev.except).toBe(conn);
    for (const who of [a!, b!]) expect((await d.dispatch("getAll", who.caller, {})).channels.map((c) => c.id)).toEqual([m1.channel]);
    const seenByB = (await d.dispatch("getAll", b!.caller, {})).channels[0]!;
    expect(seenByB).toMatchObject({ kind: "direct", name: a!.name, unread: 2, last_seq: 2 });
  });

  test("history pages: the newest page with has_more, then older or newer from a cursor", async () => {
    const [a] = await users(1, "h");
    const g = await group(a!, []);
    for (let i = 1; i <= 5; i++) await send(a!, text(g.id, `m${i}`));
    const seqs = async (p: Omit<OpParams["getMessages"], "channel">) => {
      const r = await d.dispatch("getMessages", a!.caller, { channel: g.id, ...p });
      return [r.messages.map((m) => m.seq), r.has_more];
    };
    expect(await seqs({ limit: 2 })).toEqual([[4, 5], true]);
    expect(await seqs({ before_seq: 4, limit: 2 })).toEqual([[2, 3], true]);
    expect(await seqs({ before_seq: 2, limit: 2 })).toEqual([[1], false]);
    expect(await seqs({ after_seq: 3 })).toEqual([[4, 5], false]);
  });
});

describe("receipts and typing", () => {
  test("a receipt moves the caller's cursor (never past the last message), tells every member, and says nothing when unchanged", async () => {
    const [a, b] = await users(2, "k");
    const g = await group(a!, [b!]);
    await send(a!, text(g.id));
    await send(a!, text(g.id));
    const mark = d.delivery.sent.length;
    await d.dispatch("markDelivered", b!.caller, { channel: g.id, seq: 99 });
    await d.dispatch("markSeen", b!.caller, { channel: g.id, seq: 1 });
    await d.dispatch("markSeen", b!.caller, { channel: g.id, seq: 1 });
    const receipts = d.delivery.since(mark, "receipt");
    expect(receipts.map((r) => [r.event.delivered_seq, r.event.seen_seq])).toEqual([
      [2, 0],
      [2, 1],
    ]);
    expect(receipts.every((r) => [...r.to].sort().join() === [a!.id, b!.id].sort().join())).toBe(true);
    expect((await d.dispatch("getAll", b!.caller, {})).channels[0]).toMatchObject({ delivered_seq: 2, seen_seq: 1, unread: 1 });
  });

  test("typing goes to the other current members only", async () => {
    const [a, b, c] = await users(3, "y");
    const g = await group(a!, [b!, c!]);
    await d.dispatch("leaveGroup", c!.caller, { channel: g.id });
    const mark = d.delivery.sent.length;
    await d.dispatch("typing", a!.caller, { channel: g.id, state: "start" });
    expect(d.delivery.since(mark).map((s) => [s.to, s.event])).toEqual([[[b!.id], { ev: "typing", channel: g.id, user: a!.id, state: "start" }]]);
  });
});

describe("groups", () => {
  test("the creator is the admin; members are told they were added; an unknown member is not_found and nothing is created", async () => {
    const [a, b] = await users(2, "g");
    const before = (await d.store.listChannels()).length;
    expect(await failure(group(a!, [b!, { id: "u_ghost" } as Member]))).toMatchObject({ code: "not_found" });
    expect((await d.store.listChannels()).length).toBe(before);
    const mark = d.delivery.sent.length;
    const g = await group(a!, [b!], { description: "d", join: "open" });
    expect(g).toMatchObject({ kind: "group", admins: [a!.id], join: "open", description: "d" });
    expect([...g.members].sort()).toEqual([a!.id, b!.id].sort());
    expect(d.delivery.since(mark, "member").map((s) => s.event)).toEqual([{ ev: "member", channel: g.id, user: b!.id, action: "added", by: a!.id }]);
  });

  test("100 members fit; the 101st is group_full whether created, added or joining, and nothing changes", async () => {
    const people = await users(101, "f");
    const [owner, ...rest] = people;
    expect(await failure(group(owner!, rest))).toMatchObject({ code: "group_full" });
    const g = await group(owner!, rest.slice(0, 99), { join: "open" });
    expect(g.members).toHaveLength(100);
    const last = rest[99]!;
    const mark = d.delivery.sent.length;
    expect(await failure(d.dispatch("addMembers", owner!.caller, { channel: g.id, members: [last.id] }))).toMatchObject({ code: "group_full" });
    expect(await failure(d.dispatch("joinGroup", last.caller, { channel: g.id }))).toMatchObject({ code: "group_full" });
    expect((await d.store.getChannel(g.id))!.members.filter((m) => m.left_seq === null)).toHaveLength(100);
    expect(await d.store.userChannels(last.id)).toEqual([]);
    expect(d.delivery.since(mark)).toEqual([]);
  });

  test("the member limit is the configured one", async () => {
    await d.close();
    d = openDomain({ maxGroupMembers: 3 });
    const [a, b, c, e] = await users(4, "q");
    const g = await group(a!, [b!, c!]);
    expect(await failure(d.dispatch("addMembers", a!.caller, { channel: g.id, members: [e!.id] }))).toMatchObject({ code: "group_full" });
  });

  test("only admins add, remove and invite; a non-member is told they are not one", async () => {
    const [a, b, c] = await users(3, "p");
    const g = await group(a!, [b!]);
    const mark = d.delivery.sent.length;
    const onlyAdmins = { code: "forbidden", message: "only group admins can do that" };
    expect(await failure(d.dispatch("addMembers", b!.caller, { channel: g.id, members: [c!.id] }))).toMatchObject(onlyAdmins);
    expect(await failure(d.dispatch("removeMember", b!.caller, { channel: g.id, user: a!.id }))).toMatchObject(onlyAdmins);
    expect(await failure(d.dispatch("createInvite", b!.caller, { channel: g.id }))).toMatchObject(onlyAdmins);
    expect(await failure(d.dispatch("createInvite", c!.caller, { channel: g.id }))).toMatchObject({ code: "forbidden", message: "not a member of this group" });
    expect(await failure(d.dispatch("addMembers", a!.caller, { channel: g.id, members: ["u_ghost"] }))).toMatchObject({ code: "not_found" });
    expect(await failure(d.dispatch("createInvite", a!.caller, { channel: "g_nope" }))).toMatchObject({ code: "not_found" });
    expect(d.delivery.since(mark)).toEqual([]);
    expect((await d.store.getChannel(g.id))!.members).toHaveLength(2);
  });

  test("addMembers announces only the new members", async () => {
    const [a, b, c] = await users(3, "n");
    const g = await group(a!, [b!]);
    const mark = d.delivery.sent.length;
    const after = (await d.dispatch("addMembers", a!.caller, { channel: g.id, members: [b!.id, c!.id, c!.id] })).channel;
    expect([...after.members].sort()).toEqual([a!.id, b!.id, c!.id].sort());
    expect(d.delivery.since(mark, "member").map((s) => [s.event.user, s.event.action, s.event.by])).toEqual([[c!.id, "added", a!.id]]);
  });

  test("invites: an invite-only group needs an invite of that group; an open one needs none; joining again just returns the channel", async () => {
    const [a, c, e] = await users(3, "v");
    const g = await group(a!, []);
    const other = await group(a!, []);
    const otherInvite = (await d.dispatch("createInvite", a!.caller, { channel: other.id })).invite;
    for (const invite of [undefined, otherInvite, "bogus"])
      expect(await failure(d.dispatch("joinGroup", c!.caller, { channel: g.id, invite }))).toMatchObject({ code: "forbidden" });
    const invite = (await d.dispatch("createInvite", a!.caller, { channel: g.id })).invite;
    const mark = d.delivery.sent.length;
    expect((await d.dispatch("joinGroup", c!.caller, { channel: g.id, invite })).channel.members).toContain(c!.id);
    expect(d.delivery.since(mark, "member").map((s) => [s.event.user, s.event.action, s.event.by])).toEqual([[c!.id, "joined", c!.id]]);
    const again = d.delivery.sent.length;
    expect((await d.dispatch("joinGroup", c!.caller, { channel: g.id })).channel.id).toBe(g.id);
    expect(d.delivery.since(again)).toEqual([]);
    const open = await group(a!, [], { join: "open" });
    expect((await d.dispatch("joinGroup", e!.caller, { channel: open.id })).channel.members).toContain(e!.id);
    expect(await failure(d.dispatch("joinGroup", e!.caller, { channel: "g_nope" }))).toMatchObject({ code: "not_found" });
  });

  test("invites carry the configured limits; a join through one counts a use; an open group needs none and counts none", async () => {
    await d.close();
    d = openDomain({ inviteMaxUses: 2, inviteTtlMs: 1000 });
    const [a, b, c, e] = await users(4, "iv");
    const g = await group(a!, []);
    const r = await d.dispatch("createInvite", a!.caller, { channel: g.id });
    expect(r.max_uses).toBe(2);
    expect(await failure(d.dispatch("createInvite", a!.caller, { channel: g.id, max_uses: 3 }))).toMatchObject({ code: "bad_request", message: "max_uses is at most 2 on this server" });
    expect(await failure(d.dispatch("createInvite", a!.caller, { channel: g.id, expires_in_ms: 1001 }))).toMatchObject({ code: "bad_request" });
    await d.dispatch("joinGroup", b!.caller, { channel: g.id, invite: r.invite });
    await d.dispatch("joinGroup", c!.caller, { channel: g.id, invite: r.invite });
    const mark = d.delivery.sent.length;
    expect(await failure(d.dispatch("joinGroup", e!.caller, { channel: g.id, invite: r.invite }))).toMatchObject({ code: "forbidden", message: "this invite is used up (2 of 2 uses)" });
    expect(d.delivery.since(mark)).toEqual([]);
    expect(await d.store.userChannels(e!.id)).toEqual([]);
    const open = await group(a!, [], { join: "open" });
    const oi = await d.dispatch("createInvite", a!.caller, { channel: open.id });
    await d.dispatch("joinGroup", e!.caller, { channel: open.id, invite: oi.invite });
    expect((await d.dispatch("listInvites", a!.caller, { channel: open.id })).invites.map((i) => i.uses)).toEqual([0]);
  });

  test("removal by an admin revokes the invites the removed member made and bars them from older invites; leaving does neither", async () => {
    const [o, r, m, x] = await users(4, "rm");
    const { group: g } = await d.admin.createGroup({ owner: r!.id, name: "r-owned", members: [m!.id] });
    const theirs = (await d.dispatch("createInvite", r!.caller, { channel: g.id })).invite;
    const operators = (await d.admin.createInvite(g.id)).invite;
    await d.admin.removeMember(g.id, r!.id); // m is promoted: a group keeps an admin
    expect((await d.dispatch("listInvites", m!.caller, { channel: g.id })).invites.map((i) => [i.invite, i.created_by])).toEqual([[operators, "admin"]]);
    expect(await failure(d.dispatch("joinGroup", x!.caller, { channel: g.id, invite: theirs }))).toMatchObject({ code: "forbidden", message: "this invite was revoked" });
    expect(await failure(d.dispatch("joinGroup", r!.caller, { channel: g.id, invite: operators }))).toMatchObject({ code: "forbidden" });
    await d.dispatch("joinGroup", o!.caller, { channel: g.id, invite: operators });
    expect(await failure(d.dispatch("createInvite", o!.caller, { channel: g.id }))).toMatchObject({ code: "forbidden" });
    // o (a member, not an admin) leaves and comes back with the same invite.
    await d.dispatch("leaveGroup", o!.caller, { channel: g.id });
    expect((await d.dispatch("joinGroup", o!.caller, { channel: g.id, invite: operators })).channel.members).toContain(o!.id);
    expect(await failure(d.dispatch("revokeInvite", o!.caller, { channel: g.id, invite: operators }))).toMatchObject({ code: "forbidden" });
    expect(await failure(d.dispatch("revokeInvite", m!.caller, { channel: g.id, invite: theirs + "x" }))).toMatchObject({ code: "not_found" });
    await d.dispatch("revokeInvite", m!.caller, { channel: g.id, invite: operators });
    expect((await d.admin.listInvites(g.id)).invites).toEqual([]);
  });

  test("leave and remove: everyone is told, the one who goes included; removing needs an admin and a current member", async () => {
    const [a, b, c] = await users(3, "z");
    const g = await group(a!, [b!, c!]);
    let mark = d.delivery.sent.length;
    await d.dispatch("leaveGroup", b!.caller, { channel: g.id });
    expect(d.delivery.since(mark).map((s) => [[...s.to].sort(), s.event])).toEqual([
      [[a!.id, b!.id, c!.id].sort(), { ev: "member", channel: g.id, user: b!.id, action: "left", by: b!.id }],
    ]);
    expect(await failure(d.dispatch("leaveGroup", b!.caller, { channel: g.id }))).toMatchObject({ code: "forbidden" });
    expect(await failure(d.dispatch("removeMember", a!.caller, { channel: g.id, user: b!.id }))).toMatchObject({ code: "not_found" });
    mark = d.delivery.sent.length;
    await d.dispatch("removeMember", a!.caller, { channel: g.id, user: c!.id });
    expect(d.delivery.since(mark).map((s) => [[...s.to].sort(), s.event.ev === "member" && s.event.action])).toEqual([[[a!.id, c!.id].sort(), "removed"]]);
    expect((await d.store.getChannel(g.id))!.members.filter((m) => m.left_seq === null).map((m) => m.user_id)).toEqual([a!.id]);
  });

  test("a direct chat has no members to manage", async () => {
    const [a, b, c] = await users(3, "w");
    const dm = (await send(a!, { to: b!.id, client_id: "c", type: "text", content: "hi" })).message.channel;
    const calls = [
      d.dispatch("addMembers", a!.caller, { channel: dm, members: [c!.id] }),
      d.dispatch("removeMember", a!.caller, { channel: dm, user: b!.id }),
      d.dispatch("leaveGroup", a!.caller, { channel: dm }),
      d.dispatch("createInvite", a!.caller, { channel: dm }),
      d.dispatch("joinGroup", c!.caller, { channel: dm }),
    ];
    for (const p of calls) expect(await failure(p)).toMatchObject({ code: "bad_request" });
    expect((await d.store.getChannel(dm))!.members).toHaveLength(2);
  });
});

describe("users and ops", () => {
  test("findUser finds by phone; an unknown number is not_found", async () => {
    const [a, b] = await users(2, "u");
    expect((await d.dispatch("findUser", a!.caller, { phone: b!.phone })).user).toEqual({ id: b!.id, name: b!.name, phone: b!.phone, last_seen: null });
    expect(await failure(d.dispatch("findUser", a!.caller, { phone: "+12025559999" }))).toMatchObject({ code: "not_found" });
  });

  test("getUsers returns only people who share a channel with the caller", async () => {
    const [a, b, c] = await users(3, "o");
    await group(a!, [b!]);
    const got = (await d.dispatch("getUsers", a!.caller, { ids: [a!.id, b!.id, c!.id, "u_ghost"] })).users;
    expect(got.map((u) => u.id).sort()).toEqual([a!.id, b!.id].sort());
  });

  test("an unknown op or bad params are bad_request naming the op", async () => {
    const [a] = await users(1, "b");
    expect(await failure(d.dispatch("launchRocket", a!.caller, {}))).toMatchObject({ code: "bad_request", message: "unknown op: launchRocket" });
    expect(await failure(d.dispatch("getMessages", a!.caller, { channel: 5 }))).toMatchObject({ code: "bad_request", message: "getMessages: channel must be a string" });
    expect(await failure(d.dispatch("getAll", a!.caller, []))).toMatchObject({ code: "bad_request" });
    expect(typeof (await d.dispatch("ping", a!.caller, {})).at).toBe("number");
  });
});

describe("edits, deletes, reactions", () => {
  test("a takeover's unreplicated rows: messages appended again, their changes applied to the seq they moved to", async () => {
    const [a, b] = await users(2, "t");
    const g = await group(a!, [b!]);
    const m1 = (await send(a!, text(g.id, "one"))).message;
    const lost = [
      // The dead owner had committed (and acknowledged) seq 2..5; the replica has only seq 1.
      { seq: 2, channel: g.id, sender: b!.id, client_id: "lost1", type: "text", content: "tpyo", media: null, reply_to: null, sent_at: 10 },
      { seq: 3, channel: g.id, sender: b!.id, client_id: "\u00003", type: "change", content: JSON.stringify({ op: "edit", content: "typo" }), media: null, reply_to: `${g.id}:2`, sent_at: 11 },
      { seq: 4, channel: g.id, sender: b!.id, client_id: "\u00004", type: "change", content: JSON.stringify({ op: "react", emoji: "👍" }), media: null, reply_to: m1.id, sent_at: 12 },
      { seq: 5, channel: g.id, sender: a!.id, client_id: "\u00005", type: "hide", content: JSON.stringify({ op: "hide" }), media: null, reply_to: m1.id, sent_at: 13 },
    ];
    // Something else was sent on the new owner first: the lost message lands at seq 3, not 2.
    await send(a!, text(g.id, "meanwhile"));
    const failed: unknown[] = [];
    expect(await d.chat.recoverLost(lost, (_m, e) => failed.push(e))).toBe(4);
    expect(failed).toEqual([]);
    const seen = (await d.dispatch("getMessages", b!.caller, { channel: g.id })).messages;
    expect(seen.filter((m) => m.type !== "change").map((m) => [m.seq, m.content, m.edited_at, m.reactions])).toEqual([
      [1, "one", null, [{ emoji: "👍", users: [b!.id] }]],
      [2, "meanwhile", null, []],
      [3, "typo", 11, []],
    ]);
    // The hide is a's only.
    expect((await d.dispatch("getMessages", a!.caller, { channel: g.id })).messages.some((m) => m.seq === 1)).toBe(false);
    // b reads the three messages and two change entries (a's hide entry is a's only).
    expect(seen.map((m) => m.type)).toEqual(["text", "text", "text", "change", "change"]);
  });
});
