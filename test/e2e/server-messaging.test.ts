// Messaging over the websocket: direct chats, message shape, multi-device
// delivery, pipelined ordering, client_id idempotency, history paging and
// offline catch-up, getAll, findUser, ping.
import { beforeAll, describe, expect, test } from "bun:test";
import { addDevice, makeUser, type TestServer, type TestUser, type WsClient } from "../harness.ts";
import { allMessages, expectError, expectNoEvent, isMsg, makeGroup, serverPerFile, sleep } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));

const MESSAGE_KEYS = ["id", "channel", "seq", "sender", "client_id", "type", "content", "media", "reply_to", "sent_at", "delivered_at", "seen_at"];
const CHANNEL_KEYS = [
  "id", "kind", "name", "description", "avatar_url", "join", "created_at", "members", "admins",
  "last_seq", "last_message", "delivered_seq", "seen_seq", "unread",
];

describe("direct chats", () => {
  test("first sendMessage with `to` creates one direct channel; Message has every field", async () => {
    const a = await makeUser(server, "Alice");
    const b = await makeUser(server, "Bob");
    const cb = await connect(b);
    const ca = await connect(a);
    const before = Date.now();
    const r = await ca.call("sendMessage", { to: b.user.id, client_id: "c1", type: "text", content: "hi bob" });
    const m = r.message;
    for (const k of MESSAGE_KEYS) expect(m).toHaveProperty(k);
    expect(m.channel.startsWith("d_")).toBe(true);
    expect(m).toMatchObject({
      id: `${m.channel}:1`, seq: 1, sender: a.user.id, client_id: "c1", type: "text", content: "hi bob",
      media: null, reply_to: null, delivered_at: null, seen_at: null,
    });
    expect(m.sent_at).toBeGreaterThanOrEqual(before - 1000);
    expect(m.sent_at).toBeLessThanOrEqual(Date.now() + 1000);

    const ev: any = await cb.event(isMsg(m.id), 5000, "message at bob");
    expect(ev.message).toEqual(m);

    // Bob answers with `to`: same channel, seq 2.
    const r2 = await cb.call("sendMessage", { to: a.user.id, client_id: "c1", type: "text", content: "hi alice" });
    expect(r2.message.channel).toBe(m.channel);
    expect(r2.message.seq).toBe(2);
    // and by channel id.
    const r3 = await ca.call("sendMessage", { channel: m.channel, client_id: "c2", type: "text", content: "third" });
    expect(r3.message.seq).toBe(3);

    // Each side sees the other's name as the direct channel's name.
    const ga = (await ca.call("getAll")).channels.find((c: any) => c.id === m.channel);
    const gb = (await cb.call("getAll")).channels.find((c: any) => c.id === m.channel);
    for (const k of CHANNEL_KEYS) expect(ga).toHaveProperty(k);
    expect(ga).toMatchObject({ kind: "direct", name: "Bob", last_seq: 3 });
    expect(gb).toMatchObject({ kind: "direct", name: "Alice", last_seq: 3 });
    expect([...ga.members].sort()).toEqual([a.user.id, b.user.id].sort());
    expect(ga.last_message).toMatchObject({ id: `${m.channel}:3`, content: "third" });
  }, 20_000);

  test("concurrent first messages from both sides land in one channel", async () => {
    const a = await makeUser(server, "Cat");
    const b = await makeUser(server, "Dan");
    const ca = await connect(a);
    const cb = await connect(b);
    const [x, y] = await Promise.all([
      ca.call("sendMessage", { to: b.user.id, client_id: "x", type: "text", content: "from a" }),
      cb.call("sendMessage", { to: a.user.id, client_id: "y", type: "text", content: "from b" }),
    ]);
    expect(x.message.channel).toBe(y.message.channel);
    expect([x.message.seq, y.message.seq].sort()).toEqual([1, 2]);
    const chans = (await ca.call("getAll")).channels.filter((c: any) => c.kind === "direct");
    expect(chans.length).toBe(1);
  }, 15_000);

  test("sending `to` yourself is bad_request; unknown `to` is not_found", async () => {
    const a = await makeUser(server, "Eli");
    const ca = await connect(a);
    expectError(await ca.request("sendMessage", { to: a.user.id, client_id: "s", type: "text", content: "me" }), "bad_request");
    expectError(await ca.request("sendMessage", { to: "no-such-user", client_id: "s2", type: "text", content: "?" }), "not_found");
    expect((await ca.call("getAll")).channels).toEqual([]);
  }, 15_000);

  test("reply_to: a message id of the same channel is kept; others are not_found", async () => {
    const a = await makeUser(server, "Fox");
    const b = await makeUser(server, "Gus");
    const c = await makeUser(server, "Hana");
    const ca = await connect(a);
    const first = (await ca.call("sendMessage", { to: b.user.id, client_id: "r1", type: "text", content: "q" })).message;
    const other = (await ca.call("sendMessage", { to: c.user.id, client_id: "r2", type: "text", content: "x" })).message;
    const rep = (await ca.call("sendMessage", { channel: first.channel, client_id: "r3", type: "text", content: "a", reply_to: first.id })).message;
    expect(rep.reply_to).toBe(first.id);
    expectError(await ca.request("sendMessage", { channel: first.channel, client_id: "r4", type: "text", content: "a", reply_to: other.id }), "not_found");
    expectError(await ca.request("sendMessage", { channel: first.channel, client_id: "r5", type: "text", content: "a", reply_to: `${first.channel}:999` }), "not_found");
    // Nothing was stored by the failed sends.
    const msgs = await allMessages(ca, first.channel);
    expect(msgs.map((m: any) => m.seq)).toEqual([1, 2]);
  }, 15_000);
});

