import { describe, expect, test } from "bun:test";
import { NatterError } from "../../protocol/index.ts";
import { ALICE, BOB, CAROL, channel, FakeClient, startController } from "../../../test/support/fake-chat-client.ts";

const direct = channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id], last_seq: 2 });
const group = channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id], admins: [ALICE.id] });

/** A controller over the fake client that finds alice, bob and carol by phone, once the chat list (d1 and g1) is in. */
async function setup() {
  const client = new FakeClient(ALICE);
  client.handlers.getAll = () => ({ channels: [direct, group] });
  client.handlers.findUser = ({ phone }) => {
    const u = [ALICE, BOB, CAROL].find((x) => x.phone === phone);
    if (!u) throw new NatterError("not_found", "no user with that phone");
    return { user: u };
  };
  return { client, c: await startController(client) };
}

describe("commands", () => {
  test("/new opens the existing direct chat, or a draft for a new person", async () => {
    const { c } = await setup();
    expect(await c.run({ kind: "new", phone: BOB.phone }, null)).toEqual({ open: { channel: "d1" } });
    expect(await c.run({ kind: "new", phone: CAROL.phone }, null)).toEqual({ open: { to: CAROL.id } });
    expect(await c.run({ kind: "new", phone: "+19999" }, null)).toEqual({});
    expect(c.getState().notice).toMatchObject({ kind: "error", text: expect.stringContaining("no user with that phone") });
  });

  test("/group creates a group with the people found", async () => {
    const { client, c } = await setup();
    client.handlers.createGroup = (p) => ({ channel: channel("g2", { kind: "group", name: p.name, members: [ALICE.id, ...(p.members ?? [])] }) });
    expect(await c.run({ kind: "group", name: "trio", phones: [BOB.phone, CAROL.phone] }, null)).toEqual({ open: { channel: "g2" } });
    expect(client.ops("createGroup")).toEqual([{ name: "trio", members: [BOB.id, CAROL.id] }]);
    expect(c.getState().channels.g2!.info.name).toBe("trio");
  });

  test("group commands need a group open", async () => {
    const { client, c } = await setup();
    await c.run({ kind: "add", phones: [CAROL.phone] }, { channel: "d1" });
    expect(c.getState().notice?.text).toContain("open a group first");
    client.handlers.addMembers = (p) => ({ channel: channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id, ...p.members] }) });
    await c.run({ kind: "add", phones: [CAROL.phone] }, { channel: "g1" });
    expect(c.getState().channels.g1!.info.members).toContain(CAROL.id);
    client.handlers.createInvite = () => ({ invite: "INV-1", expires_at: 0, max_uses: 100 });
    await c.run({ kind: "invite" }, { channel: "g1" });
    expect(c.getState().notice?.text).toContain("/join g1 INV-1");
    client.handlers.leaveGroup = () => ({});
    expect(await c.run({ kind: "leave" }, { channel: "g1" })).toEqual({ open: null });
    expect(c.getState().channels.g1).toBeUndefined();
  });
});

describe("asking first", () => {
  test("/leave asks in an open group (running it otherwise says what is wrong); no other command asks", async () => {
    const { c } = await setup();
    expect(c.confirmation({ kind: "leave" }, { channel: "g1" })).toBe("Leave club? y: leave · n: stay (coming back needs an invite)");
    expect(c.confirmation({ kind: "leave" }, { channel: "d1" })).toBeNull();
    expect(c.confirmation({ kind: "leave" }, null)).toBeNull();
    expect(c.confirmation({ kind: "invite" }, { channel: "g1" })).toBeNull();
  });
});
