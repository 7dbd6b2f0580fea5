// Privacy rules and the group-creation cap, through dispatch on a real SQLite
// store: who finds whom by phone, who may put whom in a group, for each
// setting and each kind of caller; what a refused member is (and is not) told;
// the cap at its edge; the operator held to neither.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { OpParams, PrivacyAudience, User } from "../../protocol/index.ts";
import type { Caller } from "./ports.ts";
import { failure, openDomain, type DomainFixture } from "../../../test/support/domain-fixture.ts";

const MAX_GROUPS = 3;
let d: DomainFixture;
beforeEach(() => {
  d = openDomain({ maxGroupsPerHour: MAX_GROUPS });
});
afterEach(async () => {
  await d.close();
});

type Member = User & { caller: Caller };
let cids = 0;
const say = (from: Member, to: Member) => d.dispatch("sendMessage", from.caller, { to: to.id, client_id: `p${++cids}`, type: "text", content: "hi" });
const set = (who: Member, p: OpParams["setPrivacy"]) => d.dispatch("setPrivacy", who.caller, p);
const find = (who: Member, phone: string) => d.dispatch("findUser", who.caller, { phone });

/**
 * The owner of the settings and one caller of each kind: a contact (the owner wrote to them in
 * their direct chat), a stranger who wrote to the owner (the chat exists, the owner never wrote
 * in it) and a plain stranger.
 */
async function cast() {
  const [owner, contact, writer, stranger] = await Promise.all(["Owner", "Contact", "Writer", "Stranger"].map((n) => d.user(n)));
  await say(owner!, contact!);
  await say(writer!, owner!);
  return { owner: owner!, contact: contact!, writer: writer!, stranger: stranger! };
}

/** Who each setting lets in, by caller kind. */
const LETS_IN: Record<PrivacyAudience, { contact: boolean; writer: boolean; stranger: boolean }> = {
  everyone: { contact: true, writer: true, stranger: true },
  contacts: { contact: true, writer: false, stranger: false },
  nobody: { contact: false, writer: false, stranger: false },
};

describe("settings", () => {
  test("everyone for both until set; one setting changes alone; none named is bad_request and changes nothing", async () => {
    const a = await d.user("Ada");
    expect(await d.dispatch("getPrivacy", a.caller, {})).toEqual({ privacy: { find_by_phone: "everyone", add_to_groups: "everyone" } });
    expect(await set(a, { add_to_groups: "contacts" })).toEqual({ privacy: { find_by_phone: "everyone", add_to_groups: "contacts" } });
    expect(await set(a, { find_by_phone: "nobody" })).toEqual({ privacy: { find_by_phone: "nobody", add_to_groups: "contacts" } });
    expect(await failure(set(a, {}))).toMatchObject({ code: "bad_request" });
    expect(await failure(d.dispatch("setPrivacy", a.caller, { find_by_phone: "friends" }))).toMatchObject({ code: "bad_request" });
    expect(await d.dispatch("getPrivacy", a.caller, {})).toEqual({ privacy: { find_by_phone: "nobody", add_to_groups: "contacts" } });
  });
});

describe("find_by_phone", () => {
  for (const audience of ["everyone", "contacts", "nobody"] as const) {
    test(`${audience}: found by ${Object.entries(LETS_IN[audience]).filter(([, y]) => y).map(([k]) => k).join(", ") || "no one but themselves"}; the others get the unknown number's not_found`, async () => {
      const { owner, ...callers } = await cast();
      await set(owner, { find_by_phone: audience });
      const answer = (e: { code?: string; message?: string; retryAfterMs?: number } | null) => e && { code: e.code, message: e.message, retry: e.retryAfterMs };
      const unknown = answer(await failure(find(callers.stranger, "+12025550000")));
      expect(unknown).toMatchObject({ code: "not_found" });
      for (const [kind, caller] of Object.entries(callers)) {
        const lets = LETS_IN[audience][kind as keyof typeof callers];
        const r = find(caller, owner.phone);
        if (lets) expect((await r).user.id).toBe(owner.id);
        // Exactly the unknown number's answer: the same code and message, nothing more.
        else expect(answer(await failure(r))).toEqual(unknown);
      }
      expect((await find(owner, owner.phone)).user.id).toBe(owner.id);
    });
  }
});

