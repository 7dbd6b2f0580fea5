// Edits, deletes and reactions over real websockets and the HTTP mirror: every rule at its edge
// (someone else's message, the window, a missing seq, a reaction that is not one emoji, deleted
// and media messages), each refusal changing nothing; events to every member device in seq
// order; an offline device catching up by seq; delete-for-me on all the user's devices only;
// a deleted message's media released when nothing else carries it.
import { describe, expect, test } from "bun:test";
import { addDevice, api, makeUser, startServer, type TestServer, type TestUser, type WsClient } from "../harness.ts";
import { allMessages, expectError, expectHttpError, makeGroup, serverPerFile, sleep } from "./server-helpers.ts";
import { bytes, download, filesUnder, sendMedia, uploadOk } from "./media-helpers.ts";

let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));

const send = async (c: WsClient, channel: string, content: string) =>
  (await c.call("sendMessage", { channel, client_id: crypto.randomUUID(), type: "text", content })).message;
const isChange = (ev: string, changeSeq?: number) => (e: any) => e.ev === ev && (changeSeq === undefined || e.change_seq === changeSeq);

/** A group of three (owner admin) with one socket each. */
async function trio(): Promise<{ a: TestUser; b: TestUser; c: TestUser; ca: WsClient; cb: WsClient; cc: WsClient; g: string }> {
  const a = await makeUser(server, "Ann");
  const b = await makeUser(server, "Ben");
  const c = await makeUser(server, "Cy");
  const g = (await makeGroup(server, a, [b, c])).id;
  return { a, b, c, ca: await connect(a), cb: await connect(b), cc: await connect(c), g };
}

describe("edit", () => {
  test("the sender edits; every member's devices get the event with the new state; history shows latest text and edited_at", async () => {
    const { b, ca, cb, cc, g } = await trio();
    const b2 = await connect(await addDevice(server, b.user.id, "laptop"));
    const m = await send(cb, g, "helo");
    const before = Date.now();
    const r = await cb.call("editMessage", { channel: g, seq: m.seq, content: "hello" });
    expect(r.message).toMatchObject({ id: m.id, seq: m.seq, content: "hello", deleted_at: null, reactions: [] });
    expect(r.message.edited_at).toBeGreaterThanOrEqual(before);
    for (const c of [ca, cb, cc, b2]) {
      const ev: any = await c.event(isChange("edit"), 5000, "edit event");
      expect(ev).toMatchObject({ channel: g, seq: m.seq, change_seq: m.seq + 1, message: r.message });
      expect(ev.change).toMatchObject({ seq: m.seq + 1, type: "change", sender: b.user.id, reply_to: m.id });
      expect(JSON.parse(ev.change.content)).toEqual({ op: "edit", content: "hello" });
    }
    const hist = await allMessages(ca, g);
    expect(hist.map((x: any) => [x.seq, x.type])).toEqual([[m.seq, "text"], [m.seq + 1, "change"]]);
    expect(hist[0]).toMatchObject({ content: "hello", edited_at: r.message.edited_at });
    // getAll: the last message is the edited one, the change is not unread.
    const chan = (await ca.call("getAll")).channels.find((c: any) => c.id === g);
    expect(chan).toMatchObject({ last_seq: m.seq + 1, unread: 1, last_message: { seq: m.seq, content: "hello" } });
  });

  test("refusals: someone else's, missing seq, a change entry, media, empty and oversized content; nothing changes", async () => {
    const { a, ca, cb, g } = await trio();
    const m = await send(cb, g, "mine");
    const pic = await uploadOk(server, a.token, bytes(300, 4));
    const media = (await sendMedia(server, a, { channel: g }, pic.id)).body.message;
    const snapshot = async () => JSON.stringify(await allMessages(ca, g));
    const before = await snapshot();
    expectError(await ca.request("editMessage", { channel: g, seq: m.seq, content: "x" }), "forbidden"); // even an admin
    expectError(await cb.request("editMessage", { channel: g, seq: 99, content: "x" }), "not_found");
    expectError(await cb.request("editMessage", { channel: g, seq: 0, content: "x" }), "not_found");
    expectError(await ca.request("editMessage", { channel: g, seq: media.seq, content: "x" }), "bad_request");
    expectError(await cb.request("editMessage", { channel: g, seq: m.seq, content: "" }), "bad_request");
    expectError(await cb.request("editMessage", { channel: g, seq: m.seq, content: "x".repeat(64 * 1024 + 1) }), "too_large");
    expectError(await cb.request("editMessage", { channel: g, seq: m.seq }), "bad_request");
    expectError(await cb.request("editMessage", { channel: "g_nope", seq: 1, content: "x" }), "not_found");
    const outsider = await connect(await makeUser(server, "Out"));
    expectError(await outsider.request("editMessage", { channel: g, seq: m.seq, content: "x" }), "forbidden");
    expect(await snapshot()).toBe(before);
    // Exactly the largest content is accepted; a change entry is not a target.
    const big = await cb.call("editMessage", { channel: g, seq: m.seq, content: "y".repeat(64 * 1024) });
    expect(big.message.content.length).toBe(64 * 1024);
    expectError(await cb.request("react", { channel: g, seq: m.seq + 1 + 1, emoji: "👍" }), "not_found");
  });

  test("a message sent before a member joined is not theirs to read: not_found", async () => {
    const { a, ca, g } = await trio();
    const early = await send(ca, g, "before you");
    const d = await makeUser(server, "Dee");
    await ca.call("addMembers", { channel: g, members: [d.user.id] });
    const cd = await connect(d);
    expectError(await cd.request("react", { channel: g, seq: early.seq, emoji: "👍" }), "not_found");
    expectError(await cd.request("deleteMessage", { channel: g, seq: early.seq, scope: "me" }), "not_found");
    void a;
  });
});

