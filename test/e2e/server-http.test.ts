// The HTTP mirror (every op as POST /api/OP), the convenience routes,
// /healthz, /metrics and the admin HTTP routes.
import { describe, expect, test } from "bun:test";
import { adminFetch, api, login, makeUser, type TestServer, type TestUser, WsClient } from "../harness.ts";
import { expectHttpError, isMsg, serverPerFile } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));

async function get(token: string, path: string) {
  const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}
async function post(token: string, path: string, body: unknown) {
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
function ok(r: { status: number; body: any }) {
  if (r.status !== 200) throw new Error(`expected 200, got ${r.status}: ${JSON.stringify(r.body)}`);
  expect(r.body.ok).toBe(true);
  expect(r.body).not.toHaveProperty("re");
  return r.body;
}

describe("HTTP mirror: every op as POST /api/OP", () => {
  test("all fourteen ops work over HTTP with ws-equivalent results and events", async () => {
    const a = await makeUser(server, "Hana");
    const b = await makeUser(server, "Ivo");
    const c = await makeUser(server, "Jun");
    const [wa, wb, wc] = await Promise.all([connect(a), connect(b), connect(c)]);

    expect(ok(await api(server, a.token, "ping")).at).toBeGreaterThan(0);
    expect(ok(await api(server, a.token, "findUser", { phone: b.user.phone })).user.id).toBe(b.user.id);
    expect(ok(await api(server, a.token, "getAll")).channels).toEqual([]);

    const g = ok(await api(server, a.token, "createGroup", { name: "http", members: [b.user.id] })).channel;
    expect(g).toMatchObject({ kind: "group", name: "http", admins: [a.user.id] });

    const mb = wb.mark();
    const wam = wa.mark();
    const sent = ok(await api(server, a.token, "sendMessage", { channel: g.id, client_id: "h1", type: "text", content: "over http" })).message;
    expect(sent).toMatchObject({ seq: 1, content: "over http", sender: a.user.id });
    await wb.event(isMsg(sent.id), 5000, "event from an HTTP send", mb);
    // An HTTP send has no sending connection: the sender's sockets get the event too.
    await wa.event(isMsg(sent.id), 5000, "event at sender's socket", wam);
    // Idempotent over HTTP too.
    expect(ok(await api(server, a.token, "sendMessage", { channel: g.id, client_id: "h1", type: "text", content: "over http" })).message.id).toBe(sent.id);

    const page = ok(await api(server, b.token, "getMessages", { channel: g.id }));
    expect(page.messages.map((m: any) => m.id)).toEqual([sent.id]);
    expect(page.has_more).toBe(false);

    const ma = wa.mark();
    ok(await api(server, b.token, "markDelivered", { channel: g.id, seq: 1 }));
    ok(await api(server, b.token, "markSeen", { channel: g.id, seq: 1 }));
    await wa.event((e: any) => e.ev === "receipt" && e.user === b.user.id && e.seen_seq === 1, 5000, "receipt", ma);

    ok(await api(server, b.token, "typing", { channel: g.id, state: "start" }));
    await wa.event((e: any) => e.ev === "typing" && e.user === b.user.id, 5000, "typing", ma);

    const added = ok(await api(server, a.token, "addMembers", { channel: g.id, members: [c.user.id] })).channel;
    expect(added.members).toContain(c.user.id);
    await wc.event((e: any) => e.ev === "member" && e.action === "added" && e.user === c.user.id, 5000, "added");

    ok(await api(server, a.token, "removeMember", { channel: g.id, user: c.user.id }));
    await wc.event((e: any) => e.ev === "member" && e.action === "removed" && e.user === c.user.id, 5000, "removed");

    const invite = ok(await api(server, a.token, "createInvite", { channel: g.id })).invite;
    expect(typeof invite).toBe("string");
    const joined = ok(await api(server, c.token, "joinGroup", { channel: g.id, invite })).channel;
    expect(joined.members).toContain(c.user.id);

    ok(await api(server, c.token, "leaveGroup", { channel: g.id }));
    await wa.event((e: any) => e.ev === "member" && e.action === "left" && e.user === c.user.id, 5000, "left", ma);

    const all = ok(await api(server, b.token, "getAll")).channels;
    expect(all.find((x: any) => x.id === g.id)).toMatchObject({ last_seq: 1, seen_seq: 1, delivered_seq: 1, unread: 0 });
  }, 30_000);

  test("errors carry the protocol status codes and body shape", async () => {
    const a = await makeUser(server, "Kay");
    const x = await makeUser(server, "Lux");
    const g = ok(await api(server, a.token, "createGroup", { name: "s" })).channel;
    expectHttpError(await api(server, a.token, "getMessages", {}), 400, "bad_request");
    expectHttpError(await api(server, a.token, "getMessages", { channel: "none" }), 404, "not_found");
    expectHttpError(await api(server, x.token, "getMessages", { channel: g.id }), 403, "forbidden");
    expectHttpError(await api(server, "bogus", "getMessages", { channel: g.id }), 401, "unauthorized");
    const r = await api(server, x.token, "getMessages", { channel: g.id });
    expect(typeof r.body.error.message).toBe("string");
  }, 15_000);
});

describe("convenience routes", () => {
  test("GET /api/chats, GET/POST /api/channels/ID/messages", async () => {
    const a = await makeUser(server, "Mia");
    const b = await makeUser(server, "Ned");
    const wb = await connect(b);
    const g = ok(await api(server, a.token, "createGroup", { name: "conv", members: [b.user.id] })).channel;

    const chats = ok(await get(a.token, "/api/chats"));
    expect(chats.channels.map((x: any) => x.id)).toEqual([g.id]);

    const m = wb.mark();
    const sent: any[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = ok(await post(a.token, `/api/channels/${encodeURIComponent(g.id)}/messages`, { client_id: `cv${i}`, type: "text", content: `c${i}` }));
      expect(r.message).toMatchObject({ channel: g.id, seq: i, content: `c${i}` });
      sent.push(r.message);
    }
    await wb.event(isMsg(sent[4].id), 5000, "event from the convenience route", m);

    const base = `/api/channels/${encodeURIComponent(g.id)}/messages`;
    const all = ok(await get(b.token, base));
    expect(all.messages.map((x: any) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all.has_more).toBe(false);
    const newest = ok(await get(b.token, `${base}?limit=2`));
    expect([newest.messages.map((x: any) => x.seq), newest.has_more]).toEqual([[4, 5], true]);
    const older = ok(await get(b.token, `${base}?before_seq=4&limit=2`));
    expect([older.messages.map((x: any) => x.seq), older.has_more]).toEqual([[2, 3], true]);
    const newer = ok(await get(b.token, `${base}?after_seq=3&limit=5`));
    expect([newer.messages.map((x: any) => x.seq), newer.has_more]).toEqual([[4, 5], false]);
    expectHttpError(await get(b.token, `${base}?limit=201`), 400, "bad_request");
    expectHttpError(await get(b.token, `${base}?limit=abc`), 400, "bad_request");
    expectHttpError(await get(b.token, `/api/channels/nope/messages`), 404, "not_found");
    const x = await makeUser(server, "Out");
    expectHttpError(await get(x.token, base), 403, "forbidden");
    expectHttpError(await post(x.token, base, { client_id: "x", type: "text", content: "x" }), 403, "forbidden");
    expectHttpError(await post(a.token, base, { type: "text", content: "no client id" }), 400, "bad_request");
    const noAuth = await fetch(server.url + base);
    expect(noAuth.status).toBe(401);
  }, 20_000);
});

describe("operations endpoints", () => {
  test("/healthz needs no auth", async () => {
    const res = await fetch(server.url + "/healthz");
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).ok).toBe(true);
  }, 10_000);

  test("/metrics is Prometheus text with natter_ metrics for connections, messages, op latency, commit batches, errors", async () => {
    const a = await makeUser(server, "Met");
    const b = await makeUser(server, "Ric");
    const w = await connect(a);
    await w.call("sendMessage", { to: b.user.id, client_id: "m1", type: "text", content: "count me" });
    await w.request("getMessages", { channel: "nope" }); // a not_found error
    let res = await fetch(server.url + "/metrics");
    if (res.status === 401 || res.status === 403) res = await fetch(server.url + "/metrics", { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type") ?? "").toContain("text/plain");
    const text = await res.text();
    const value = (re: RegExp) => {
      const m = text.match(re);
      return m ? Number(m[1]) : NaN;
    };
    expect(value(/^natter_connections(?:\{[^}]*\})? (\S+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^natter_messages_total(?:\{[^}]*\})? (\S+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^natter_errors_total\{[^}]*code="not_found"[^}]*\} (\S+)$/m)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^natter_commit_batch_size(_bucket|_count|_sum)?(\{[^}]*\})? \S+$/m);
    expect(text).toMatch(/^natter_op_duration_seconds(_bucket|_count|_sum)?(\{[^}]*\})? \S+$/m);
    expect(text).toMatch(/^# TYPE natter_\w+ (counter|gauge|histogram|summary)$/m);
  }, 15_000);
});

