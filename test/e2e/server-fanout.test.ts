// Group fan-out goes through a channel topic whose subscribers are reconciled
// with the members before every publish: membership changes must take effect
// for the very next message, on every device, with exactly one copy each.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { WsClient, addDevice, makeUser, startServer, type TestServer, type TestUser } from "../harness.ts";

let server: TestServer;
let a: TestUser, b: TestUser, c: TestUser, d: TestUser;

beforeAll(async () => {
  server = await startServer();
  [a, b, c, d] = await Promise.all(["A", "B", "C", "D"].map((n) => makeUser(server, n)));
});
afterAll(() => server.cleanup());

const messages = (w: WsClient, channel: string) =>
  w.events.filter((e) => e.ev === "message" && e.message.channel === channel).map((e) => (e as { message: { content: string } }).message.content);

test("removed members get nothing more, re-added ones get the next message, every device exactly once", async () => {
  const c2 = await addDevice(server, c.user.id, "c-phone");
  const [wa, wb, wc, wc2, wd] = await Promise.all([a, b, c, c2, d].map((u) => WsClient.connect(server, u.token)));
  const g = (await wa.call("createGroup", { name: "four", members: [b.user.id, c.user.id, d.user.id] })).channel.id as string;
  let n = 0;
  const send = async (text: string) => wa.call("sendMessage", { channel: g, client_id: `m${++n}`, type: "text", content: text });
  const settle = async (w: WsClient, text: string) => w.until(() => messages(w, g).includes(text), 5000, text);

  await send("one");
  await Promise.all([wb, wc, wc2, wd].map((w) => settle(w, "one")));

  await wa.call("removeMember", { channel: g, user: b.user.id });
  await send("two");
  await Promise.all([wc, wc2, wd].map((w) => settle(w, "two")));

  await wa.call("addMembers", { channel: g, members: [b.user.id] });
  await send("three");
  await Promise.all([wb, wc, wc2, wd].map((w) => settle(w, "three")));

  await wd.call("leaveGroup", { channel: g });
  await send("four");
  await Promise.all([wb, wc, wc2].map((w) => settle(w, "four")));
  await Bun.sleep(200); // give a wrongly delivered copy time to arrive

  expect(messages(wb, g)).toEqual(["one", "three", "four"]);
  expect(messages(wc, g)).toEqual(["one", "two", "three", "four"]);
  expect(messages(wc2, g)).toEqual(["one", "two", "three", "four"]);
  expect(messages(wd, g)).toEqual(["one", "two", "three"]);
  expect(messages(wa, g)).toEqual([]); // the sending connection has the replies
  for (const w of [wa, wb, wc, wc2, wd]) w.close();
});

test("a device that connects after the group's first message still gets the next one", async () => {
  const [wa, wb] = await Promise.all([a, b].map((u) => WsClient.connect(server, u.token)));
  const g = (await wa.call("createGroup", { name: "late", members: [b.user.id, c.user.id] })).channel.id as string;
  await wa.call("sendMessage", { channel: g, client_id: "x1", type: "text", content: "before" });
  const wcLate = await WsClient.connect(server, c.token);
  await wa.call("sendMessage", { channel: g, client_id: "x2", type: "text", content: "after" });
  await wcLate.until(() => messages(wcLate, g).includes("after"), 5000, "after");
  await wb.until(() => messages(wb, g).length === 2, 5000, "both on b");
  expect(messages(wcLate, g)).toEqual(["after"]);
  for (const w of [wa, wb, wcLate]) w.close();
});
