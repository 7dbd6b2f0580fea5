// Bad input over the websocket and HTTP: malformed frames, unknown ops,
// missing params, and the error codes (rate_limited and unavailable are in
// server-limits.test.ts; internal cannot be provoked from outside).
import { beforeAll, describe, expect, test } from "bun:test";
import { adminFetch, api, makeUser, type TestServer, type TestUser, type WsClient } from "../harness.ts";
import { allMessages, expectError, expectHttpError, expectNoEvent, isMsg, serverPerFile } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({ args: ["--max-group-members", "3"] }, (s) => (server = s));

describe("malformed frames keep the connection open", () => {
  let c: WsClient;
  beforeAll(async () => {
    c = await connect(await makeUser(server, "Frame"));
  });

  async function rawFrame(text: string): Promise<any> {
    c.replies.delete(null);
    c.ws.send(text);
    return await c.until(() => c.replies.get(null), 5000, `re:null reply to ${text.slice(0, 30)}`);
  }

  for (const bad of ["this is not json", "{\"id\": 1, \"op\":", "[1,2,3]", "42", "\"op\"", "null", "{}", "{\"op\": 7}"]) {
    test(`${JSON.stringify(bad)} -> re:null bad_request`, async () => {
      const r = await rawFrame(bad);
      expect(r.re).toBeNull();
      expectError(r, "bad_request");
      expect(c.closed).toBeNull();
      expect((await c.call("ping")).ok).toBe(true);
    }, 10_000);
  }

  test("a binary frame -> re:null bad_request", async () => {
    c.replies.delete(null);
    c.ws.send(new TextEncoder().encode(JSON.stringify({ id: 1, op: "ping" })));
    const r = await c.until(() => c.replies.get(null), 5000, "re:null reply to a binary frame");
    expectError(r, "bad_request");
    expect((await c.call("ping")).ok).toBe(true);
  }, 10_000);

  test("a frame with an id but no op -> bad_request (re null or the id)", async () => {
    c.replies.delete(null);
    c.ws.send(JSON.stringify({ id: 4242 }));
    const r = await c.until(() => c.replies.get(4242) ?? c.replies.get(null), 5000, "reply");
    expectError(r, "bad_request");
    expect([null, 4242]).toContain(r.re);
    expect((await c.call("ping")).ok).toBe(true);
  }, 10_000);

  for (const op of ["nope", "toString", "__proto__", "constructor", "hasOwnProperty", ""]) {
    test(`unknown op ${JSON.stringify(op)} -> bad_request with its id`, async () => {
      const r = await c.request(op);
      expectError(r, "bad_request");
      expect(c.closed).toBeNull();
      expect((await c.call("ping")).ok).toBe(true);
    }, 10_000);
  }

  const missing: Array<[string, Record<string, unknown>]> = [
    ["getMessages", {}],
    ["sendMessage", {}],
    ["sendMessage", { channel: "x", type: "text", content: "no client id" }],
    ["sendMessage", { channel: "x", client_id: "c", content: "no type" }],
    ["sendMessage", { channel: "x", client_id: "c", type: "sticker", content: "bad type" }],
    ["sendMessage", { client_id: "c", type: "text", content: "neither channel nor to" }],
    ["sendMessage", { channel: 5, client_id: "c", type: "text", content: "x" }],
    ["createGroup", {}],
    ["createGroup", { name: "x", join: "whenever" }],
    ["createGroup", { name: "x", members: "not-a-list" }],
    ["createInvite", {}],
    ["joinGroup", {}],
    ["leaveGroup", {}],
    ["addMembers", { channel: "x" }],
    ["removeMember", { channel: "x" }],
    ["markDelivered", { channel: "x" }],
    ["markSeen", { seq: 1 }],
    ["markSeen", { channel: "x", seq: -1 }],
    ["typing", { channel: "x" }],
    ["findUser", {}],
    ["getMessages", { channel: "x", limit: 201 }],
  ];
  for (const [op, params] of missing) {
    test(`${op} ${JSON.stringify(params)} -> bad_request`, async () => {
      const r = await c.request(op, params);
      expectError(r, "bad_request");
      expect(c.closed).toBeNull();
    }, 10_000);
  }

  test("non-text message without media is bad_request", async () => {
    const b = await makeUser(server, "Media");
    const r = await c.request("sendMessage", { to: b.user.id, client_id: "img", type: "image", content: "caption only" });
    expectError(r, "bad_request");
  }, 10_000);
});

