import { describe, expect, test } from "bun:test";
import { NatterError } from "../protocol/index.ts";
import { until } from "../../test/support/until.ts";
import { ChatController, tooLong } from "./controller.ts";
import { ALICE, BOB, CAROL, channel, FakeClient, FakeMedia, msg, startController } from "../../test/support/fake-chat-client.ts";

const direct = channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id], last_seq: 2, delivered_seq: 1, seen_seq: 1, unread: 1 });
const group = channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id], admins: [ALICE.id] });
const tick = (ms = 60) => Bun.sleep(ms);

/** A controller over the fake client, once the chat list (d1 and g1) is in. */
async function setup() {
  const client = new FakeClient(ALICE);
  client.handlers.getAll = () => ({ channels: [direct, group] });
  return { client, c: await startController(client) };
}

describe("sync and receipts", () => {
  test("hello loads the chat list and marks what arrived while away as delivered", async () => {
    const { client } = await setup();
    await until(() => expect(client.ops("markDelivered")).toEqual([{ channel: "d1", seq: 2 }]));
  });

  test("messages from others are marked delivered on receipt, batched per channel", async () => {
    const { client } = await setup();
    await until(() => expect(client.ops("markDelivered")).toEqual([{ channel: "d1", seq: 2 }]), "the start-up batch");
    client.requests = [];
    client.push(msg("g1", 1, BOB.id, "a"));
    client.push(msg("g1", 2, BOB.id, "b"));
    client.push(msg("g1", 3, ALICE.id, "mine"));
    await until(() => expect(client.ops("markDelivered")).toEqual([{ channel: "g1", seq: 2 }]));
  });

  test("the shown conversation is marked seen, now and as messages arrive; a hidden one is not", async () => {
    const { client, c } = await setup();
    c.setView("d1", false);
    await tick();
    expect(client.ops("markSeen")).toEqual([]);
    c.setView("d1", true);
    await until(() => expect(client.ops("markSeen")).toEqual([{ channel: "d1", seq: 2 }]));
    expect(c.getState().channels.d1!.info.unread).toBe(0);
    client.push(msg("d1", 3, BOB.id, "more"));
    await until(() => expect(client.ops("markSeen")).toEqual([{ channel: "d1", seq: 2 }, { channel: "d1", seq: 3 }]));
    client.push(msg("g1", 1, BOB.id, "elsewhere"));
    await tick();
    expect(client.ops("markSeen")).toHaveLength(2);
  });

  test("seen covers the other side's message when our own (from another device) is newer; our own alone asks nothing", async () => {
    const { client, c } = await setup();
    c.setView("d1", true);
    await tick();
    client.requests = [];
    c.setView("g1", true);
    client.push(msg("d1", 3, BOB.id, "q"));
    client.push(msg("d1", 4, ALICE.id, "a"));
    client.push(msg("g1", 1, ALICE.id, "only mine"));
    await tick();
    expect(client.ops("markSeen")).toEqual([]);
    c.setView("d1", true);
    await until(() => expect(client.ops("markSeen")).toEqual([{ channel: "d1", seq: 4 }]));
    expect(c.getState().channels.d1!.info.unread).toBe(0);
  });

  test("a message for an unknown channel refreshes the chat list", async () => {
    const { client, c } = await setup();
    client.handlers.getAll = () => ({ channels: [direct, group, channel("d2", { name: "carol", members: [ALICE.id, CAROL.id], last_seq: 1 })] });
    client.push(msg("d2", 1, CAROL.id, "hi alice"));
    await until(() => expect(c.getState().channels.d2!.stub).toBe(false));
    expect(c.getState().users[CAROL.id]!.name).toBe("carol");
  });

  test("history: newest page once, then older pages with before_seq", async () => {
    const { client, c } = await setup();
    let calls = 0;
    client.handlers.getMessages = (p) => {
      calls++;
      if (p.before_seq === undefined) return { messages: [msg("d1", 51, BOB.id, "x"), msg("d1", 52, BOB.id, "y")], has_more: true };
      return { messages: [msg("d1", 50, BOB.id, "w")], has_more: false };
    };
    await Promise.all([c.openChannel("d1"), c.openChannel("d1")]);
    expect(calls).toBe(1);
    await c.loadOlder("d1");
    expect(client.ops("getMessages").at(-1)).toMatchObject({ channel: "d1", before_seq: 51 });
    expect(c.getState().channels.d1!.messages.map((m) => m.seq)).toEqual([50, 51, 52]);
    expect(c.getState().channels.d1!.hasOlder).toBe(false);
  });
});

describe("sending and typing", () => {
  test("send to a channel or to a person; a failure becomes a notice", async () => {
    const { client, c } = await setup();
    await c.send({ channel: "d1" }, "hi", "d1:1");
    await c.send({ to: CAROL.id }, "new chat");
    expect(client.sent).toEqual([
      { type: "text", content: "hi", channel: "d1", reply_to: "d1:1" },
      { type: "text", content: "new chat", to: CAROL.id },
    ]);
    client.failSends = new NatterError("forbidden", "not a member");
    expect(await c.send({ channel: "g1" }, "x")).toBeNull();
    expect(c.getState().notice?.text).toContain("not a member");
    expect(c.getState().outbox[0]!.status).toBe("failed");
    client.failSends = null;
    expect(await c.retry({ channel: "g1" })).toBe(1);
    expect(c.getState().outbox).toEqual([]);
  });

  test("tooLong: 64 KiB of UTF-8 is the most a message holds", () => {
    expect(tooLong("x".repeat(64 * 1024))).toBeNull();
    expect(tooLong("x".repeat(64 * 1024 + 1))).toBe("not sent: 64.0 KiB is over the 64 KiB limit for a message; shorten it, or save it to a file and /file it");
    expect(tooLong("é".repeat(32 * 1024 + 1))).toContain("over the 64 KiB limit"); // two bytes each
  });

  test("typing start is throttled; stop after sending", async () => {
    const { client, c } = await setup();
    c.typing("d1");
    c.typing("d1");
    c.typing("d1");
    expect(client.ops("typing")).toEqual([{ channel: "d1", state: "start" }]);
    await c.send({ channel: "d1" }, "done");
    expect(client.ops("typing")).toEqual([
      { channel: "d1", state: "start" },
      { channel: "d1", state: "stop" },
    ]);
  });
});

describe("media", () => {
  test("media messages get their name and size looked up once", async () => {
    const client = new FakeClient(ALICE);
    client.handlers.getAll = () => ({ channels: [direct] });
    const asked: string[] = [];
    const media = new FakeMedia();
    media.info = async (id) => {
      asked.push(id);
      if (id === "m_gone") throw new NatterError("not_found", "no such media");
      return { id, size: 2048, mime: "image/png", sha256: "s", name: "cat.png", width: 1, height: 1, created_at: 1 };
    };
    const c = new ChatController(client, { media });
    c.start();
    client.open();
    client.push(msg("d1", 3, BOB.id, "look", { type: "image", media: "m_cat" }));
    client.push(msg("d1", 4, BOB.id, "again", { type: "image", media: "m_cat" }));
    client.push(msg("d1", 5, BOB.id, "", { type: "file", media: "m_gone" }));
    await until(() => expect(asked).toEqual(["m_cat", "m_gone"]));
    await until(() => expect(c.getState().media).toEqual({ m_cat: { id: "m_cat", size: 2048, mime: "image/png", sha256: "s", name: "cat.png", width: 1, height: 1, created_at: 1 }, m_gone: null }));
  });
});