describe("the window", () => {
  test("after --edit-window-ms: window_closed for the sender's edit and delete; an admin still deletes; nothing changes", async () => {
    const s = await startServer({ args: ["--edit-window-ms", "1"] });
    try {
      const a = await makeUser(s, "Adm");
      const b = await makeUser(s, "Bea");
      const g = (await makeGroup(s, a, [b])).id;
      const m = (await api(s, b.token, "sendMessage", { channel: g, client_id: "1", type: "text", content: "t" })).body.message;
      await sleep(20); // well past 1 ms
      expectHttpError(await api(s, b.token, "editMessage", { channel: g, seq: m.seq, content: "u" }), 403, "window_closed");
      expectHttpError(await api(s, b.token, "deleteMessage", { channel: g, seq: m.seq, scope: "everyone" }), 403, "window_closed");
      const hist = (await api(s, b.token, "getMessages", { channel: g })).body.messages;
      expect(hist.map((x: any) => [x.seq, x.content, x.edited_at, x.deleted_at])).toEqual([[1, "t", null, null]]);
      // Reactions and delete-for-me have no window; a group admin deletes anyone's at any time.
      expect((await api(s, b.token, "react", { channel: g, seq: 1, emoji: "👍" })).status).toBe(200);
      expect((await api(s, a.token, "deleteMessage", { channel: g, seq: 1, scope: "everyone" })).status).toBe(200);
      const after = (await api(s, b.token, "getMessages", { channel: g })).body.messages;
      expect(after[0]).toMatchObject({ seq: 1, content: "", media: null, reactions: [] });
      expect(after[0].deleted_at).toBeNumber();
    } finally {
      await s.cleanup();
    }
  });
});