describe("add_to_groups", () => {
  for (const audience of ["everyone", "contacts", "nobody"] as const) {
    test(`${audience}: createGroup and addMembers by each kind of user add or refuse as set; the refused are told nothing`, async () => {
      const { owner, ...adders } = await cast();
      await set(owner, { add_to_groups: audience });
      for (const [kind, adder] of Object.entries(adders)) {
        const lets = LETS_IN[audience][kind as keyof typeof adders];
        const mark = d.delivery.sent.length;
        const made = await d.dispatch("createGroup", adder.caller, { name: `by ${kind}`, members: [owner.id] });
        expect(made.refused).toEqual(lets ? [] : [owner.id]);
        expect(made.channel.members.includes(owner.id)).toBe(lets);
        const toldOwner = d.delivery.since(mark).filter((s) => s.to.includes(owner.id));
        expect(toldOwner.length > 0).toBe(lets);
        // addMembers to a group the adder made without the owner.
        const g = (await d.dispatch("createGroup", adder.caller, { name: `later by ${kind}` })).channel;
        const added = await d.dispatch("addMembers", adder.caller, { channel: g.id, members: [owner.id] });
        expect(added.refused).toEqual(lets ? [] : [owner.id]);
        expect(added.channel.members.includes(owner.id)).toBe(lets);
        const listed = (await d.dispatch("getAll", owner.caller, {})).channels.map((c) => c.id);
        expect(listed.includes(g.id)).toBe(lets);
      }
    });
  }

  test("only the refused are left out; a current member is never refused; the operator adds anyone", async () => {
    const { owner, contact, stranger } = await cast();
    const free = await d.user("Free");
    await set(owner, { add_to_groups: "nobody" });
    const made = await d.dispatch("createGroup", contact.caller, { name: "mixed", members: [owner.id, free.id, stranger.id] });
    expect(made.refused).toEqual([owner.id]);
    expect(made.channel.members.sort()).toEqual([contact.id, free.id, stranger.id].sort());
    // Added by the operator, the owner is then a member: adding them again is not a refusal.
    await d.admin.addMembers(made.channel.id, { members: [owner.id] });
    const again = await d.dispatch("addMembers", contact.caller, { channel: made.channel.id, members: [owner.id] });
    expect(again.refused).toEqual([]);
    // After leaving, they are not a member: refused again.
    await d.dispatch("leaveGroup", owner.caller, { channel: made.channel.id });
    expect((await d.dispatch("addMembers", contact.caller, { channel: made.channel.id, members: [owner.id] })).refused).toEqual([owner.id]);
    // The operator's group takes them in, and counts nothing against its owner.
    const g = (await d.admin.createGroup({ owner: contact.id, name: "by the operator", members: [owner.id] })).group;
    expect(g.members).toContain(owner.id);
    // They join through an invite whatever their setting.
    const { invite } = await d.dispatch("createInvite", contact.caller, { channel: made.channel.id });
    expect((await d.dispatch("joinGroup", owner.caller, { channel: made.channel.id, invite })).channel.members).toContain(owner.id);
  });
});

describe(`--max-groups-per-hour (${MAX_GROUPS} here)`, () => {
  test("N groups, the N+1st rate_limited with retry_after_ms and nothing made; a retry of one made is ok; the operator's are not counted", async () => {
    const a = await d.user("Ada");
    const b = await d.user("Bo");
    await d.admin.createGroup({ owner: a.id, name: "operator's" });
    const made: string[] = [];
    for (let i = 0; i < MAX_GROUPS; i++) made.push((await d.dispatch("createGroup", a.caller, { name: `g${i}`, client_id: `k${i}`, members: [b.id] })).channel.id);
    const before = (await d.dispatch("getAll", b.caller, {})).channels.length;
    const mark = d.delivery.sent.length;
    const refused = (await failure(d.dispatch("createGroup", a.caller, { name: "one more", client_id: "k-more", members: [b.id] }))) as { code?: string; retryAfterMs?: number };
    expect(refused).toMatchObject({ code: "rate_limited" });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60 * 60 * 1000);
    expect(d.delivery.since(mark)).toEqual([]);
    expect((await d.dispatch("getAll", b.caller, {})).channels.length).toBe(before);
    expect((await d.store.listChannels()).filter((c) => c.kind === "group").length).toBe(MAX_GROUPS + 1);
    // A retry of a group already made (same client_id) is answered with it.
    expect((await d.dispatch("createGroup", a.caller, { name: "g1", client_id: "k1", members: [b.id] })).channel.id).toBe(made[1]!);
    // Another user has their own count.
    expect((await d.dispatch("createGroup", b.caller, { name: "b's" })).refused).toEqual([]);
  });

  test("a create that failed before its commit (unknown member) takes no slot", async () => {
    const a = await d.user("Ada");
    for (let i = 0; i < 5; i++) expect(await failure(d.dispatch("createGroup", a.caller, { name: "x", members: ["u_ghost"] }))).toMatchObject({ code: "not_found" });
    for (let i = 0; i < MAX_GROUPS; i++) await d.dispatch("createGroup", a.caller, { name: `g${i}` });
    expect(await failure(d.dispatch("createGroup", a.caller, { name: "more" }))).toMatchObject({ code: "rate_limited" });
  });
});
