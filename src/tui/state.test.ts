import { describe, expect, test } from "bun:test";
import { ALICE, BOB, CAROL, channel, msg } from "../../test/support/fake-chat-client.ts";
import { channelTitle, displayName, initialState, reduce, sortedChannels, typingIn, type Action, type ChatState } from "./state.ts";

const run = (s: ChatState, ...as: Action[]) => as.reduce(reduce, s);
const direct = channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id] });
const group = channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id, CAROL.id], admins: [ALICE.id] });
const base = () => run(initialState(ALICE), { type: "channels", channels: [direct, group] });

describe("messages", () => {
  test("are kept in seq order with no duplicate ids", () => {
    const s = run(
      base(),
      { type: "message", message: msg("d1", 2, BOB.id, "two") },
      { type: "message", message: msg("d1", 1, BOB.id, "one") },
      { type: "message", message: msg("d1", 2, BOB.id, "two") },
      { type: "page", channel: "d1", messages: [msg("d1", 1, BOB.id, "one"), msg("d1", 2, BOB.id, "two"), msg("d1", 3, ALICE.id, "three")], hasMore: false, kind: "latest" },
    );
    expect(s.channels.d1!.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(s.channels.d1!.info.last_seq).toBe(3);
    expect(s.channels.d1!.info.last_message?.content).toBe("three");
  });

  test("a later copy replaces the earlier one (receipt times filled in)", () => {
    const s = run(base(), { type: "message", message: msg("d1", 1, ALICE.id, "hi") }, { type: "page", channel: "d1", messages: [msg("d1", 1, ALICE.id, "hi", { seen_at: 5 })], hasMore: false, kind: "latest" });
    expect(s.channels.d1!.messages).toHaveLength(1);
    expect(s.channels.d1!.messages[0]!.seen_at).toBe(5);
  });

  test("others' new messages count as unread; my own neither count nor clear them: only the seen cursor does", () => {
    let s = run(base(), { type: "message", message: msg("d1", 1, BOB.id, "a") }, { type: "message", message: msg("d1", 2, BOB.id, "b") });
    expect(s.channels.d1!.info.unread).toBe(2);
    // Catch-up of something already counted in getAll's unread does not count twice.
    s = run(s, { type: "message", message: msg("d1", 2, BOB.id, "b") });
    expect(s.channels.d1!.info.unread).toBe(2);
    // Sent from another device of ours: bob's messages were not on this screen.
    s = run(s, { type: "message", message: msg("d1", 3, ALICE.id, "c") });
    expect(s.channels.d1!.info.unread).toBe(2);
    expect(s.channels.d1!.info.seen_seq).toBe(0);
    s = run(s, { type: "seen", channel: "d1", seq: 3 });
    expect(s.channels.d1!.info.unread).toBe(0);
  });

  test("a message for an unknown channel makes a stub that getAll fills in", () => {
    let s = run(base(), { type: "message", message: msg("new", 1, CAROL.id, "hey") });
    expect(s.channels.new!.stub).toBe(true);
    s = run(s, { type: "channels", channels: [direct, group, channel("new", { name: "carol", members: [ALICE.id, CAROL.id], last_seq: 1, unread: 1 })] });
    expect(s.channels.new!.stub).toBe(false);
    expect(s.channels.new!.messages).toHaveLength(1);
    expect(displayName(s, CAROL.id)).toBe("carol");
  });

  test("getAll drops channels we left but keeps loaded messages of the others", () => {
    let s = run(base(), { type: "message", message: msg("d1", 1, BOB.id, "a") });
    s = run(s, { type: "channels", channels: [direct] });
    expect(Object.keys(s.channels)).toEqual(["d1"]);
    expect(s.channels.d1!.messages).toHaveLength(1);
  });

  test("pages: hasOlder follows has_more of the page that holds the oldest message", () => {
    const ch = channel("d1", { kind: "direct", members: [ALICE.id, BOB.id], last_seq: 120 });
    let s = run(initialState(ALICE), { type: "channels", channels: [ch] });
    expect(s.channels.d1!.hasOlder).toBe(true);
    const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg("d1", from + i, BOB.id, `m${from + i}`));
    s = run(s, { type: "page", channel: "d1", messages: page(71, 120), hasMore: true, kind: "latest" });
    expect(s.channels.d1!.loaded).toBe(true);
    expect(s.channels.d1!.hasOlder).toBe(true);
    s = run(s, { type: "page", channel: "d1", messages: page(21, 70), hasMore: true, kind: "older" });
    s = run(s, { type: "page", channel: "d1", messages: page(1, 20), hasMore: false, kind: "older" });
    expect(s.channels.d1!.hasOlder).toBe(false);
    expect(s.channels.d1!.messages).toHaveLength(120);
  });
});

