import { describe, expect, test } from "bun:test";
import type { Message } from "../protocol/index.ts";
import { ChannelSync } from "./sync.ts";

const msg = (channel: string, seq: number): Message => ({
  id: `${channel}:${seq}`,
  channel,
  seq,
  sender: "u_a",
  client_id: `c${seq}`,
  type: "text",
  content: `m${seq}`,
  media: null,
  reply_to: null,
  sent_at: seq,
  delivered_at: null,
  seen_at: null, edited_at: null, deleted_at: null, reactions: [],
});
const seqs = (ms: Message[]) => ms.map((m) => m.seq);

describe("ChannelSync", () => {
  test("in-order messages are delivered at once and duplicates dropped", () => {
    const s = new ChannelSync();
    expect(seqs(s.offer(msg("g", 1)))).toEqual([1]);
    expect(seqs(s.offer(msg("g", 2)))).toEqual([2]);
    expect(seqs(s.offer(msg("g", 2)))).toEqual([]);
    expect(seqs(s.offer(msg("g", 1)))).toEqual([]);
    expect(s.lastSeq("g")).toBe(2);
    expect(s.gap("g")).toBeNull();
  });

  test("a seq past the next is held, and the gap says where to fetch from", () => {
    const s = new ChannelSync();
    s.baseline("g", 4);
    expect(seqs(s.offer(msg("g", 7)))).toEqual([]);
    expect(seqs(s.offer(msg("g", 8)))).toEqual([]);
    expect(s.gap("g")).toEqual({ channel: "g", afterSeq: 4, upTo: 8 });
    expect(s.gaps()).toEqual([{ channel: "g", afterSeq: 4, upTo: 8 }]);
    // The fetched page fills 5..6 (and repeats 7): everything comes out once, in order.
    expect(seqs(s.fill("g", [msg("g", 6), msg("g", 5), msg("g", 7)], true, 8))).toEqual([5, 6, 7, 8]);
    expect(s.gap("g")).toBeNull();
    expect(s.lastSeq("g")).toBe(8);
  });

  test("a live push filling the hole releases the held messages", () => {
    const s = new ChannelSync();
    expect(seqs(s.offer(msg("g", 1)))).toEqual([1]);
    expect(seqs(s.offer(msg("g", 3)))).toEqual([]);
    expect(seqs(s.offer(msg("g", 2)))).toEqual([2, 3]);
  });

  test("channels are independent", () => {
    const s = new ChannelSync();
    s.offer(msg("a", 1));
    expect(seqs(s.offer(msg("b", 2)))).toEqual([]);
    expect(seqs(s.offer(msg("a", 2)))).toEqual([2]);
    expect(s.gap("b")?.afterSeq).toBe(0);
  });

  test("baseline marks history as seen and only applies to unknown channels", () => {
    const s = new ChannelSync();
    expect(s.known("g")).toBe(false);
    s.baseline("g", 10);
    expect(s.known("g")).toBe(true);
    s.baseline("g", 3);
    expect(s.lastSeq("g")).toBe(10);
    expect(seqs(s.offer(msg("g", 10)))).toEqual([]);
    expect(seqs(s.offer(msg("g", 11)))).toEqual([11]);
  });

  test("an incomplete page keeps the rest held; the next page releases it", () => {
    const s = new ChannelSync();
    s.baseline("g", 0);
    s.offer(msg("g", 6));
    expect(seqs(s.fill("g", [msg("g", 1), msg("g", 2)], false, 6))).toEqual([1, 2]);
    expect(s.gap("g")).toEqual({ channel: "g", afterSeq: 2, upTo: 6 });
    expect(seqs(s.fill("g", [msg("g", 3), msg("g", 4), msg("g", 5)], true, 6))).toEqual([3, 4, 5, 6]);
  });

  test("a complete fetch releases held messages across a hole the server does not show, but not later ones", () => {
    const s = new ChannelSync();
    s.baseline("g", 1);
    s.offer(msg("g", 4));
    // fetch issued (upTo 4); meanwhile 7 is pushed and 5, 6 are in flight
    s.offer(msg("g", 7));
    expect(seqs(s.fill("g", [msg("g", 3)], true, 4))).toEqual([3, 4]);
    expect(s.gap("g")).toEqual({ channel: "g", afterSeq: 4, upTo: 7 });
    expect(seqs(s.offer(msg("g", 5)))).toEqual([5]);
    expect(seqs(s.offer(msg("g", 6)))).toEqual([6, 7]);
  });

  test("a catch-up fill of an unknown channel starts from zero and marks it known", () => {
    const s = new ChannelSync();
    expect(seqs(s.fill("n", [msg("n", 1), msg("n", 2)], true))).toEqual([1, 2]);
    expect(s.known("n")).toBe(true);
    expect(seqs(s.fill("e", [], true))).toEqual([]);
    expect(s.known("e")).toBe(true);
  });
});