describe("delete", () => {
  test("for everyone: a tombstone keeps its seq; events to all; edit and react refused after; a second delete changes nothing", async () => {
    const { b, ca, cb, cc, g } = await trio();
    const m = await send(cb, g, "oops wrong chat");
    await cb.call("editMessage", { channel: g, seq: m.seq, content: "oops, still wrong" });
    await cc.call("react", { channel: g, seq: m.seq, emoji: "😮" });
    expect(await cb.call("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" })).toMatchObject({ ok: true });
    for (const c of [ca, cb, cc]) {
      const ev: any = await c.event(isChange("delete"), 5000, "delete event");
      expect(ev).toMatchObject({ channel: g, seq: m.seq, change_seq: m.seq + 3, scope: "everyone", message: { content: "", media: null, reactions: [] } });
      expect(ev.message.deleted_at).toBeNumber();
    }
    const hist = await allMessages(ca, g);
    expect(hist.map((x: any) => [x.seq, x.type])).toEqual([[1, "text"], [2, "change"], [3, "change"], [4, "change"]]);
    expect(hist[0]).toMatchObject({ id: m.id, sender: b.user.id, content: "", media: null, reactions: [] });
    // No earlier text anywhere in history: the edit entry's content is cleared.
    expect(JSON.stringify(hist)).not.toContain("oops");
    const mark = cb.mark();
    expect(await cb.call("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" })).toMatchObject({ ok: true });
    expectError(await cb.request("editMessage", { channel: g, seq: m.seq, content: "x" }), "conflict");
    expectError(await cc.request("react", { channel: g, seq: m.seq, emoji: "👍" }), "conflict");
    expectError(await cc.request("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" }), "forbidden"); // not theirs, deleted or not
    expect((await allMessages(ca, g)).length).toBe(4);
    await sleep(200);
    expect(cb.eventsSince(mark, (e) => e.ev === "delete")).toEqual([]);
  });

  test("someone else's (not an admin): forbidden; a group admin may; in a direct chat no one but the sender", async () => {
    const { ca, cb, cc, g } = await trio();
    const m = await send(cb, g, "hi");
    expectError(await cc.request("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" }), "forbidden");
    expectError(await cc.request("deleteMessage", { channel: g, seq: m.seq, scope: "all" }), "bad_request");
    await ca.call("deleteMessage", { channel: g, seq: m.seq, scope: "everyone" });
    expect((await allMessages(cc, g))[0].deleted_at).toBeNumber();
    const x = await makeUser(server, "Xa");
    const y = await makeUser(server, "Yo");
    const cx = await connect(x);
    const cy = await connect(y);
    const d = (await cx.call("sendMessage", { to: y.user.id, client_id: "1", type: "text", content: "direct" })).message;
    expectError(await cy.request("deleteMessage", { channel: d.channel, seq: d.seq, scope: "everyone" }), "forbidden");
    expectError(await cy.request("editMessage", { channel: d.channel, seq: d.seq, content: "no" }), "forbidden");
  });

  test("for me: hidden on all my devices (live and in history), not for others; no one else sees the entry", async () => {
    const { b, ca, cb, cc, g } = await trio();
    const b2 = await connect(await addDevice(server, b.user.id, "tablet"));
    const m1 = await send(ca, g, "keep");
    const m2 = await send(ca, g, "hide me");
    const markA = ca.mark();
    const markC = cc.mark();
    await cb.call("deleteMessage", { channel: g, seq: m2.seq, scope: "me" });
    for (const c of [cb, b2]) {
      const ev: any = await c.event(isChange("delete"), 5000, "delete-for-me event");
      expect(ev).toMatchObject({ channel: g, seq: m2.seq, change_seq: m2.seq + 1, scope: "me" });
    }
    const m3 = await send(ca, g, "after");
    for (const c of [cb, b2]) expect((await allMessages(c, g)).map((x: any) => x.seq)).toEqual([m1.seq, m2.seq + 1, m3.seq]);
    for (const c of [ca, cc]) expect((await allMessages(c, g)).map((x: any) => x.seq)).toEqual([m1.seq, m2.seq, m3.seq]);
    expect(ca.eventsSince(markA, (e) => e.ev === "delete")).toEqual([]);
    expect(cc.eventsSince(markC, (e) => e.ev === "delete")).toEqual([]);
    // A device of b that logs in later sees it hidden too; the last message skips it.
    const b3 = await connect(await addDevice(server, b.user.id, "new phone"));
    expect((await allMessages(b3, g)).map((x: any) => x.seq)).toEqual([m1.seq, m2.seq + 1, m3.seq]);
    await cb.call("deleteMessage", { channel: g, seq: m3.seq, scope: "me" });
    expect((await b3.call("getAll")).channels.find((c: any) => c.id === g).last_message.seq).toBe(m1.seq);
    // Hiding again changes nothing (no new entry).
    await cb.call("deleteMessage", { channel: g, seq: m3.seq, scope: "me" });
    expect((await allMessages(cb, g)).length).toBe(3);
  });

  test("media: a deleted message's media is gone (404, blob removed) unless another message carries it", async () => {
    const { a, ca, cc, g } = await trio();
    const only = await uploadOk(server, a.token, bytes(5000, 77));
    const shared = await uploadOk(server, a.token, bytes(5000, 78));
    const m1 = (await sendMedia(server, a, { channel: g }, only.id)).body.message;
    const m2 = (await sendMedia(server, a, { channel: g }, shared.id)).body.message;
    await sendMedia(server, a, { channel: g }, shared.id); // the same media again
    const blobs = filesUnder(server, "blobs").length;
    expect((await download(server, a.token, only.id)).status).toBe(200);
    await ca.call("deleteMessage", { channel: g, seq: m1.seq, scope: "everyone" });
    await ca.call("deleteMessage", { channel: g, seq: m2.seq, scope: "everyone" });
    const hist = await allMessages(cc, g);
    expect(hist.find((x: any) => x.seq === m1.seq)).toMatchObject({ media: null, content: "" });
    expect((await download(server, a.token, only.id)).status).toBe(404);
    expect((await download(server, a.token, shared.id)).status).toBe(200);
    expect(filesUnder(server, "blobs").length).toBe(blobs - 1);
  });
});