describe("receipts", () => {
  test("others' cursors only move forward; seen implies delivered", () => {
    let s = run(base(), { type: "receipt", ev: { ev: "receipt", channel: "d1", user: BOB.id, delivered_seq: 3, seen_seq: 2, at: 1 } });
    s = run(s, { type: "receipt", ev: { ev: "receipt", channel: "d1", user: BOB.id, delivered_seq: 1, seen_seq: 4, at: 2 } });
    expect(s.channels.d1!.cursors[BOB.id]).toEqual({ delivered: 4, seen: 4 });
  });

  test("my own seen cursor (from another device) clears unread", () => {
    let s = run(base(), { type: "message", message: msg("d1", 1, BOB.id, "a") }, { type: "message", message: msg("d1", 2, BOB.id, "b") });
    s = run(s, { type: "receipt", ev: { ev: "receipt", channel: "d1", user: ALICE.id, delivered_seq: 2, seen_seq: 1, at: 1 } });
    expect(s.channels.d1!.info.unread).toBe(1);
    s = run(s, { type: "seen", channel: "d1", seq: 2 });
    expect(s.channels.d1!.info.unread).toBe(0);
  });
});

describe("typing, members, presence", () => {
  test("typing expires, stops on stop, and stops when that person's message arrives", () => {
    let s = run(base(), { type: "typing", ev: { ev: "typing", channel: "g1", user: BOB.id, state: "start" }, now: 1000 });
    s = run(s, { type: "typing", ev: { ev: "typing", channel: "g1", user: CAROL.id, state: "start" }, now: 1000 });
    expect(typingIn(s, "g1", 2000).sort()).toEqual([BOB.id, CAROL.id]);
    s = run(s, { type: "message", message: msg("g1", 1, BOB.id, "hi") });
    expect(typingIn(s, "g1", 2000)).toEqual([CAROL.id]);
    s = run(s, { type: "tick", now: 1000 + 60_000 });
    expect(typingIn(s, "g1", 2000)).toEqual([]);
    s = run(s, { type: "typing", ev: { ev: "typing", channel: "g1", user: ALICE.id, state: "start" }, now: 1000 });
    expect(typingIn(s, "g1", 2000)).toEqual([]);
  });

  test("member events change members and leave a line in the conversation", () => {
    const s = run(base(), { type: "member", ev: { ev: "member", channel: "g1", user: CAROL.id, action: "removed", by: ALICE.id }, now: 5 });
    expect(s.channels.g1!.info.members).toEqual([ALICE.id, BOB.id]);
    expect(s.channels.g1!.events[0]!.text).toMatch(/was removed by you/);
  });

  test("presence updates online and last seen", () => {
    let s = run(base(), { type: "presence", ev: { ev: "presence", user: BOB.id, online: true, last_seen: null } });
    expect(s.users[BOB.id]!.online).toBe(true);
    s = run(s, { type: "presence", ev: { ev: "presence", user: BOB.id, online: false, last_seen: 42 } });
    expect(s.users[BOB.id]).toMatchObject({ online: false, last_seen: 42, name: "bob" });
  });
});

describe("derived", () => {
  test("titles and order", () => {
    let s = base();
    expect(channelTitle(s, s.channels.d1!)).toBe("bob");
    s = run(s, { type: "message", message: msg("g1", 1, BOB.id, "x", { sent_at: 10 }) }, { type: "message", message: msg("d1", 1, BOB.id, "y", { sent_at: 20 }) });
    expect(sortedChannels(s).map((c) => c.info.id)).toEqual(["d1", "g1"]);
    expect(displayName(s, ALICE.id)).toBe("you");
    expect(displayName(s, "u_zzzzzzzz")).toBe("user u_zzzz");
  });
});

describe("changes", () => {
  const change = (seq: number, target: number, sender: string, record: object) => ({
    type: "change" as const,
    change: { entry: msg("d1", seq, sender, JSON.stringify(record), { type: "change", reply_to: `d1:${target}` }), record: record as never, channel: "d1", target },
  });

  test("fold into the message they name; a change entry is never a message, nor unread, nor the last message", () => {
    let s = run(base(), { type: "message", message: msg("d1", 1, BOB.id, "helo") }, { type: "message", message: msg("d1", 2, ALICE.id, "hi") });
    s = run(s, change(3, 1, BOB.id, { op: "edit", content: "hello" }), change(4, 1, ALICE.id, { op: "react", emoji: "👍" }));
    // A page that carries change entries shows only messages.
    s = run(s, { type: "page", channel: "d1", messages: [msg("d1", 3, BOB.id, "{}", { type: "change", reply_to: "d1:1" })], hasMore: false, kind: "latest" });
    const ch = s.channels.d1!;
    expect(ch.messages.map((m) => [m.seq, m.content])).toEqual([[1, "hello"], [2, "hi"]]);
    expect(ch.messages[0]!.edited_at).toBe(ch.messages[0]!.edited_at ?? -1);
    expect(ch.messages[0]!.reactions).toEqual([{ emoji: "👍", users: [ALICE.id] }]);
    expect([ch.info.last_seq, ch.info.unread, ch.info.last_message?.seq]).toEqual([4, 1, 2]);
    s = run(s, change(5, 2, ALICE.id, { op: "delete" }));
    expect(s.channels.d1!.messages[1]).toMatchObject({ content: "", deleted_at: expect.any(Number) });
    expect(s.channels.d1!.info.last_message).toMatchObject({ seq: 2, content: "" });
    s = run(s, change(6, 1, ALICE.id, { op: "hide" }));
    expect(s.channels.d1!.messages.map((m) => m.seq)).toEqual([2]);
  });
});
