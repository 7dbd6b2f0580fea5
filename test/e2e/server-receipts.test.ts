// Receipts: markDelivered/markSeen cursors, receipt events, derived
// delivered_at/seen_at on messages, and the caller's Channel cursors/unread.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeUser, type TestServer, type TestUser, type WsClient } from "../harness.ts";
import { expectError, serverPerFile } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));
const isReceipt = (channel: string, user: string) => (e: any) => e.ev === "receipt" && e.channel === channel && e.user === user;

async function msgs(c: WsClient, channel: string): Promise<Record<number, any>> {
  const r = await c.call("getMessages", { channel });
  return Object.fromEntries(r.messages.map((m: any) => [m.seq, m]));
}
async function chan(c: WsClient, id: string): Promise<any> {
  return (await c.call("getAll")).channels.find((x: any) => x.id === id);
}

describe("group receipts", () => {
  let a: TestUser, b: TestUser, c: TestUser;
  let ca: WsClient, cb: WsClient, cc: WsClient;
  let ch: string;
  beforeAll(async () => {
    a = await makeUser(server, "Ari");
    b = await makeUser(server, "Bea");
    c = await makeUser(server, "Coy");
    [ca, cb, cc] = await Promise.all([connect(a), connect(b), connect(c)]);
    ch = (await ca.call("createGroup", { name: "r", members: [b.user.id, c.user.id] })).channel.id;
    for (let i = 1; i <= 3; i++) await ca.call("sendMessage", { channel: ch, client_id: `r${i}`, type: "text", content: `m${i}` });
  }, 20_000);

  test("fresh: delivered_at/seen_at null; the reader's cursors 0 and unread counts others' messages", async () => {
    const m = await msgs(cb, ch);
    for (const s of [1, 2, 3]) expect({ d: m[s].delivered_at, s: m[s].seen_at }).toEqual({ d: null, s: null });
    expect(await chan(cb, ch)).toMatchObject({ delivered_seq: 0, seen_seq: 0, unread: 3, last_seq: 3 });
    // The sender's own messages are not unread for the sender.
    expect((await chan(ca, ch)).unread).toBe(0);
  }, 15_000);

  test("markDelivered: receipt event to every member; delivered_at only once every other member reached the seq", async () => {
    const marks = [ca, cb, cc].map((x) => x.mark());
    const t0 = Date.now();
    expect((await cb.call("markDelivered", { channel: ch, seq: 2 })).ok).toBe(true);
    for (const [i, x] of [ca, cb, cc].entries()) {
      const ev: any = await x.event(isReceipt(ch, b.user.id), 5000, "receipt", marks[i]);
      expect(ev).toMatchObject({ channel: ch, user: b.user.id, delivered_seq: 2, seen_seq: 0 });
      expect(ev.at).toBeGreaterThanOrEqual(t0 - 1000);
    }
    // Only B reached seq 2; C has not: still null everywhere.
    let m = await msgs(ca, ch);
    expect([m[1].delivered_at, m[2].delivered_at, m[3].delivered_at]).toEqual([null, null, null]);
    expect(await chan(cb, ch)).toMatchObject({ delivered_seq: 2, seen_seq: 0, unread: 3 });

    await cc.call("markDelivered", { channel: ch, seq: 1 });
    m = await msgs(ca, ch);
    expect(typeof m[1].delivered_at).toBe("number");
    expect(m[2].delivered_at).toBeNull();
    expect(m[3].delivered_at).toBeNull();
    expect(m[1].seen_at).toBeNull();
    // Everyone sees the same derived value.
    expect((await msgs(cc, ch))[1].delivered_at).toBe(m[1].delivered_at);

    await cc.call("markDelivered", { channel: ch, seq: 3 });
    m = await msgs(cb, ch);
    expect(typeof m[2].delivered_at).toBe("number");
    expect(m[3].delivered_at).toBeNull(); // B is at 2
    await cb.call("markDelivered", { channel: ch, seq: 3 });
    m = await msgs(cb, ch);
    expect(typeof m[3].delivered_at).toBe("number");
  }, 20_000);

  test("markSeen: receipt with seen_seq; seen_at derived; unread and seen_seq of the caller", async () => {
    const marks = [ca, cb, cc].map((x) => x.mark());
    await cb.call("markSeen", { channel: ch, seq: 1 });
    for (const [i, x] of [ca, cb, cc].entries()) {
      const ev: any = await x.event((e: any) => isReceipt(ch, b.user.id)(e) && e.seen_seq === 1, 5000, "seen receipt", marks[i]);
      expect(ev.delivered_seq).toBeGreaterThanOrEqual(1);
    }
    expect(await chan(cb, ch)).toMatchObject({ seen_seq: 1, unread: 2 });
    let m = await msgs(ca, ch);
    expect(m[1].seen_at).toBeNull(); // C has not seen it
    await cc.call("markSeen", { channel: ch, seq: 3 });
    m = await msgs(ca, ch);
    expect(typeof m[1].seen_at).toBe("number");
    expect(m[2].seen_at).toBeNull();
    expect(await chan(cc, ch)).toMatchObject({ seen_seq: 3, unread: 0 });
    await cb.call("markSeen", { channel: ch, seq: 3 });
    m = await msgs(ca, ch);
    for (const s of [1, 2, 3]) expect(typeof m[s].seen_at).toBe("number");
    expect(await chan(cb, ch)).toMatchObject({ seen_seq: 3, unread: 0 });
  }, 20_000);

  test("cursors never move backwards", async () => {
    await cb.call("markSeen", { channel: ch, seq: 1 });
    await cb.call("markDelivered", { channel: ch, seq: 1 });
    expect(await chan(cb, ch)).toMatchObject({ delivered_seq: 3, seen_seq: 3, unread: 0 });
    const m = await msgs(ca, ch);
    for (const s of [1, 2, 3]) expect(typeof m[s].seen_at).toBe("number");
  }, 15_000);

  test("unread counts only others' messages after seen_seq", async () => {
    await cb.call("sendMessage", { channel: ch, client_id: "own", type: "text", content: "mine" });
    expect((await chan(cb, ch)).unread).toBe(0);
    await ca.call("sendMessage", { channel: ch, client_id: "r4", type: "text", content: "m5" });
    expect((await chan(cb, ch)).unread).toBe(1);
    expect((await chan(cc, ch)).unread).toBe(2);
  }, 15_000);

  test("receipts for channels you are not in are refused; missing params are bad_request", async () => {
    const x = await makeUser(server, "Out");
    const cx = await connect(x);
    expectError(await cx.request("markDelivered", { channel: ch, seq: 1 }), "forbidden");
    expectError(await cx.request("markSeen", { channel: "nope-channel", seq: 1 }), "not_found");
    expectError(await cb.request("markSeen", { channel: ch }), "bad_request");
    expectError(await cb.request("markDelivered", { channel: ch, seq: "one" }), "bad_request");
  }, 15_000);
});

