// Groups: create, invite, join (invite and open), add/remove (admins only),
// leave, member events, live subscription changes, the 100-member cap.
import { describe, expect, test } from "bun:test";
import { adminFetch, makeUser, type TestServer, type TestUser, type WsClient } from "../harness.ts";
import { bytes, download, uploadOk } from "./media-helpers.ts";
import { allMessages, expectError, expectNoEvent, isMsg, serverPerFile, sleep } from "./server-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));
const isMember = (channel: string, action?: string) => (e: any) => e.ev === "member" && e.channel === channel && (action === undefined || e.action === action);
const sorted = (xs: string[]) => [...xs].sort();
let seq = 0;
const send = (c: WsClient, channel: string, content = "x") => c.request("sendMessage", { channel, client_id: `g-${++seq}`, type: "text", content });

describe("create and deliver", () => {
  test("createGroup: creator is admin; defaults; members connected before creation get its messages", async () => {
    const a = await makeUser(server, "Ann");
    const b = await makeUser(server, "Ben");
    const c = await makeUser(server, "Cid");
    const [ca, cb, cc] = await Promise.all([connect(a), connect(b), connect(c)]);
    const r = await ca.call("createGroup", { name: "Friends", description: "the usual", members: [b.user.id, c.user.id] });
    const ch = r.channel;
    expect(ch).toMatchObject({ kind: "group", name: "Friends", description: "the usual", join: "invite", admins: [a.user.id], last_seq: 0, unread: 0 });
    expect(sorted(ch.members)).toEqual(sorted([a.user.id, b.user.id, c.user.id]));
    expect(typeof ch.created_at).toBe("number");
    // Every member sees it in getAll.
    for (const x of [ca, cb, cc]) expect((await x.call("getAll")).channels.map((y: any) => y.id)).toContain(ch.id);
    // Live sockets opened before the group existed receive its messages.
    const m = (await send(cb, ch.id, "hi group")).message;
    await ca.event(isMsg(m.id), 5000, "msg at creator");
    await cc.event(isMsg(m.id), 5000, "msg at member");
  }, 20_000);

  test("createGroup with join=open and no members", async () => {
    const a = await makeUser(server, "Dot");
    const ca = await connect(a);
    const ch = (await ca.call("createGroup", { name: "Open house", join: "open" })).channel;
    expect(ch.join).toBe("open");
    expect(ch.members).toEqual([a.user.id]);
  }, 15_000);

  test("createGroup naming a user that does not exist is not_found and creates nothing", async () => {
    const a = await makeUser(server, "Eda");
    const ca = await connect(a);
    expectError(await ca.request("createGroup", { name: "x", members: ["nobody-here"] }), "not_found");
    expect((await ca.call("getAll")).channels).toEqual([]);
  }, 15_000);
});

