import { expect, test } from "bun:test";
import type { Channel, Message, User } from "../../protocol/index.ts";
import { historyLines } from "./history.ts";
import { Names, peopleIn } from "./names.ts";
import { formatMessage } from "./watch.ts";

const me: User = { id: "u_me", name: "Me", phone: "+1", last_seen: null };
const carol: User = { id: "u_carol", name: "Carol", phone: "+3", last_seen: null };
const group: Channel = {
  id: "g_1", kind: "group", name: "club", description: "", avatar_url: "", join: "invite", created_at: 1,
  members: ["u_me", "u_carol"], admins: [], last_seq: 1, last_message: null, delivered_seq: 0, seen_seq: 0, unread: 0,
};
const m = (over: Partial<Message>): Message => ({
  id: "g_1:1", channel: "g_1", seq: 1, sender: "u_carol", client_id: "c", type: "text", content: "hi",
  media: null, reply_to: null, sent_at: 0, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [], ...over,
});

test("group senders get names from getUsers: unknown ids only, each once, 200 per call", async () => {
  const calls: string[][] = [];
  const names = new Names(me, [group]);
  const getUsers = async (ids: string[]) => {
    calls.push(ids);
    return { users: ids.includes("u_carol") ? [carol] : [] };
  };
  const strangers = Array.from({ length: 201 }, (_, i) => `u_${i}`);
  await names.fill(getUsers, ["u_me", "u_carol", "u_carol", ...strangers]);
  expect(calls.map((c) => c.length)).toEqual([200, 2]);
  expect(calls[0]![0]).toBe("u_carol");
  expect(historyLines([m({})], names)).toMatch(/^1  \S+ \S+  Carol  hi\n$/);
  await names.fill(getUsers, ["u_carol", "u_7"]);
  expect(calls).toHaveLength(2); // nobody new to ask about
  expect(names.of("u_7")).toBe("u_7");
});

test("a failing getUsers leaves ids, and they are asked again", async () => {
  const names = new Names(me);
  let n = 0;
  await names.fill(async () => {
    n++;
    throw new Error("unknown op");
  }, ["u_carol"]);
  expect(names.of("u_carol")).toBe("u_carol");
  await names.fill(async () => ({ users: [carol] }), ["u_carol"]);
  expect([n, names.of("u_carol")]).toEqual([1, "Carol"]);
});

test("peopleIn: members and last senders", () => {
  expect(peopleIn([{ ...group, last_message: m({ sender: "u_gone" }) }])).toEqual(["u_me", "u_carol", "u_gone"]);
});

test("watch prints a media message with its media id (for natter download)", () => {
  const names = new Names(me);
  expect(formatMessage(m({ type: "image", media: "m_abc", content: "look" }), names)).toMatch(/ g_1#1 u_carol: look \[image m_abc\]$/);
  expect(formatMessage(m({ type: "file", media: "m_def", content: "" }), names)).toMatch(/ g_1#1 u_carol: \[file m_def\]$/);
});
