// Additions to the core protocol: getUsers (names of people you share a chat
// with) and presence for contacts made mid-session.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { WsClient, makeUser, startServer, type TestServer, type TestUser } from "../harness.ts";

let server: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser, stranger: TestUser;

beforeAll(async () => {
  server = await startServer();
  [alice, bob, carol, stranger] = await Promise.all(["Alice", "Bob", "Carol", "Stranger"].map((n) => makeUser(server, n)));
});
afterAll(() => server.cleanup());

test("getUsers returns profiles of people sharing a channel, and leaves strangers out", async () => {
  const a = await WsClient.connect(server, alice.token);
  await a.call("createGroup", { name: "trio", members: [bob.user.id, carol.user.id] });
  const r = await a.call("getUsers", { ids: [bob.user.id, carol.user.id, stranger.user.id, "u_nobody", alice.user.id] });
  expect(r.users.map((u: { name: string }) => u.name).sort()).toEqual(["Alice", "Bob", "Carol"]);
  expect(r.users.find((u: { id: string }) => u.id === bob.user.id)).toEqual({ ...bob.user, last_seen: null });
  const bad = await a.request("getUsers", { ids: "u_1" });
  expect(bad.error.code).toBe("bad_request");
  const most = await a.request("getUsers", { ids: [bob.user.id, ...Array.from({ length: 199 }, (_, i) => `u_${i}`)] });
  expect(most.ok).toBe(true); // 200 ids: the limit itself
  expect(most.users.map((x: { id: string }) => x.id)).toEqual([bob.user.id]);
  const tooMany = await a.request("getUsers", { ids: Array.from({ length: 201 }, (_, i) => `u_${i}`) });
  expect(tooMany.error.code).toBe("bad_request");
  a.close();
});

test("a new contact's presence arrives when the chat is created, not only at the next hello", async () => {
  const s = await WsClient.connect(server, stranger.token);
  const c = await WsClient.connect(server, carol.token);
  const mark = s.events.length;
  // Carol and Stranger share nothing yet; Carol's first message creates the chat.
  await c.call("sendMessage", { to: stranger.user.id, client_id: "hi", type: "text", content: "hi" });
  const p = await s.until(() => s.events.slice(mark).find((e) => e.ev === "presence" && e.user === carol.user.id), 5000, "presence of carol");
  expect(p).toMatchObject({ ev: "presence", user: carol.user.id, online: true });
  const q = await c.until(() => c.events.find((e) => e.ev === "presence" && e.user === stranger.user.id), 5000, "presence of stranger");
  expect(q).toMatchObject({ online: true });
  s.close();
  c.close();
});