describe("every error code", () => {
  test("not_found and forbidden over ws and HTTP", async () => {
    const a = await makeUser(server, "Nf");
    const x = await makeUser(server, "Nf2");
    const ca = await connect(a);
    expectError(await ca.request("getMessages", { channel: "does-not-exist" }), "not_found");
    expectHttpError(await api(server, a.token, "getMessages", { channel: "does-not-exist" }), 404, "not_found");
    const g = (await ca.call("createGroup", { name: "closed" })).channel;
    expectHttpError(await api(server, x.token, "getMessages", { channel: g.id }), 403, "forbidden");
    expectHttpError(await api(server, x.token, "sendMessage", { channel: g.id, client_id: "f", type: "text", content: "x" }), 403, "forbidden");
  }, 15_000);

  test("bad_request over HTTP: malformed JSON body, missing params, unknown op", async () => {
    const a = await makeUser(server, "Br");
    const res = await fetch(`${server.url}/api/sendMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("bad_request");
    expectHttpError(await api(server, a.token, "sendMessage", {}), 400, "bad_request");
    const unk = await api(server, a.token, "noSuchOp", {});
    expect([400, 404]).toContain(unk.status);
    expect(unk.body.ok).toBe(false);
    expect(["bad_request", "not_found"]).toContain(unk.body.error.code);
  }, 15_000);

  test("conflict: admin create user with an existing phone", async () => {
    const phone = "+447700900009";
    const r1 = await adminFetch(server, "POST", "/admin/users", { name: "One", phone });
    expect([200, 201]).toContain(r1.status);
    const r2 = await adminFetch(server, "POST", "/admin/users", { name: "Two", phone });
    expect(r2.status).toBe(409);
    const body = (await r2.json()) as any;
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe("conflict");
    // Nothing changed: still exactly one user with that phone.
    const list = ((await (await adminFetch(server, "GET", "/admin/users")).json()) as any).users as any[];
    expect(list.filter((u) => u.phone === phone).map((u) => u.name)).toEqual(["One"]);
  }, 15_000);

  test("group_full with --max-group-members 3, over ws and HTTP; nothing changes", async () => {
    const [a, b, c, d] = await Promise.all(["Gf1", "Gf2", "Gf3", "Gf4"].map((n) => makeUser(server, n)));
    const ca = await connect(a!);
    const cd = await connect(d!);
    expectError(await ca.request("createGroup", { name: "big", members: [b!.user.id, c!.user.id, d!.user.id] }), "group_full");
    const g = (await ca.call("createGroup", { name: "three", members: [b!.user.id, c!.user.id] })).channel;
    const marks = [{ c: ca, mark: ca.mark() }, { c: cd, mark: cd.mark() }];
    expectError(await ca.request("addMembers", { channel: g.id, members: [d!.user.id] }), "group_full");
    expectHttpError(await api(server, a!.token, "addMembers", { channel: g.id, members: [d!.user.id] }), 409, "group_full");
    const adm = await adminFetch(server, "POST", `/admin/groups/${g.id}/members`, { members: [d!.user.id] });
    expect(adm.status).toBe(409);
    expect(((await adm.json()) as any).error.code).toBe("group_full");
    await expectNoEvent(marks, (e) => e.ev === "member");
    const now = (await ca.call("getAll")).channels.find((x: any) => x.id === g.id);
    expect(now.members.length).toBe(3);
  }, 15_000);

  test("too_large: content over 64 KiB of UTF-8 bytes (not characters), over ws and HTTP; nothing stored", async () => {
    const a = await makeUser(server, "Tl");
    const b = await makeUser(server, "Tl2");
    const ca = await connect(a);
    const cb = await connect(b);
    const ok = (await ca.call("sendMessage", { to: b.user.id, client_id: "fits", type: "text", content: "a".repeat(65536) })).message;
    expect(ok.content.length).toBe(65536);
    const mark = cb.mark();
    expectError(await ca.request("sendMessage", { channel: ok.channel, client_id: "big", type: "text", content: "a".repeat(65537) }), "too_large");
    // 21,846 euro signs are 65,538 bytes but only 21,846 characters.
    expectError(await ca.request("sendMessage", { channel: ok.channel, client_id: "big2", type: "text", content: "€".repeat(21846) }), "too_large");
    expectHttpError(await api(server, a.token, "sendMessage", { channel: ok.channel, client_id: "big3", type: "text", content: "b".repeat(70000) }), 413, "too_large");
    const fits = await ca.call("sendMessage", { channel: ok.channel, client_id: "fits2", type: "text", content: "€".repeat(21845) });
    expect(fits.message.seq).toBe(2);
    const msgs = await allMessages(ca, ok.channel);
    expect(msgs.map((m: any) => m.client_id)).toEqual(["fits", "fits2"]);
    // The refused sends produced no events (only the one that fit).
    await expectNoEvent([{ c: cb, mark }], (e) => e.ev === "message" && e.message.client_id.startsWith("big"));
  }, 20_000);

  test("bad_request: a lone surrogate in a string param (raw JSON escapes), over ws and HTTP; nothing stored", async () => {
    const a = await makeUser(server, "Ls");
    const b = await makeUser(server, "Ls2");
    const ca = await connect(a);
    const cb = await connect(b);
    const first = (await ca.call("sendMessage", { to: b.user.id, client_id: "k", type: "text", content: "ok" })).message;
    await cb.event(isMsg(first.id));
    const mark = cb.mark();
    // Written by hand: JSON.stringify would escape a lone surrogate the same way, but this is the wire text.
    const raw = (id: number, clientId: string, content: string) =>
      `{"id":${id},"op":"sendMessage","channel":"${first.channel}","client_id":"${clientId}","type":"text","content":"${content}"}`;
    for (const [id, cid, content] of [[9001, "k\\ud800", "one"], [9002, "k\\udc00", "two"], [9003, "k3", "x\\udfff"]] as const) {
      ca.ws.send(raw(id, cid, content));
      const r = await ca.reply(id);
      expectError(r, "bad_request");
      expect(r.error.message).toContain("lone surrogate");
    }
    const http = await fetch(`${server.url}/api/sendMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
      body: raw(0, "k\\ud800", "three").replace('"id":0,"op":"sendMessage",', ""),
    });
    expect(http.status).toBe(400);
    expect(((await http.json()) as any).error.code).toBe("bad_request");
    expect((await allMessages(ca, first.channel)).map((m: any) => m.client_id)).toEqual(["k"]);
    await expectNoEvent([{ c: cb, mark }], (e) => e.ev === "message");
  }, 20_000);

  test("unauthorized: HTTP without a valid token", async () => {
    expectHttpError(await api(server, "nope", "ping"), 401, "unauthorized");
  }, 10_000);
});