test("direct chat: delivered_at/seen_at set once the other person reaches the seq", async () => {
  const a = await makeUser(server, "Dov");
  const b = await makeUser(server, "Eun");
  const [ca, cb] = await Promise.all([connect(a), connect(b)]);
  const m1 = (await ca.call("sendMessage", { to: b.user.id, client_id: "d1", type: "text", content: "1" })).message;
  await ca.call("sendMessage", { channel: m1.channel, client_id: "d2", type: "text", content: "2" });
  const mark = ca.mark();
  await cb.call("markDelivered", { channel: m1.channel, seq: 2 });
  const ev: any = await ca.event(isReceipt(m1.channel, b.user.id), 5000, "receipt at sender", mark);
  expect(ev.delivered_seq).toBe(2);
  let m = await msgs(ca, m1.channel);
  expect([typeof m[1].delivered_at, typeof m[2].delivered_at]).toEqual(["number", "number"]);
  expect([m[1].seen_at, m[2].seen_at]).toEqual([null, null]);
  await cb.call("markSeen", { channel: m1.channel, seq: 1 });
  m = await msgs(ca, m1.channel);
  expect(typeof m[1].seen_at).toBe("number");
  expect(m[2].seen_at).toBeNull();
  expect(await chan(cb, m1.channel)).toMatchObject({ delivered_seq: 2, seen_seq: 1, unread: 1 });
}, 15_000);
