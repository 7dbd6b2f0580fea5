// createGroup idempotency (client_id) and channel lists after a crash between
// the list writes (shard of each user) and the membership commit (shard of the
// channel): a crash's leftovers are staged with SqliteStore.exec.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Channel, OpParams, User } from "../../protocol/index.ts";
import { groupIdFor } from "../ids.ts";
import type { Caller } from "./ports.ts";
import { openDomain, type DomainFixture } from "../../../test/support/domain-fixture.ts";

let d: DomainFixture;
beforeEach(() => {
  d = openDomain();
});
afterEach(async () => {
  await d.close();
});

type Member = User & { caller: Caller };
const create = async (owner: Member, members: Member[], extra: Partial<OpParams["createGroup"]> = {}): Promise<Channel> =>
  (await d.dispatch("createGroup", owner.caller, { name: "g", members: members.map((m) => m.id), ...extra })).channel;
const listed = async (who: Member) => (await d.dispatch("getAll", who.caller, {})).channels.map((c) => c.id);
/** Stages what a crash after the membership commit and before `who`'s list write leaves. */
const dropListRow = (who: Member, channel: string) => d.store.exec(who.id, "DELETE FROM user_channels WHERE user_id = ? AND channel_id = ?", [who.id, channel]);

describe("createGroup client_id", () => {
  test("a retry with the same client_id returns the first group; nothing new is created or announced", async () => {
    const [a, b] = [await d.user("a"), await d.user("b")];
    const g1 = await create(a, [b], { client_id: "k1" });
    const mark = d.delivery.sent.length;
    const g2 = await create(a, [b], { client_id: "k1", name: "other name" });
    expect(g2.id).toBe(g1.id);
    expect(g2.name).toBe("g");
    expect(d.delivery.since(mark, "member")).toEqual([]);
    expect(await listed(a)).toEqual([g1.id]);
    expect(await listed(b)).toEqual([g1.id]);
  });

  test("another client_id, another creator, or no client_id: another group", async () => {
    const [a, b] = [await d.user("a"), await d.user("b")];
    const ids = new Set([
      (await create(a, [b], { client_id: "k1" })).id,
      (await create(a, [b], { client_id: "k2" })).id,
      (await create(b, [a], { client_id: "k1" })).id,
      (await create(a, [b])).id,
      (await create(a, [b])).id,
    ]);
    expect(ids.size).toBe(5);
    expect((await listed(a)).length).toBe(5);
  });

  test("the group id is derived from creator and client_id (checked at commit in the channel's shard)", async () => {
    const a = await d.user("a");
    expect((await create(a, [], { client_id: "x" })).id).toBe(groupIdFor(a.id, "x"));
    expect(groupIdFor(a.id, "x")).toMatch(/^g_[a-z2-9]{20}$/);
  });
});

describe("channel lists after a crash", () => {
  test("a retried createGroup re-writes a member's missing list row", async () => {
    const [a, b, c] = [await d.user("a"), await d.user("b"), await d.user("c")];
    const g = await create(a, [b, c], { client_id: "k" });
    await dropListRow(b, g.id);
    await dropListRow(a, g.id);
    expect(await listed(b)).toEqual([]);
    await create(a, [b, c], { client_id: "k" });
    expect(await listed(a)).toEqual([g.id]);
    expect(await listed(b)).toEqual([g.id]);
  });

  test("addMembers of a current member re-writes their missing list row and announces nothing", async () => {
    const [a, b] = [await d.user("a"), await d.user("b")];
    const g = await create(a, [b]);
    await dropListRow(b, g.id);
    const seq = (await d.store.getChannel(g.id))!.channel.last_seq;
    const mark = d.delivery.sent.length;
    await d.dispatch("addMembers", a.caller, { channel: g.id, members: [b.id] });
    expect(await listed(b)).toEqual([g.id]);
    expect(d.delivery.since(mark, "member")).toEqual([]);
    expect((await d.store.getChannel(g.id))!.channel.last_seq).toBe(seq);
  });

  test("joinGroup again by a current member re-writes their missing list row", async () => {
    const [a, b] = [await d.user("a"), await d.user("b")];
    const g = await create(a, [], { join: "open" });
    await d.dispatch("joinGroup", b.caller, { channel: g.id });
    await dropListRow(b, g.id);
    await d.dispatch("joinGroup", b.caller, { channel: g.id });
    expect(await listed(b)).toEqual([g.id]);
  });

  test("a list row whose membership never committed (crash after the list write) is not listed", async () => {
    const [a, b] = [await d.user("a"), await d.user("b")];
    const g = await create(a, []);
    await d.store.addUserChannels(b.id, [g.id, groupIdFor(a.id, "never-created")]);
    expect(await listed(b)).toEqual([]);
    expect((await d.dispatch("getUsers", b.caller, { ids: [a.id] })).users).toEqual([]);
  });
});
