import { expect, test } from "bun:test";
import { ALICE, BOB, CAROL, channel, msg } from "../../test/support/fake-chat-client.ts";
import { initialState, reduce, type ChannelState } from "./state.ts";
import { receiptLevels, tickFor } from "./ticks.ts";

function chWith(members: string[], ...ms: ReturnType<typeof msg>[]): ChannelState {
  let s = reduce(initialState(ALICE), { type: "channels", channels: [channel("c", { kind: members.length > 2 ? "group" : "direct", members })] });
  for (const m of ms) s = reduce(s, { type: "message", message: m });
  return s.channels.c!;
}

test("one tick sent, two delivered, seen from the message's own times", () => {
  const ch = chWith([ALICE.id, BOB.id], msg("c", 1, ALICE.id, "a", { delivered_at: 1, seen_at: 2 }), msg("c", 2, ALICE.id, "b", { delivered_at: 3 }), msg("c", 3, ALICE.id, "c"));
  const lv = receiptLevels(ch, ALICE.id);
  expect(ch.messages.map((m) => tickFor(m, lv))).toEqual(["seen", "delivered", "sent"]);
});

test("evidence about a later seq covers earlier ones", () => {
  const ch = chWith([ALICE.id, BOB.id], msg("c", 1, ALICE.id, "a"), msg("c", 2, ALICE.id, "b", { seen_at: 9, delivered_at: 9 }));
  const lv = receiptLevels(ch, ALICE.id);
  expect(tickFor(ch.messages[0]!, lv)).toBe("seen");
});

test("receipt events: a group message is seen only when every other member saw it", () => {
  let s = reduce(initialState(ALICE), { type: "channels", channels: [channel("c", { kind: "group", members: [ALICE.id, BOB.id, CAROL.id] })] });
  s = reduce(s, { type: "message", message: msg("c", 1, ALICE.id, "hi") });
  const at = (st: typeof s) => tickFor(st.channels.c!.messages[0]!, receiptLevels(st.channels.c!, ALICE.id));
  expect(at(s)).toBe("sent");
  s = reduce(s, { type: "receipt", ev: { ev: "receipt", channel: "c", user: BOB.id, delivered_seq: 1, seen_seq: 1, at: 1 } });
  expect(at(s)).toBe("sent"); // carol unknown yet
  s = reduce(s, { type: "receipt", ev: { ev: "receipt", channel: "c", user: CAROL.id, delivered_seq: 1, seen_seq: 0, at: 1 } });
  expect(at(s)).toBe("delivered");
  s = reduce(s, { type: "receipt", ev: { ev: "receipt", channel: "c", user: CAROL.id, delivered_seq: 1, seen_seq: 1, at: 2 } });
  expect(at(s)).toBe("seen");
});
