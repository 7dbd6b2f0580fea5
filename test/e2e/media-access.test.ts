// Who may download and send a media id: the uploader, and members of a channel
// where a message carries it, for messages inside their membership. Everyone
// else gets 404 with the same body as for an id that does not exist.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { addDevice, api, makeUser, startServer, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { bytes, download, sendMedia, sha256hex, uploadOk } from "./media-helpers.ts";

const T = 60_000;

describe("media access", () => {
  let server: TestServer;
  let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser, eve: TestUser;
  let group: string;

  const status = async (u: TestUser, id: string) => {
    const r = await download(server, u.token, id);
    await r.arrayBuffer();
    return r.status;
  };

  beforeAll(async () => {
    server = await startServer();
    [alice, bob, carol, dave, eve] = await Promise.all(["Alice", "Bob", "Carol", "Dave", "Eve"].map((n) => makeUser(server, n)));
    const g = await api(server, alice.token, "createGroup", { name: "Photos", members: [bob.user.id, carol.user.id] });
    expect(g.status).toBe(200);
    group = g.body.channel.id;
  }, T);
  afterAll(async () => {
    await server?.cleanup();
  });

  test("before it is sent, only the uploader (any of their devices) can download; a stranger's 404 looks like a missing id", async () => {
    const m = await uploadOk(server, alice.token, bytes(5000, 1));
    expect(await status(alice, m.id)).toBe(200);
    const laptop = await addDevice(server, alice.user.id, "laptop");
    expect(await status(laptop, m.id)).toBe(200);
    for (const u of [bob, carol, dave]) expect(await status(u, m.id)).toBe(404);
    const hidden = await download(server, bob.token, m.id);
    const missing = await download(server, bob.token, "m_" + "a".repeat(24));
    expect(hidden.status).toBe(missing.status);
    // Alike but for the request id, which each error has its own of.
    const bare = async (r: Response) => (await r.text()).replace(/"request_id":"[0-9a-f]+"/, "");
    expect(await bare(hidden)).toBe(await bare(missing));
    const info = await fetch(`${server.url}/api/media/${m.id}/info`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(info.status).toBe(404);
  }, T);

  test("sending someone else's media id is refused with not_found, and grants nothing", async () => {
    const m = await uploadOk(server, alice.token, bytes(5000, 2));
    const r = await sendMedia(server, bob, { to: dave.user.id }, m.id);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
    const made = await sendMedia(server, bob, { to: dave.user.id }, "m_" + "z".repeat(24));
    expect(made.status).toBe(404);
    expect(await status(dave, m.id)).toBe(404);
    expect(await status(bob, m.id)).toBe(404);
  }, T);

  test("once sent in a group, every member downloads it byte-exact; non-members still get 404", async () => {
    const data = bytes(2 * 1024 * 1024, 3);
    const m = await uploadOk(server, alice.token, data, { "x-filename": "holiday.bin" });
    const ws = await WsClient.connect(server, bob.token);
    const r = await sendMedia(server, alice, { channel: group }, m.id, "image");
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({ type: "image", media: m.id, content: "caption" });
    // The moment the message event arrives, the download works.
    const ev = await ws.event((e) => e.ev === "message" && (e as any).message.media === m.id);
    const res = await download(server, bob.token, (ev as any).message.media);
    expect(res.status).toBe(200);
    expect(sha256hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256hex(data));
    ws.close();
    expect(await status(carol, m.id)).toBe(200);
    expect(await status(dave, m.id)).toBe(404);
  }, T);

  test("a member who may download it may send it on (forward); the new chat's member can then download", async () => {
    const m = await uploadOk(server, alice.token, bytes(3000, 4));
    expect((await sendMedia(server, alice, { channel: group }, m.id)).status).toBe(200);
    expect(await status(dave, m.id)).toBe(404);
    const fwd = await sendMedia(server, bob, { to: dave.user.id }, m.id);
    expect(fwd.status).toBe(200);
    expect(await status(dave, m.id)).toBe(200);
    expect(await status(eve, m.id)).toBe(404);
  }, T);

  test("a removed member gets 404 for media shared after the removal, keeps what was shared before", async () => {
    const g = await api(server, alice.token, "createGroup", { name: "Team", members: [bob.user.id, carol.user.id] });
    const team = g.body.channel.id;
    const before = await uploadOk(server, alice.token, bytes(4000, 5));
    expect((await sendMedia(server, alice, { channel: team }, before.id)).status).toBe(200);
    expect((await api(server, alice.token, "removeMember", { channel: team, user: carol.user.id })).status).toBe(200);
    const after = await uploadOk(server, alice.token, bytes(4000, 6));
    expect((await sendMedia(server, alice, { channel: team }, after.id)).status).toBe(200);
    expect(await status(bob, after.id)).toBe(200);
    expect(await status(carol, after.id)).toBe(404);
    expect(await status(carol, before.id)).toBe(200);
    // Nor can the removed member send it anywhere.
    expect((await sendMedia(server, carol, { to: dave.user.id }, after.id)).status).toBe(404);
  }, T);

  test("a member who joins later cannot download what was sent before they joined, only what comes after", async () => {
    const old = await uploadOk(server, alice.token, bytes(4000, 7));
    expect((await sendMedia(server, alice, { channel: group }, old.id)).status).toBe(200);
    expect((await api(server, alice.token, "addMembers", { channel: group, members: [eve.user.id] })).status).toBe(200);
    expect(await status(eve, old.id)).toBe(404);
    const fresh = await uploadOk(server, alice.token, bytes(4000, 8));
    expect((await sendMedia(server, alice, { channel: group }, fresh.id)).status).toBe(200);
    expect(await status(eve, fresh.id)).toBe(200);
    // Sending it again later in the same channel makes it visible to her too.
    expect((await sendMedia(server, bob, { channel: group }, old.id)).status).toBe(200);
    expect(await status(eve, old.id)).toBe(200);
  }, T);

  test("a send that fails (not a member of the channel) grants that channel's members nothing", async () => {
    const g = await api(server, bob.token, "createGroup", { name: "Bob's", members: [dave.user.id] });
    const m = await uploadOk(server, alice.token, bytes(4000, 9));
    const r = await sendMedia(server, alice, { channel: g.body.channel.id }, m.id);
    expect(r.status).toBe(403);
    expect(await status(dave, m.id)).toBe(404);
  }, T);

  test("direct chats: sending with `to` shares it with the other person", async () => {
    const m = await uploadOk(server, carol.token, bytes(4000, 10));
    expect(await status(eve, m.id)).toBe(404);
    expect((await sendMedia(server, carol, { to: eve.user.id }, m.id, "video")).status).toBe(200);
    expect(await status(eve, m.id)).toBe(200);
  }, T);

  test("a media message needs a media id; a text message cannot carry one", async () => {
    const m = await uploadOk(server, alice.token, bytes(100, 11));
    const noMedia = await api(server, alice.token, "sendMessage", { channel: group, client_id: "x1", type: "image", content: "hi" });
    expect(noMedia.status).toBe(400);
    const textWith = await api(server, alice.token, "sendMessage", { channel: group, client_id: "x2", type: "text", content: "hi", media: m.id });
    expect(textWith.status).toBe(400);
  }, T);
});