describe("invites and joining", () => {
  test("createInvite (admins only) and joinGroup with it; member event to every member incl. the joiner", async () => {
    const a = await makeUser(server, "Fin");
    const b = await makeUser(server, "Gia");
    const j = await makeUser(server, "Hop");
    const [ca, cb, cj] = await Promise.all([connect(a), connect(b), connect(j)]);
    const ch = (await ca.call("createGroup", { name: "club", members: [b.user.id] })).channel;
    expectError(await cb.request("createInvite", { channel: ch.id }), "forbidden");
    expectError(await cj.request("createInvite", { channel: ch.id }), "forbidden");
    const inv = (await ca.call("createInvite", { channel: ch.id })).invite;
    expect(typeof inv).toBe("string");

    // No invite (or a wrong one) on an invite-only group: forbidden, nothing changes.
    expectError(await cj.request("joinGroup", { channel: ch.id }), "forbidden");
    expectError(await cj.request("joinGroup", { channel: ch.id, invite: "wrong-invite" }), "forbidden");

    const marks = [ca, cb, cj].map((x) => x.mark());
    const joined = (await cj.call("joinGroup", { channel: ch.id, invite: inv })).channel;
    expect(joined.id).toBe(ch.id);
    expect(sorted(joined.members)).toEqual(sorted([a.user.id, b.user.id, j.user.id]));
    for (const [i, x] of [ca, cb, cj].entries()) {
      const ev: any = await x.event(isMember(ch.id, "joined"), 5000, "joined event", marks[i]);
      expect(ev).toMatchObject({ channel: ch.id, user: j.user.id, action: "joined", by: j.user.id });
    }
    // The joiner's live socket now gets messages.
    const m = (await send(ca, ch.id)).message;
    await cj.event(isMsg(m.id), 5000, "msg at joiner");

    // Joining again as a member just returns the channel (no new event).
    const mk = cb.mark();
    const again = (await cj.call("joinGroup", { channel: ch.id })).channel;
    expect(again.id).toBe(ch.id);
    await expectNoEvent([{ c: cb, mark: mk }], isMember(ch.id));
  }, 20_000);

  test("open groups can be joined without an invite", async () => {
    const a = await makeUser(server, "Ida");
    const b = await makeUser(server, "Jon");
    const [ca, cb] = await Promise.all([connect(a), connect(b)]);
    const ch = (await ca.call("createGroup", { name: "lobby", join: "open" })).channel;
    const mk = ca.mark();
    const got = (await cb.call("joinGroup", { channel: ch.id })).channel;
    expect(sorted(got.members)).toEqual(sorted([a.user.id, b.user.id]));
    await ca.event(isMember(ch.id, "joined"), 5000, "joined", mk);
    expectError(await cb.request("joinGroup", { channel: "no-such-channel" }), "not_found");
  }, 15_000);

  test("an invite from the admin API works for joinGroup", async () => {
    const a = await makeUser(server, "Kit");
    const b = await makeUser(server, "Liv");
    const cb = await connect(b);
    const res = await adminFetch(server, "POST", "/admin/groups", { name: "admin-made", owner: a.user.id, members: [] });
    expect([200, 201]).toContain(res.status);
    const body = (await res.json()) as any;
    const gid = (body.channel ?? body.group ?? body).id;
    expect(typeof gid).toBe("string");
    const inv = await adminFetch(server, "POST", `/admin/groups/${gid}/invite`);
    expect([200, 201]).toContain(inv.status);
    const { invite } = (await inv.json()) as any;
    const ch = (await cb.call("joinGroup", { channel: gid, invite })).channel;
    expect(ch.members).toContain(b.user.id);
  }, 15_000);
});