describe("multi-device delivery", () => {
  test("every member device and the sender's other device get the event; the sending connection does not", async () => {
    const a = await makeUser(server, "Ivan", "phone");
    const a2 = await addDevice(server, a.user.id, "laptop");
    const b = await makeUser(server, "Jade", "phone");
    const b2 = await addDevice(server, b.user.id, "laptop");
    const c = await makeUser(server, "Kai");
    const g = await makeGroup(server, a, [b, c]);
    const [ca1, ca2, cb1, cb2, cc] = await Promise.all([connect(a), connect(a2), connect(b), connect(b2), connect(c)]);
    const marks = [ca1, ca2, cb1, cb2, cc].map((x) => x.mark());
    const r = await ca1.call("sendMessage", { channel: g.id, client_id: "md-1", type: "text", content: "hello all" });
    for (const x of [ca2, cb1, cb2, cc]) {
      const ev: any = await x.event(isMsg(r.message.id), 5000, "message event");
      expect(ev.message).toEqual(r.message);
    }
    await expectNoEvent([{ c: ca1, mark: marks[0]! }], isMsg());
    // Exactly one copy per connection.
    for (const [i, x] of [ca2, cb1, cb2, cc].entries()) expect(x.eventsSince(marks[i + 1]!, isMsg()).length).toBe(1);
  }, 20_000);

  test("a second socket of the same device gets the event too", async () => {
    const a = await makeUser(server, "Lea");
    const b = await makeUser(server, "Max");
    const s1 = await connect(a);
    const s2 = await connect(a);
    await connect(b);
    const cb = await connect(b);
    const m = s2.mark();
    const r = await s1.call("sendMessage", { to: b.user.id, client_id: "sd", type: "text", content: "x" });
    await s2.event(isMsg(r.message.id), 5000, "event on the other socket of the same device", m);
    await cb.event(isMsg(r.message.id), 5000, "event at bob");
  }, 15_000);
});