describe("reactions", () => {
  test("one per user, changed and removed, live to all and in history as counts with who; bad emoji refused", async () => {
    const { a, b, c, ca, cb, cc, g } = await trio();
    const m = await send(ca, g, "party?");
    await cb.call("react", { channel: g, seq: m.seq, emoji: "👍" });
    await cc.call("react", { channel: g, seq: m.seq, emoji: "👍" });
    await ca.call("react", { channel: g, seq: m.seq, emoji: "🎉" });
    const ev: any = await ca.event((e: any) => e.ev === "reaction" && e.change_seq === m.seq + 3, 5000, "third reaction");
    expect(ev).toMatchObject({ channel: g, seq: m.seq, user: a.user.id, emoji: "🎉" });
    expect(ev.message.reactions).toEqual([{ emoji: "👍", users: [b.user.id, c.user.id] }, { emoji: "🎉", users: [a.user.id] }]);
    await cb.call("react", { channel: g, seq: m.seq, emoji: "🎉" }); // changed
    await cc.call("react", { channel: g, seq: m.seq, emoji: "" }); // removed
    await ca.event(isChange("reaction", m.seq + 5), 5000, "the removal");
    const mark = ca.mark();
    await cc.call("react", { channel: g, seq: m.seq, emoji: "" }); // nothing to remove: no entry, no event
    const hist = await allMessages(cb, g);
    expect(hist[0].reactions).toEqual([{ emoji: "🎉", users: [a.user.id, b.user.id] }]);
    expect(hist.length).toBe(1 + 5);
    for (const bad of ["a", "👍👍", "👍 ", ":)", "x".repeat(65)]) expectError(await cb.request("react", { channel: g, seq: m.seq, emoji: bad }), "bad_request");
    expectError(await cb.request("react", { channel: g, seq: m.seq + 100, emoji: "👍" }), "not_found");
    expect((await allMessages(cb, g)).length).toBe(1 + 5);
    await sleep(200);
    expect(ca.eventsSince(mark, (e) => e.ev === "reaction")).toEqual([]);
    // Complex single emoji are fine.
    for (const ok of ["👨‍👩‍👧‍👦", "🇳🇱", "👍🏽", "1️⃣"]) await cb.call("react", { channel: g, seq: m.seq, emoji: ok });
  });
});

describe("catch-up", () => {
  test("a device offline during edits, deletes and reactions gets every change entry by seq after reconnecting", async () => {
    const { b, ca, cb, g } = await trio();
    const m1 = await send(ca, g, "one");
    const m2 = await send(ca, g, "two");
    const m3 = await send(ca, g, "three");
    const offDev = await addDevice(server, b.user.id, "offline");
    const off = await connect(offDev);
    const seen = (await allMessages(off, g)).at(-1).seq;
    off.close();
    await ca.call("editMessage", { channel: g, seq: m1.seq, content: "ONE" });
    await ca.call("deleteMessage", { channel: g, seq: m2.seq, scope: "everyone" });
    await cb.call("react", { channel: g, seq: m3.seq, emoji: "❤️" });
    await cb.call("deleteMessage", { channel: g, seq: m1.seq, scope: "me" });
    const back = await connect(offDev);
    const page = (await back.call("getMessages", { channel: g, after_seq: seen, limit: 200 })).messages;
    expect(page.map((x: any) => [x.seq, x.type, JSON.parse(x.content).op, x.reply_to])).toEqual([
      [m3.seq + 1, "change", "edit", m1.id],
      [m3.seq + 2, "change", "delete", m2.id],
      [m3.seq + 3, "change", "react", m3.id],
      [m3.seq + 4, "change", "hide", m1.id],
    ]);
    // The HTTP mirror answers the same, and the messages' current state is there without re-download of anything else.
    const http = (await api(server, b.token, "getMessages", { channel: g, after_seq: m1.seq - 1, limit: 3 })).body.messages;
    expect(http.map((x: any) => [x.seq, x.content, x.deleted_at !== null, x.reactions])).toEqual([
      [m2.seq, "", true, []],
      [m3.seq, "three", false, [{ emoji: "❤️", users: [b.user.id] }]],
      [m3.seq + 1, JSON.stringify({ op: "edit", content: "ONE" }), false, []],
    ]);
  });
});