describe("admin HTTP", () => {
  test("users: create, list, show, code, devices, delete; duplicate phone is conflict", async () => {
    const created = await adminFetch(server, "POST", "/admin/users", { name: "Adm", phone: "+447700900100" });
    expect([200, 201]).toContain(created.status);
    const { user, code } = (await created.json()) as any;
    expect(user).toMatchObject({ name: "Adm", phone: "+447700900100" });
    const dup = await adminFetch(server, "POST", "/admin/users", { name: "Again", phone: "+447700900100" });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as any).error.code).toBe("conflict");
    const bad = await adminFetch(server, "POST", "/admin/users", { name: "NoPhone" });
    expect(bad.status).toBe(400);

    const list = (await (await adminFetch(server, "GET", "/admin/users")).json()) as any;
    expect(list.users.map((u: any) => u.id)).toContain(user.id);
    const show = await adminFetch(server, "GET", `/admin/users/${user.id}`);
    expect(show.status).toBe(200);
    const shown = (await show.json()) as any;
    expect((shown.user ?? shown).phone).toBe("+447700900100");
    expect((await adminFetch(server, "GET", "/admin/users/nobody")).status).toBe(404);

    const l1 = await login(server, code, "one");
    const c2 = (await (await adminFetch(server, "POST", `/admin/users/${user.id}/code`)).json()) as any;
    const l2 = await login(server, c2.code, "two");
    const devs = (await (await adminFetch(server, "GET", `/admin/users/${user.id}/devices`)).json()) as any;
    expect(devs.devices.map((d: any) => d.name).sort()).toEqual(["one", "two"]);
    expect(devs.devices.map((d: any) => d.id).sort()).toEqual([l1.device.id, l2.device.id].sort());

    const w1 = await WsClient.connect(server, l1.token);
    const other = await makeUser(server, "Stays");
    const grp = ok(await api(server, other.token, "createGroup", { name: "with-adm", members: [user.id] })).channel;
    expect(grp.members).toContain(user.id);
    const del = await adminFetch(server, "DELETE", `/admin/users/${user.id}`);
    expect([200, 204]).toContain(del.status);
    expect((await adminFetch(server, "GET", `/admin/users/${user.id}`)).status).toBe(404);
    // A removed user's sockets close, tokens stop working, and they leave their groups.
    expect((await w1.waitClosed(5000)).code).toBe(4401);
    expectHttpError(await api(server, l1.token, "getAll"), 401, "unauthorized");
    expectHttpError(await api(server, l2.token, "getAll"), 401, "unauthorized");
    const after = ok(await api(server, other.token, "getAll")).channels.find((c: any) => c.id === grp.id);
    expect(after.members).not.toContain(user.id);
  }, 20_000);

  test("groups: create, list, show, add and remove members, invite; stats", async () => {
    const a = await makeUser(server, "GOwner");
    const b = await makeUser(server, "GMem");
    const c = await makeUser(server, "GNew");
    const wc = await connect(c);
    const res = await adminFetch(server, "POST", "/admin/groups", { name: "ops", owner: a.user.id, members: [b.user.id] });
    expect([200, 201]).toContain(res.status);
    const body = (await res.json()) as any;
    const g = body.channel ?? body.group;
    expect(g).toMatchObject({ kind: "group", name: "ops", admins: [a.user.id] });
    expect([...g.members].sort()).toEqual([a.user.id, b.user.id].sort());
    expect((await adminFetch(server, "POST", "/admin/groups", { name: "x", owner: "ghost", members: [] })).status).toBe(404);

    const list = (await (await adminFetch(server, "GET", "/admin/groups")).json()) as any;
    expect((list.groups ?? list.channels).map((x: any) => x.id)).toContain(g.id);
    const shown = (await (await adminFetch(server, "GET", `/admin/groups/${g.id}`)).json()) as any;
    expect((shown.channel ?? shown.group).id).toBe(g.id);

    const add = await adminFetch(server, "POST", `/admin/groups/${g.id}/members`, { members: [c.user.id] });
    expect([200, 201]).toContain(add.status);
    await wc.event((e: any) => e.ev === "member" && e.action === "added" && e.user === c.user.id, 5000, "added by admin");
    expect(ok(await api(server, c.token, "getAll")).channels.map((x: any) => x.id)).toContain(g.id);
    const rm = await adminFetch(server, "DELETE", `/admin/groups/${g.id}/members/${c.user.id}`);
    expect([200, 204]).toContain(rm.status);
    await wc.event((e: any) => e.ev === "member" && e.action === "removed" && e.user === c.user.id, 5000, "removed by admin");

    const inv = (await (await adminFetch(server, "POST", `/admin/groups/${g.id}/invite`)).json()) as any;
    expect(ok(await api(server, c.token, "joinGroup", { channel: g.id, invite: inv.invite })).channel.members).toContain(c.user.id);

    const stats = await adminFetch(server, "GET", "/admin/stats");
    expect(stats.status).toBe(200);
    const s = (await stats.json()) as any;
    expect(typeof s).toBe("object");
    expect(JSON.stringify(s)).toMatch(/\d/);
  }, 20_000);
});