describe("ordering and idempotency", () => {
  test("300 pipelined sends over one socket give dense ordered seqs 1..300 on every receiver", async () => {
    const owner = await makeUser(server, "Ned");
    const a = await makeUser(server, "Ola", "phone");
    const a2 = await addDevice(server, a.user.id, "laptop");
    const g = await makeGroup(server, owner, [a]);
    const [sender, other, mine] = await Promise.all([connect(a), connect(owner), connect(a2)]);
    const ids: number[] = [];
    for (let i = 1; i <= 300; i++) ids.push(sender.send("sendMessage", { channel: g.id, client_id: `p-${i}`, type: "text", content: `m${i}` }));
    const replies = await Promise.all(ids.map((id) => sender.reply(id, 20_000)));
    const failed = replies.filter((r) => !r.ok);
    expect(failed.slice(0, 3)).toEqual([]);
    expect(replies.map((r) => r.message.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(replies.map((r) => r.message.content)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i + 1}`));
    for (const [name, rcv] of [["other member", other], ["sender's other device", mine]] as const) {
      await rcv.until(() => rcv.events.filter((e: any) => e.ev === "message" && e.message.channel === g.id).length >= 300, 20_000, `300 events at ${name}`);
      const evs = rcv.events.filter((e: any) => e.ev === "message" && e.message.channel === g.id) as any[];
      expect(evs.length).toBe(300);
      expect(evs.map((e) => e.message.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(evs.map((e) => e.message.content)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i + 1}`));
    }
    // History agrees.
    const hist = await allMessages(other, g.id);
    expect(hist.map((m: any) => m.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  }, 40_000);

  test("concurrent senders: every receiver gets every event once, in seq order, dense", async () => {
    const users = await Promise.all(["Ord1", "Ord2", "Ord3", "Ord4"].map((n) => makeUser(server, n)));
    const g = await makeGroup(server, users[0]!, users.slice(1));
    const cs = await Promise.all(users.map((u) => connect(u)));
    const per = 60;
    const all = await Promise.all(
      cs.slice(0, 3).map((c, k) => {
        const ids = Array.from({ length: per }, (_, i) => c.send("sendMessage", { channel: g.id, client_id: `o${k}-${i}`, type: "text", content: `${k}/${i}` }));
        return Promise.all(ids.map((i) => c.reply(i, 20_000)));
      }),
    );
    const total = 3 * per;
    for (const rs of all) {
      expect(rs.every((r) => r.ok)).toBe(true);
      // Each sender's own messages keep their send order.
      const seqs = rs.map((r) => r.message.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
    for (const [i, c] of cs.entries()) {
      const expected = i < 3 ? total - per : total; // a sender does not get events for its own sends
      await c.until(() => c.eventsSince(0, (e: any) => e.ev === "message" && e.message.channel === g.id).length >= expected, 20_000, `events at ${i}`);
      await sleep(100);
      const seqs = c.eventsSince(0, (e: any) => e.ev === "message" && e.message.channel === g.id).map((e: any) => e.message.seq);
      expect(seqs.length).toBe(expected);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    const hist = await allMessages(cs[3]!, g.id);
    expect(hist.map((m: any) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  }, 40_000);

  test("resending a client_id returns the original (same id and seq) and emits no new event", async () => {
    const a = await makeUser(server, "Pia");
    const b = await makeUser(server, "Quin");
    const ca = await connect(a);
    const cb = await connect(b);
    const first = (await ca.call("sendMessage", { to: b.user.id, client_id: "dup", type: "text", content: "once" })).message;
    await cb.event(isMsg(first.id), 5000, "first event");
    const mark = cb.mark();
    const again = (await ca.call("sendMessage", { to: b.user.id, client_id: "dup", type: "text", content: "once" })).message;
    expect(again).toMatchObject({ id: first.id, seq: first.seq, content: "once", client_id: "dup", sent_at: first.sent_at });
    // Also by channel id, and even with different content: the original wins.
    const third = (await ca.call("sendMessage", { channel: first.channel, client_id: "dup", type: "text", content: "changed" })).message;
    expect(third).toMatchObject({ id: first.id, seq: first.seq, content: "once" });
    await expectNoEvent([{ c: cb, mark }], isMsg());
    const msgs = await allMessages(cb, first.channel);
    expect(msgs.length).toBe(1);
    // The same client_id from another sender is a different message.
    const fromB = (await cb.call("sendMessage", { channel: first.channel, client_id: "dup", type: "text", content: "b's" })).message;
    expect(fromB.seq).toBe(2);
  }, 15_000);

  test("pipelined duplicates of one client_id yield one message", async () => {
    const a = await makeUser(server, "Rae");
    const b = await makeUser(server, "Sol");
    const ca = await connect(a);
    const first = (await ca.call("sendMessage", { to: b.user.id, client_id: "warm", type: "text", content: "w" })).message;
    const ids = Array.from({ length: 5 }, () => ca.send("sendMessage", { channel: first.channel, client_id: "burst", type: "text", content: "b" }));
    const rs = await Promise.all(ids.map((i) => ca.reply(i)));
    expect(new Set(rs.map((r) => r.message.id)).size).toBe(1);
    expect(rs[0].message.seq).toBe(2);
    expect((await allMessages(ca, first.channel)).length).toBe(2);
  }, 15_000);
});

describe("history paging and catch-up", () => {
  let ca: WsClient;
  let channel: string;
  beforeAll(async () => {
    const a = await makeUser(server, "Tia");
    const b = await makeUser(server, "Uma");
    ca = await connect(a);
    channel = (await ca.call("sendMessage", { to: b.user.id, client_id: "h1", type: "text", content: "1" })).message.channel;
    for (let i = 2; i <= 10; i++) await ca.call("sendMessage", { channel, client_id: `h${i}`, type: "text", content: String(i) });
  }, 20_000);

  const page = async (p: Record<string, unknown>) => {
    const r = await ca.call("getMessages", { channel, ...p });
    return { seqs: r.messages.map((m: any) => m.seq), has_more: r.has_more };
  };

  test("no cursor: the newest `limit`, ascending; has_more says older exist", async () => {
    expect(await page({ limit: 3 })).toEqual({ seqs: [8, 9, 10], has_more: true });
    expect(await page({ limit: 10 })).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], has_more: false });
    expect(await page({})).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], has_more: false });
  }, 15_000);

  test("before_seq pages older; has_more says older exist", async () => {
    expect(await page({ before_seq: 5, limit: 2 })).toEqual({ seqs: [3, 4], has_more: true });
    expect(await page({ before_seq: 3, limit: 2 })).toEqual({ seqs: [1, 2], has_more: false });
    expect(await page({ before_seq: 1 })).toEqual({ seqs: [], has_more: false });
    expect(await page({ before_seq: 11, limit: 50 })).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], has_more: false });
  }, 15_000);

  test("after_seq pages newer; has_more says newer exist", async () => {
    expect(await page({ after_seq: 0, limit: 3 })).toEqual({ seqs: [1, 2, 3], has_more: true });
    expect(await page({ after_seq: 7, limit: 2 })).toEqual({ seqs: [8, 9], has_more: true });
    expect(await page({ after_seq: 8, limit: 2 })).toEqual({ seqs: [9, 10], has_more: false });
    expect(await page({ after_seq: 10 })).toEqual({ seqs: [], has_more: false });
  }, 15_000);

  test("limit: default 50, max 200; 201, 0 and non-integers are bad_request", async () => {
    const owner = await makeUser(server, "Vic");
    const co = await connect(owner);
    const g = await makeGroup(server, owner, []);
    const ids = Array.from({ length: 250 }, (_, i) => co.send("sendMessage", { channel: g.id, client_id: `L${i}`, type: "text", content: `${i}` }));
    const rs = await Promise.all(ids.map((i) => co.reply(i, 20_000)));
    expect(rs.every((r) => r.ok)).toBe(true);
    const def = await co.call("getMessages", { channel: g.id });
    expect(def.messages.length).toBe(50);
    expect(def.messages[0].seq).toBe(201);
    expect(def.messages[49].seq).toBe(250);
    expect(def.has_more).toBe(true);
    const max = await co.call("getMessages", { channel: g.id, limit: 200 });
    expect(max.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 51));
    expect(max.has_more).toBe(true);
    for (const limit of [201, 0, -1, 1.5, "10"]) expectError(await co.request("getMessages", { channel: g.id, limit }), "bad_request");
    expectError(await co.request("getMessages", { channel: g.id, after_seq: "x" }), "bad_request");
  }, 40_000);

  test("offline catch-up: a device that was away fetches exactly what it missed with after_seq", async () => {
    const a = await makeUser(server, "Wes");
    const b = await makeUser(server, "Xia", "phone");
    const ca2 = await connect(a);
    let cb = await connect(b);
    const first = (await ca2.call("sendMessage", { to: b.user.id, client_id: "o0", type: "text", content: "before" })).message;
    const ev: any = await cb.event(isMsg(first.id), 5000, "first");
    const lastSeen = ev.message.seq;
    cb.close();
    await cb.waitClosed(5000);
    for (let i = 1; i <= 5; i++) await ca2.call("sendMessage", { channel: first.channel, client_id: `o${i}`, type: "text", content: `away ${i}` });
    cb = await connect(b);
    // Nothing missed is replayed as events on reconnect (the history is the queue).
    await sleep(200);
    const page1 = await cb.call("getMessages", { channel: first.channel, after_seq: lastSeen, limit: 3 });
    expect(page1.messages.map((m: any) => m.content)).toEqual(["away 1", "away 2", "away 3"]);
    expect(page1.has_more).toBe(true);
    const page2 = await cb.call("getMessages", { channel: first.channel, after_seq: page1.messages[2].seq, limit: 3 });
    expect(page2.messages.map((m: any) => m.content)).toEqual(["away 4", "away 5"]);
    expect(page2.has_more).toBe(false);
    // And the reconnected device gets live events again.
    const live = (await ca2.call("sendMessage", { channel: first.channel, client_id: "o6", type: "text", content: "live" })).message;
    await cb.event(isMsg(live.id), 5000, "live after reconnect");
    const all = (await cb.call("getAll")).channels.find((c: any) => c.id === first.channel);
    expect(all.last_seq).toBe(7);
  }, 20_000);
});

