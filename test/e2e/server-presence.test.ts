// Typing and presence events.
import { describe, expect, test } from "bun:test";
import { addDevice, makeUser, type TestServer, type TestUser } from "../harness.ts";
import { expectError, expectNoEvent, serverPerFile } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));

describe("typing", () => {
  test("typing start/stop reaches the other members, not the typing connection or outsiders", async () => {
    const a = await makeUser(server, "Amy");
    const b = await makeUser(server, "Bill");
    const c = await makeUser(server, "Cleo");
    const x = await makeUser(server, "Xeno");
    const [ca, cb, cc, cx] = await Promise.all([connect(a), connect(b), connect(c), connect(x)]);
    const ch = (await ca.call("createGroup", { name: "t", members: [b.user.id, c.user.id] })).channel.id;
    const marks = [ca, cb, cc, cx].map((y) => y.mark());
    expect((await ca.call("typing", { channel: ch, state: "start" })).ok).toBe(true);
    for (const [i, y] of [cb, cc].entries()) {
      const ev: any = await y.event((e: any) => e.ev === "typing" && e.channel === ch, 5000, "typing start", marks[i + 1]);
      expect(ev).toMatchObject({ channel: ch, user: a.user.id, state: "start" });
    }
    await ca.call("typing", { channel: ch, state: "stop" });
    await cb.event((e: any) => e.ev === "typing" && e.state === "stop", 5000, "typing stop", marks[1]);
    await expectNoEvent(
      [
        { c: ca, mark: marks[0]! },
        { c: cx, mark: marks[3]! },
      ],
      (e) => e.ev === "typing",
    );
    expectError(await ca.request("typing", { channel: ch, state: "maybe" }), "bad_request");
    expectError(await ca.request("typing", { channel: ch }), "bad_request");
    expectError(await cx.request("typing", { channel: ch, state: "start" }), "forbidden");
  }, 15_000);

  test("typing in a direct chat reaches the other person", async () => {
    const a = await makeUser(server, "Dara");
    const b = await makeUser(server, "Egon");
    const [ca, cb] = await Promise.all([connect(a), connect(b)]);
    const ch = (await ca.call("sendMessage", { to: b.user.id, client_id: "t", type: "text", content: "hi" })).message.channel;
    const m = cb.mark();
    await ca.call("typing", { channel: ch, state: "start" });
    const ev: any = await cb.event((e: any) => e.ev === "typing", 5000, "typing", m);
    expect(ev).toMatchObject({ channel: ch, user: a.user.id, state: "start" });
  }, 15_000);
});

describe("presence", () => {
  test("online on connect; offline with last_seen when the last device disconnects; only to users sharing a channel", async () => {
    const a = await makeUser(server, "Fern", "phone");
    const a2 = await addDevice(server, a.user.id, "laptop");
    const b = await makeUser(server, "Gwen");
    const stranger = await makeUser(server, "Hugo");
    // A and B share a direct chat; the stranger shares nothing with A.
    await (async () => {
      const tmp = await connect(b);
      await tmp.call("sendMessage", { to: a.user.id, client_id: "p", type: "text", content: "hey" });
      tmp.close();
      await tmp.waitClosed();
    })();
    const cb = await connect(b);
    const cs = await connect(stranger);
    const isA = (e: any) => e.ev === "presence" && e.user === a.user.id;

    let mb = cb.mark();
    const ms = cs.mark();
    const d1 = await connect(a);
    const on: any = await cb.event(isA, 5000, "online", mb);
    expect(on.online).toBe(true);

    const d2 = await connect(a2);
    mb = cb.mark();
    d1.close();
    await d1.waitClosed();
    // A is still online on the other device: no offline event.
    await expectNoEvent([{ c: cb, mark: mb }], (e) => isA(e) && e.online === false, 500);

    const before = Date.now();
    d2.close();
    await d2.waitClosed();
    const off: any = await cb.event((e: any) => isA(e) && e.online === false, 5000, "offline", mb);
    expect(typeof off.last_seen).toBe("number");
    expect(off.last_seen).toBeGreaterThanOrEqual(before - 1000);
    expect(off.last_seen).toBeLessThanOrEqual(Date.now() + 1000);

    // last_seen is kept and visible through findUser.
    const found = (await cb.call("findUser", { phone: a.user.phone })).user;
    expect(found.last_seen).toBeGreaterThanOrEqual(before - 1000);

    await expectNoEvent([{ c: cs, mark: ms }], isA, 100);
  }, 20_000);

  test("group members get presence too", async () => {
    const a = await makeUser(server, "Ines");
    const b = await makeUser(server, "Jack");
    const cb = await connect(b);
    const tmp = await connect(a);
    await tmp.call("createGroup", { name: "p", members: [b.user.id] });
    tmp.close();
    await tmp.waitClosed();
    await cb.event((e: any) => e.ev === "presence" && e.user === a.user.id && e.online === false, 5000, "offline of a");
    const m = cb.mark();
    await connect(a);
    await cb.event((e: any) => e.ev === "presence" && e.user === a.user.id && e.online === true, 5000, "online of a", m);
  }, 15_000);
});