describe("adding, removing, leaving", () => {
  test("only admins add members; added event to every member incl. the added user; the added socket gets messages", async () => {
    const a = await makeUser(server, "Moe");
    const b = await makeUser(server, "Nia");
    const n = await makeUser(server, "Oz");
    const [ca, cb, cn] = await Promise.all([connect(a), connect(b), connect(n)]);
    const ch = (await ca.call("createGroup", { name: "g", members: [b.user.id] })).channel;
    expectError(await cb.request("addMembers", { channel: ch.id, members: [n.user.id] }), "forbidden");
    expectError(await cn.request("addMembers", { channel: ch.id, members: [n.user.id] }), "forbidden");
    expectError(await ca.request("addMembers", { channel: ch.id, members: ["ghost-user"] }), "not_found");
    const marks = [ca, cb, cn].map((x) => x.mark());
    const after = (await ca.call("addMembers", { channel: ch.id, members: [n.user.id] })).channel;
    expect(sorted(after.members)).toEqual(sorted([a.user.id, b.user.id, n.user.id]));
    for (const [i, x] of [ca, cb, cn].entries()) {
      const ev: any = await x.event(isMember(ch.id, "added"), 5000, "added event", marks[i]);
      expect(ev).toMatchObject({ user: n.user.id, action: "added", by: a.user.id });
    }
    const m = (await send(cb, ch.id)).message;
    await cn.event(isMsg(m.id), 5000, "msg at added user");
    expect((await cn.call("getAll")).channels.map((c: any) => c.id)).toContain(ch.id);
  }, 20_000);

  test("only admins remove others; removed event incl. the removed user; removed user can no longer read new or write", async () => {
    const a = await makeUser(server, "Pam");
    const b = await makeUser(server, "Ray");
    const d = await makeUser(server, "Sue");
    const [ca, cb, cd] = await Promise.all([connect(a), connect(b), connect(d)]);
    const ch = (await ca.call("createGroup", { name: "g", members: [b.user.id, d.user.id] })).channel;
    expectError(await cb.request("removeMember", { channel: ch.id, user: d.user.id }), "forbidden");
    expectError(await cb.request("removeMember", { channel: ch.id, user: a.user.id }), "forbidden");
    const marks = [ca, cb, cd].map((x) => x.mark());
    const r = await ca.call("removeMember", { channel: ch.id, user: d.user.id });
    expect(r.ok).toBe(true);
    for (const [i, x] of [ca, cb, cd].entries()) {
      const ev: any = await x.event(isMember(ch.id, "removed"), 5000, "removed event", marks[i]);
      expect(ev).toMatchObject({ user: d.user.id, action: "removed", by: a.user.id });
    }
    const dm = cd.mark();
    await send(ca, ch.id, "after removal");
    await expectNoEvent([{ c: cd, mark: dm }], isMsg());
    expectError(await send(cd, ch.id), "forbidden");
    const ga = (await ca.call("getAll")).channels.find((c: any) => c.id === ch.id);
    expect(sorted(ga.members)).toEqual(sorted([a.user.id, b.user.id]));
  }, 20_000);

  test("leave: stops receiving; can still read what arrived while a member, not later ones; cannot write", async () => {
    const a = await makeUser(server, "Tom");
    const l = await makeUser(server, "Uli");
    const [ca, cl] = await Promise.all([connect(a), connect(l)]);
    const ch = (await ca.call("createGroup", { name: "g", members: [l.user.id] })).channel;
    const m1 = (await send(ca, ch.id, "while member")).message;
    await cl.event(isMsg(m1.id), 5000, "m1");
    const marks = [ca, cl].map((x) => x.mark());
    expect((await cl.call("leaveGroup", { channel: ch.id })).ok).toBe(true);
    for (const [i, x] of [ca, cl].entries()) {
      const ev: any = await x.event(isMember(ch.id, "left"), 5000, "left event", marks[i]);
      expect(ev).toMatchObject({ user: l.user.id, action: "left", by: l.user.id });
    }
    const lm = cl.mark();
    const m2 = (await send(ca, ch.id, "after leaving")).message;
    await expectNoEvent([{ c: cl, mark: lm }], isMsg());
    const hist = await cl.call("getMessages", { channel: ch.id });
    expect(hist.messages.map((m: any) => m.id)).toEqual([m1.id]);
    expect(hist.messages.map((m: any) => m.id)).not.toContain(m2.id);
    const after = await cl.call("getMessages", { channel: ch.id, after_seq: m1.seq });
    expect(after.messages).toEqual([]);
    expectError(await send(cl, ch.id), "forbidden");
    const ga = (await ca.call("getAll")).channels.find((c: any) => c.id === ch.id);
    expect(ga.members).toEqual([a.user.id]);
  }, 20_000);

  test("leave and rejoin: history shows each period as a member, never what arrived while out; media and replies follow", async () => {
    const a = await makeUser(server, "Vic");
    const l = await makeUser(server, "Wes");
    const [ca, cl] = await Promise.all([connect(a), connect(l)]);
    const ch = (await ca.call("createGroup", { name: "g", join: "open", members: [l.user.id] })).channel;
    const sendPic = async (label: string) => {
      const m = await uploadOk(server, a.token, bytes(2000, ++seq));
      const r = await ca.call("sendMessage", { channel: ch.id, client_id: `g-${++seq}`, type: "file", media: m.id, content: label });
      return r.message;
    };
    const p1 = [(await send(ca, ch.id, "p1 a")).message, await sendPic("p1 pic")];
    await cl.event(isMsg(p1[1].id), 5000, "p1");
    await cl.call("leaveGroup", { channel: ch.id });
    const p2 = [(await send(ca, ch.id, "p2 a")).message, await sendPic("p2 pic")];
    await cl.call("joinGroup", { channel: ch.id });
    // Back with nothing new yet: the chat list shows the last message they could read.
    const back = (await cl.call("getAll")).channels.find((c: any) => c.id === ch.id);
    expect(back.last_message.id).toBe(p1[1].id);
    const p3 = [(await send(ca, ch.id, "p3 a")).message, await sendPic("p3 pic")];
    await cl.event(isMsg(p3[1].id), 5000, "p3");

    const ids = (ms: any[]) => ms.map((m: any) => m.id);
    const visible = ids([...p1, ...p3]);
    expect(ids((await cl.call("getMessages", { channel: ch.id })).messages)).toEqual(visible);
    expect(ids(await allMessages(cl, ch.id))).toEqual(visible);
    // Paging one at a time, both ways, crosses the gap and never lands in it.
    const fwd: string[] = [];
    let page: any = { messages: [], has_more: true };
    for (let after = 0; page.has_more; after = page.messages.at(-1).seq) {
      page = await cl.call("getMessages", { channel: ch.id, after_seq: after, limit: 1 });
      fwd.push(...ids(page.messages));
    }
    expect(fwd).toEqual(visible);
    const back1: string[] = [];
    page = await cl.call("getMessages", { channel: ch.id, limit: 1 });
    back1.unshift(...ids(page.messages));
    while (page.has_more) {
      page = await cl.call("getMessages", { channel: ch.id, before_seq: page.messages[0].seq, limit: 1 });
      back1.unshift(...ids(page.messages));
    }
    expect(back1).toEqual(visible);
    const mid = await cl.call("getMessages", { channel: ch.id, after_seq: p1[1].seq, before_seq: p3[0].seq });
    expect(mid.messages).toEqual([]);
    // The other member sees everything.
    expect(ids(await allMessages(ca, ch.id))).toEqual(ids([...p1, ...p2, ...p3]));

    // Media: shared in periods 1 and 3 downloads; shared while out is a 404.
    expect((await download(server, l.token, p1[1].media)).status).toBe(200);
    expect((await download(server, l.token, p3[1].media)).status).toBe(200);
    expect((await download(server, l.token, p2[1].media)).status).toBe(404);
    // A reply may quote period 1, not what arrived while out.
    expect((await cl.call("sendMessage", { channel: ch.id, client_id: `g-${++seq}`, type: "text", content: "re", reply_to: p1[0].id })).ok).toBe(true);
    expectError(await cl.request("sendMessage", { channel: ch.id, client_id: `g-${++seq}`, type: "text", content: "re", reply_to: p2[0].id }), "not_found");
  }, 30_000);

  test("non-members can neither read nor write; unknown channels are not_found", async () => {
    const a = await makeUser(server, "Val");
    const x = await makeUser(server, "Wyn");
    const [ca, cx] = await Promise.all([connect(a), connect(x)]);
    const ch = (await ca.call("createGroup", { name: "private" })).channel;
    await send(ca, ch.id, "secret");
    const mark = cx.mark();
    expectError(await cx.request("getMessages", { channel: ch.id }), "forbidden");
    expectError(await send(cx, ch.id), "forbidden");
    expectError(await cx.request("markSeen", { channel: ch.id, seq: 1 }), "forbidden");
    expectError(await cx.request("typing", { channel: ch.id, state: "start" }), "forbidden");
    expect((await cx.call("getAll")).channels).toEqual([]);
    expectError(await cx.request("getMessages", { channel: "no-such-channel" }), "not_found");
    expectError(await send(cx, "no-such-channel"), "not_found");
    await expectNoEvent([{ c: cx, mark }], (e) => e.ev === "message");
    // A direct chat of two others is closed to a third user, too.
    const b = await makeUser(server, "Xan");
    const dm = (await ca.call("sendMessage", { to: b.user.id, client_id: "dm", type: "text", content: "psst" })).message;
    const r = await cx.request("getMessages", { channel: dm.channel });
    expect(r.ok).toBe(false);
    expect(["forbidden", "not_found"]).toContain(r.error.code);
    const w = await send(cx, dm.channel);
    expect(w.ok).toBe(false);
    expect(["forbidden", "not_found"]).toContain(w.error.code);
  }, 20_000);
});