describe("other ops", () => {
  test("findUser finds by phone; unknown phone is not_found", async () => {
    const a = await makeUser(server, "Yan");
    const b = await makeUser(server, "Zoe");
    const ca = await connect(a);
    const r = await ca.call("findUser", { phone: b.user.phone });
    expect(r.user).toMatchObject({ id: b.user.id, name: "Zoe", phone: b.user.phone });
    expect(r.user).toHaveProperty("last_seen");
    expectError(await ca.request("findUser", { phone: "+19990000000" }), "not_found");
  }, 15_000);

  test("ping returns the server time", async () => {
    const a = await makeUser(server, "Abe");
    const ca = await connect(a);
    const t0 = Date.now();
    const r = await ca.call("ping");
    expect(r.re).toBeGreaterThan(0);
    expect(Math.abs(r.at - t0)).toBeLessThan(5000);
  }, 15_000);

  test("getAll lists the caller's channels with last_message", async () => {
    const a = await makeUser(server, "Bea");
    const b = await makeUser(server, "Cal");
    const ca = await connect(a);
    expect((await ca.call("getAll")).channels).toEqual([]);
    const g = await makeGroup(server, a, [b], { name: "team", description: "d", avatar_url: "https://x/a.png" });
    await ca.call("sendMessage", { to: b.user.id, client_id: "ga", type: "text", content: "dm" });
    const chans = (await ca.call("getAll")).channels;
    expect(chans.length).toBe(2);
    const gc = chans.find((c: any) => c.id === g.id);
    expect(gc).toMatchObject({ kind: "group", name: "team", description: "d", avatar_url: "https://x/a.png", last_seq: 0, last_message: null, unread: 0 });
    const dc = chans.find((c: any) => c.kind === "direct");
    expect(dc.last_message.content).toBe("dm");
  }, 15_000);
});