describe("the 100-member cap", () => {
  test("a group of 100 works; the 101st is group_full and nothing changes", async () => {
    const owner = await makeUser(server, "Cap0");
    const others: TestUser[] = [];
    for (let i = 1; i <= 101; i++) others.push(await makeUser(server, `Cap${i}`));
    const members99 = others.slice(0, 99);
    const extra = others[99]!;
    const extra2 = others[100]!;
    const co = await connect(owner);

    // 1 + 100 at creation is too many: group_full, no group created.
    expectError(await co.request("createGroup", { name: "too big", members: others.slice(0, 100).map((u) => u.user.id) }), "group_full");
    expect((await co.call("getAll")).channels).toEqual([]);

    const ch = (await co.call("createGroup", { name: "hundred", members: members99.map((u) => u.user.id) })).channel;
    expect(ch.members.length).toBe(100);

    const clients = [co];
    for (const u of members99) clients.push(await connect(u));
    const cExtra = await connect(extra);

    // Everyone gets a message.
    const m = (await send(clients[50]!, ch.id, "to all 100")).message;
    for (const [i, c] of clients.entries()) if (i !== 50) await c.event(isMsg(m.id), 10_000, `msg at member ${i}`);

    // The 101st: group_full, members unchanged, no member event anywhere.
    const marks = [...clients, cExtra].map((c) => ({ c, mark: c.mark() }));
    const r = await co.request("addMembers", { channel: ch.id, members: [extra.user.id] });
    expectError(r, "group_full");
    const r2 = await co.request("addMembers", { channel: ch.id, members: [extra.user.id, extra2.user.id] });
    expectError(r2, "group_full");
    const inv = (await co.call("createInvite", { channel: ch.id })).invite;
    expectError(await cExtra.request("joinGroup", { channel: ch.id, invite: inv }), "group_full");
    await expectNoEvent(marks, (e) => e.ev === "member", 500);
    const now = (await co.call("getAll")).channels.find((c: any) => c.id === ch.id);
    expect(sorted(now.members)).toEqual(sorted(ch.members));
    expectError(await send(cExtra, ch.id), "forbidden");
    const adm = await adminFetch(server, "GET", `/admin/groups/${ch.id}`);
    expect(adm.status).toBe(200);
    const admBody = (await adm.json()) as any;
    expect((admBody.channel ?? admBody.group ?? admBody).members.length).toBe(100);

    // After one leaves, the 100th slot is free again, and only one fits.
    await clients[99]!.call("leaveGroup", { channel: ch.id });
    expectError(await co.request("addMembers", { channel: ch.id, members: [extra.user.id, extra2.user.id] }), "group_full");
    const ok = (await co.call("addMembers", { channel: ch.id, members: [extra.user.id] })).channel;
    expect(ok.members.length).toBe(100);
    expect(ok.members).toContain(extra.user.id);
    await sleep(10);
  }, 60_000);
});
