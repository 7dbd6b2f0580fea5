// One storage test suite, run against every Store implementation
// (sqlite.test.ts: bun:sqlite shards; libsql.test.ts: libSQL on a local
// file: URL). It pins the Store contract from types.ts: what each method
// returns, which errors it throws, and that writes survive a reopen.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatterError } from "../../protocol/index.ts";
import type { ChannelRow, MediaRow, NewInvite, NewMessage, Store } from "./types.ts";

/** Opens (creating if needed) a store whose data lives under `dir`. */
export type OpenStore = (dir: string) => Promise<Store>;

const user = (id: string, phone: string, created_at = 1000) => ({ id, name: id.toUpperCase(), phone, created_at, last_seen: null });
const channel = (id: string, kind: "direct" | "group" = "group", created_at = 1000): ChannelRow => ({
  id,
  kind,
  name: id,
  description: "",
  avatar_url: "",
  join: "invite",
  created_at,
  created_by: "u1",
  last_seq: 0,
});
const msg = (ch: string, sender: string, client_id: string, extra: Partial<NewMessage> = {}): NewMessage => ({
  channel: ch,
  sender,
  client_id,
  type: "text",
  content: `hello ${client_id}`,
  media: null,
  reply_to: null,
  sent_at: 5000,
  ...extra,
});
const media = (id: string, uploader: string, sha: string, created_at = 1000, size = 10): MediaRow => ({
  id,
  uploader,
  sha256: sha,
  size,
  mime: "image/png",
  name: "a.png",
  width: 2,
  height: 3,
  created_at,
  sent: 0,
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof NatterError ? e.code : `not a NatterError: ${String(e)}`;
  }
  return "no error";
}

export function storeSuite(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    const dirs: string[] = [];
    const opened: Store[] = [];
    afterAll(async () => {
      for (const s of opened) await s.close().catch(() => {});
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    async function fresh(): Promise<{ store: Store; dir: string }> {
      const dir = mkdtempSync(join(tmpdir(), "natter-store-"));
      dirs.push(dir);
      const store = await open(dir);
      opened.push(store);
      return { store, dir };
    }

    test("users: create, look up by id and phone, list in creation order, last seen, phone conflict", async () => {
      const { store } = await fresh();
      await store.createUser(user("u2", "+2", 2000));
      await store.createUser(user("u1", "+1", 1000));
      expect(await store.getUser("u1")).toEqual(user("u1", "+1", 1000));
      expect((await store.userByPhone("+2"))?.id).toBe("u2");
      expect(await store.userByPhone("+9")).toBeNull();
      expect(await store.getUser("nope")).toBeNull();
      expect((await store.listUsers()).map((u) => u.id)).toEqual(["u1", "u2"]);
      expect(await code(store.createUser(user("u3", "+1")))).toBe("conflict");
      expect(await store.getUser("u3")).toBeNull();
      await store.setLastSeen("u1", 4242);
      expect((await store.getUser("u1"))?.last_seen).toBe(4242);
    });

    test("two registrations of one phone at once: the first wins, the second gets conflict", async () => {
      const { store } = await fresh();
      // With 4 shards, "+1" lives apart from u1 and u2 (the claim commits before the user row)
      // and "+3" with u5 and u9 (one commit); with one shard, every pair shares it.
      for (const [phone, a, b] of [
        ["+1", "u1", "u2"],
        ["+3", "u5", "u9"],
      ] as const) {
        const both = await Promise.all([code(store.createUser(user(a, phone))), code(store.createUser(user(b, phone)))]);
        expect(both).toEqual(["no error", "conflict"]);
        expect((await store.userByPhone(phone))?.id).toBe(a);
        expect(await store.getUser(b)).toBeNull();
      }
      expect((await store.listUsers()).map((u) => u.id)).toEqual(["u1", "u5"]);
    });

    test("login codes: consumed once; an expired code yields nothing", async () => {
      const { store } = await fresh();
      await store.createUser(user("u1", "+1"));
      await store.createLoginCode("h1", "u1", 10_000);
      await store.createLoginCode("h2", "u1", 10_000);
      expect(await store.consumeLoginCode("h1", 9_000)).toBe("u1");
      expect(await store.consumeLoginCode("h1", 9_000)).toBeNull();
      expect(await store.consumeLoginCode("h2", 10_001)).toBeNull();
      expect(await store.consumeLoginCode("h2", 1)).toBeNull();
      // Valid up to and including its expiry time.
      await store.createLoginCode("h3", "u1", 10_000);
      expect(await store.consumeLoginCode("h3", 10_000)).toBe("u1");
    });

    test("devices and tokens: create, find, list, revoke; a revoked token is dead; deleting a user frees the phone", async () => {
      const { store } = await fresh();
      await store.createUser(user("u1", "+1"));
      await store.createUser(user("u2", "+2"));
      await store.createDevice({ id: "d1", user_id: "u1", name: "phone", created_at: 1 }, "t1");
      await store.createDevice({ id: "d2", user_id: "u1", name: "laptop", created_at: 2 }, "t2");
      await store.createDevice({ id: "d3", user_id: "u2", name: "x", created_at: 3 }, "t3");
      expect(await store.deviceByToken("t2")).toEqual({ user_id: "u1", device_id: "d2" });
      expect(await store.deviceByToken("nope")).toBeNull();
      expect(await store.getDevice("u1", "d1")).toEqual({ id: "d1", user_id: "u1", name: "phone", created_at: 1 });
      expect(await store.getDevice("u2", "d1")).toBeNull();
      expect((await store.listDevices("u1")).map((d) => d.id)).toEqual(["d1", "d2"]);
      expect((await store.findDevice("d3"))?.user_id).toBe("u2");
      expect(await store.revokeDevice("d1")).toBe(true);
      expect(await store.revokeDevice("d1")).toBe(false);
      expect(await store.deviceByToken("t1")).toBeNull();
      expect((await store.listDevices("u1")).map((d) => d.id)).toEqual(["d2"]);

      await store.addUserChannels("u1", ["c1"]);
      await store.deleteUser("nobody"); // nothing to do
      await store.deleteUser("u1");
      expect(await store.getUser("u1")).toBeNull();
      expect(await store.deviceByToken("t2")).toBeNull();
      expect(await store.listDevices("u1")).toEqual([]);
      expect(await store.userChannels("u1")).toEqual([]);
      expect(await store.userByPhone("+1")).toBeNull();
      await store.createUser(user("u9", "+1"));
      expect((await store.userByPhone("+1"))?.id).toBe("u9");
      expect(await store.deviceByToken("t3")).toEqual({ user_id: "u2", device_id: "d3" });
    });

    test("channels: create is idempotent, members change atomically, group_full changes nothing, an admin remains", async () => {
      const { store } = await fresh();
      const s = await store.createChannel(channel("c1"), [
        { user: "u1", role: "admin" },
        { user: "u2", role: "member" },
      ]);
      expect(s.channel).toEqual(channel("c1"));
      expect(s.members.map((m) => [m.user_id, m.role, m.joined_seq, m.left_seq])).toEqual([
        ["u1", "admin", 0, null],
        ["u2", "member", 0, null],
      ]);
      const again = await store.createChannel({ ...channel("c1"), name: "other" }, [{ user: "u9", role: "admin" }]);
      expect(again.channel.name).toBe("c1");
      expect(again.members.length).toBe(2);
      expect(await store.getChannel("nope")).toBeNull();
      await store.createChannel(channel("c0", "direct", 500), []);
      expect((await store.listChannels()).map((c) => c.id)).toEqual(["c0", "c1"]);

      await store.appendMessage(msg("c1", "u1", "a"));
      const added = await store.changeMembers("c1", { kind: "add", users: ["u3", "u3", "u1"], role: "member", at: 1, max: 3 });
      const u3 = added.members.find((m) => m.user_id === "u3")!;
      expect([u3.joined_seq, u3.delivered_seq, u3.seen_seq, u3.left_seq]).toEqual([1, 1, 1, null]);
      expect(await code(store.changeMembers("c1", { kind: "add", users: ["u4"], role: "member", at: 1, max: 3 }))).toBe("group_full");
      expect((await store.getChannel("c1"))!.members.length).toBe(3);
      expect(await code(store.changeMembers("c1", { kind: "remove", user: "u9", at: 1 }))).toBe("not_found");
      expect(await code(store.changeMembers("nope", { kind: "remove", user: "u1", at: 1 }))).toBe("not_found");

      // Removing a member while an admin remains promotes no one.
      const kept = await store.changeMembers("c1", { kind: "remove", user: "u3", at: 2 });
      expect(kept.members.filter((m) => m.role === "admin").map((m) => m.user_id)).toEqual(["u1"]);
      await store.changeMembers("c1", { kind: "add", users: ["u3"], role: "member", at: 2, max: 3 });

      const removed = await store.changeMembers("c1", { kind: "remove", user: "u1", at: 2 });
      const u1 = removed.members.find((m) => m.user_id === "u1")!;
      expect([u1.left_seq, u1.role]).toEqual([1, "member"]);
      // The longest-standing remaining member became admin.
      expect(removed.members.find((m) => m.user_id === "u2")!.role).toBe("admin");
      // Rejoining clears left_seq.
      const back = await store.changeMembers("c1", { kind: "add", users: ["u1"], role: "member", at: 3, max: 3 });
      expect(back.members.find((m) => m.user_id === "u1")!.left_seq).toBeNull();

      await store.addUserChannels("u1", ["c1", "c0"]);
      await store.addUserChannels("u1", ["c1"]);
      await store.addUserChannels("u1", []);
      expect((await store.userChannels("u1")).sort()).toEqual(["c0", "c1"]);
    });

    test("invites: a join counts one use in the commit that adds the member; expired, used up, revoked and other channels' invites refuse; removal bars", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("c1"), [{ user: "u1", role: "admin" }]);
      await store.createChannel(channel("c2"), [{ user: "u1", role: "admin" }]);
      const invite = (code: string, extra: Partial<NewInvite> = {}): NewInvite => ({ code, channel: "c1", by: "u1", at: 10, expires_at: 1000, max_uses: 2, ...extra });
      await store.createInvite(invite("inv1"));
      await store.createInvite(invite("inv2", { by: "u2", at: 20 }));
      await store.createInvite(invite("other", { channel: "c2" }));
      const refusal = async (p: Promise<unknown>) => {
        const e = await p.then(() => null, (x: NatterError) => x);
        return e && [e.code, e.message];
      };
      const members = async () => (await store.getChannel("c1"))!.members.filter((m) => m.left_seq === null).map((m) => m.user_id).sort();
      const uses = async () => (await store.liveInvites("c1", 0)).map((i) => [i.code, i.uses]);

      expect(await refusal(store.joinByInvite("c1", "other", "u3", 50, 100))).toEqual(["forbidden", "not an invite of this group"]);
      expect(await refusal(store.joinByInvite("c1", "inv1", "u3", 1000, 100))).toEqual(["forbidden", "this invite has expired"]);
      expect((await store.joinByInvite("c1", "inv1", "u3", 999, 100)).members.map((m) => m.user_id)).toContain("u3");
      // A current member joining again costs no use; group_full undoes the whole join.
      await store.joinByInvite("c1", "inv1", "u3", 999, 100);
      expect(await refusal(store.joinByInvite("c1", "inv1", "u4", 50, 2))).toEqual(["group_full", "a group holds at most 2 members (it has 2)"]);
      expect(await uses()).toEqual([["inv1", 1], ["inv2", 0]]);
      await store.joinByInvite("c1", "inv1", "u4", 50, 100);
      expect(await refusal(store.joinByInvite("c1", "inv1", "u5", 50, 100))).toEqual(["forbidden", "this invite is used up (2 of 2 uses)"]);
      expect(await uses()).toEqual([["inv2", 0]]); // inv1 is no longer live

      expect(await store.revokeInvite("c1", "nope", 60)).toBe(false);
      expect(await store.revokeInvite("c2", "inv1", 60)).toBe(false);
      await store.createInvite(invite("inv3", { at: 30 }));
      expect(await store.revokeInvite("c1", "inv3", 60)).toBe(true);
      expect(await store.revokeInvite("c1", "inv3", 61)).toBe(true);
      expect(await refusal(store.joinByInvite("c1", "inv3", "u5", 70, 100))).toEqual(["forbidden", "this invite was revoked"]);
      expect(await store.liveInvites("c1", 0)).toEqual([
        { code: "inv2", channel_id: "c1", created_by: "u2", created_at: 20, expires_at: 1000, max_uses: 2, uses: 0, revoked_at: null },
      ]);
      expect(await store.liveInvites("c1", 1000)).toEqual([]);

      // Removal (by an admin) revokes the removed user's invites and bars them from invites made up to then.
      // Ordered by commit, not clock: "before" and "after" share the removal's millisecond.
      await store.joinByInvite("c1", "inv2", "u2", 50, 100);
      await store.createInvite(invite("before", { at: 80 }));
      expect(await refusal(store.removeAndBar("c1", "u9", 80))).toEqual(["not_found", "not a member of this group"]);
      expect((await store.removeAndBar("c1", "u2", 80)).members.find((m) => m.user_id === "u2")!.left_seq).toBe(0);
      expect((await store.liveInvites("c1", 0)).map((i) => i.code)).toEqual(["before"]);
      expect(await refusal(store.joinByInvite("c1", "inv2", "u6", 90, 100))).toEqual(["forbidden", "this invite was revoked"]);
      await store.createInvite(invite("after", { at: 80 }));
      expect((await refusal(store.joinByInvite("c1", "before", "u2", 90, 100)))![1]).toContain("you were removed from this group");
      expect(await members()).toEqual(["u1", "u3", "u4"]);
      await store.joinByInvite("c1", "after", "u2", 90, 100);
      expect(await members()).toEqual(["u1", "u2", "u3", "u4"]);
      // Leaving (changeMembers) bars nothing.
      await store.changeMembers("c1", { kind: "remove", user: "u3", at: 95 });
      await store.joinByInvite("c1", "before", "u3", 96, 100);
      expect(await uses()).toEqual([["before", 1], ["after", 1]]);
    });

    test("messages: dense seq, duplicates return the original, non-members refused, ranges and pages", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("c1"), [
        { user: "u1", role: "admin" },
        { user: "u2", role: "member" },
      ]);
      const first = await store.appendMessage(msg("c1", "u1", "a", { reply_to: null }));
      expect(first.duplicate).toBe(false);
      expect(first.message).toEqual({ ...msg("c1", "u1", "a"), seq: 1, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [] });
      const dup = await store.appendMessage(msg("c1", "u1", "a", { content: "changed" }));
      expect(dup.duplicate).toBe(true);
      expect(dup.message.seq).toBe(1);
      expect(dup.message.content).toBe("hello a");
      expect(await code(store.appendMessage(msg("c1", "u9", "x")))).toBe("forbidden");
      for (let i = 2; i <= 10; i++) await store.appendMessage(msg("c1", i % 2 ? "u1" : "u2", `m${i}`));
      expect((await store.getChannel("c1"))!.channel.last_seq).toBe(10);
      expect((await store.getMessage("c1", 4))?.client_id).toBe("m4");
      expect(await store.getMessage("c1", 11)).toBeNull();

      const latest = await store.messages("c1", { limit: 3, newest: true });
      expect(latest.rows.map((m) => m.seq)).toEqual([8, 9, 10]);
      expect(latest.has_more).toBe(true);
      const before = await store.messages("c1", { before_seq: 8, limit: 3, newest: true });
      expect(before.rows.map((m) => m.seq)).toEqual([5, 6, 7]);
      const after = await store.messages("c1", { after_seq: 7, limit: 5, newest: false });
      expect(after.rows.map((m) => m.seq)).toEqual([8, 9, 10]);
      expect(after.has_more).toBe(false);
      const window = await store.messages("c1", { after_seq: 2, before_seq: 6, limit: 10, newest: false });
      expect(window.rows.map((m) => m.seq)).toEqual([3, 4, 5]);

      // u2 sent 2,4,6,8,10; u1 sent 1,3,5,7,9.
      expect(await store.countUnread("c1", "u2", 0, 10)).toBe(5);
      expect(await store.countUnread("c1", "u2", 5, 10)).toBe(2);
      expect(await store.countUnread("c1", "u2", 10, 10)).toBe(0);

      // A member who left cannot send; a resend of what they sent while a member is answered with the original.
      await store.changeMembers("c1", { kind: "remove", user: "u2", at: 1 });
      expect(await code(store.appendMessage(msg("c1", "u2", "late")))).toBe("forbidden");
      const resent = await store.appendMessage(msg("c1", "u2", "m4"));
      expect([resent.duplicate, resent.message.seq, resent.message.sender]).toEqual([true, 4, "u2"]);
      expect((await store.getChannel("c1"))!.channel.last_seq).toBe(10);
    });

    test("changes: edit, delete, hide and react update the target and append a change row in one commit; rules refuse with nothing changed", async () => {
      const { store, dir } = await fresh();
      await store.createChannel(channel("g1"), [
        { user: "u1", role: "admin" },
        { user: "u2", role: "member" },
        { user: "u3", role: "member" },
      ]);
      await store.appendMessage(msg("g1", "u2", "a", { sent_at: 1000 })); // 1
      await store.appendMessage(msg("g1", "u2", "pic", { type: "image", media: "m1", content: "", sent_at: 1000 })); // 2
      await store.appendMessage(msg("g1", "u3", "b", { sent_at: 1000 })); // 3
      const ask = (kind: "edit" | "delete" | "hide" | "react", seq: number, actor: string, extra: object = {}) =>
        store.applyChange({ channel: "g1", seq, actor, at: 1500, kind, windowMs: 1000, ...extra });
      const snapshot = async () => JSON.stringify([(await store.messages("g1", { limit: 50, newest: false })).rows, (await store.getChannel("g1"))!.channel.last_seq]);
      const before = await snapshot();
      // Each refusal leaves everything as it was.
      expect(await code(ask("edit", 1, "u3", { content: "x" }))).toBe("forbidden");
      expect(await code(ask("edit", 1, "u2", { content: "x", at: 2000 }))).toBe("window_closed"); // sent_at + window: closed
      expect(await code(ask("edit", 2, "u2", { content: "x" }))).toBe("bad_request"); // media
      expect(await code(ask("edit", 4, "u2", { content: "x" }))).toBe("not_found");
      expect(await code(ask("delete", 1, "u3"))).toBe("forbidden");
      expect(await code(ask("delete", 1, "u2", { at: 2000 }))).toBe("window_closed");
      expect(await code(ask("react", 1, "u9", { emoji: "👍" }))).toBe("forbidden");
      expect(await snapshot()).toBe(before);

      const edited = await ask("edit", 1, "u2", { content: "fixed", at: 1999 }); // the last ms of the window
      expect(edited.target).toMatchObject({ seq: 1, content: "fixed", edited_at: 1999, deleted_at: null });
      expect(edited.change).toMatchObject({ seq: 4, type: "change", sender: "u2", reply_to: "g1:1", sent_at: 1999 });
      expect(JSON.parse(edited.change!.content)).toEqual({ op: "edit", content: "fixed" });
      expect((await store.getChannel("g1"))!.channel.last_seq).toBe(4);
      // A change row is not a target.
      expect(await code(ask("react", 4, "u1", { emoji: "👍" }))).toBe("not_found");

      await ask("react", 1, "u1", { emoji: "👍" }); // 5
      await ask("react", 1, "u3", { emoji: "👍" }); // 6
      await ask("react", 1, "u2", { emoji: "❤️" }); // 7
      expect((await ask("react", 1, "u2", { emoji: "❤️" })).change).toBeNull(); // the same again: nothing
      const moved = await ask("react", 1, "u1", { emoji: "❤️" }); // 8
      expect(moved.target.reactions).toEqual([{ emoji: "👍", users: ["u3"] }, { emoji: "❤️", users: ["u2", "u1"] }]);
      expect((await ask("react", 1, "u3", { emoji: "" })).target.reactions).toEqual([{ emoji: "❤️", users: ["u2", "u1"] }]); // 9

      // Unread counts and the last message skip change rows.
      expect(await store.countUnread("g1", "u1", 0, 9)).toBe(3);
      expect((await store.lastMessage("g1", "u1", 9))?.seq).toBe(3);

      // Hide: only for its actor, once; others do not read the hide row.
      const hid = await ask("hide", 3, "u1"); // 10
      expect(hid.change).toMatchObject({ seq: 10, type: "change", sender: "u1" });
      expect((await ask("hide", 3, "u1")).change).toBeNull();
      const seqsOf = async (reader: string) => (await store.messages("g1", { limit: 50, newest: false, reader })).rows.map((m) => m.seq);
      expect(await seqsOf("u1")).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
      expect(await seqsOf("u2")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await store.lastMessage("g1", "u1", 10))?.seq).toBe(2);

      // The sender deletes in the window; an admin deletes anyone's at any time; a second delete is nothing.
      const del = await ask("delete", 1, "u2"); // 11
      expect(del.target).toMatchObject({ content: "", media: null, reactions: [], edited_at: 1999 });
      expect(del.target.deleted_at).toBe(1500);
      expect(del.dropped_media).toBeNull();
      expect(await code(ask("edit", 1, "u2", { content: "again" }))).toBe("conflict");
      expect(await code(ask("react", 1, "u3", { emoji: "👍" }))).toBe("conflict");
      const pic = await ask("delete", 2, "u1", { at: 99_999 }); // 12
      expect(pic.dropped_media).toBe("m1");
      expect((await ask("delete", 2, "u1")).change).toBeNull();
      // No earlier text of a deleted message remains: its edit row lost its content.
      const rows = (await store.messages("g1", { limit: 50, newest: false })).rows;
      expect(JSON.parse(rows.find((m) => m.seq === 4)!.content)).toEqual({ op: "edit", content: "" });
      expect(rows.filter((m) => m.content.includes("fixed") || m.content.includes("hello a"))).toEqual([]);

      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect(await again.getMessage("g1", 2)).toMatchObject({ type: "image", media: null, content: "", deleted_at: 99_999 });
      expect((await again.getMessage("g1", 12))?.type).toBe("change");
      expect((await again.appendMessage(msg("g1", "u3", "c"))).message.seq).toBe(13);
      expect((await again.messages("g1", { after_seq: 9, limit: 50, newest: false, reader: "u2" })).rows.map((m) => m.seq)).toEqual([11, 12, 13]);
    });

    test("cursors: monotonic, seen implies delivered, messages stamped once every other member reached them", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("c1"), [
        { user: "u1", role: "admin" },
        { user: "u2", role: "member" },
        { user: "u3", role: "member" },
      ]);
      for (let i = 1; i <= 4; i++) await store.appendMessage(msg("c1", "u1", `m${i}`));
      const a = await store.advanceCursor({ channel: "c1", user: "u2", delivered_seq: 3, at: 100 });
      expect(a).toEqual({ delivered_seq: 3, seen_seq: 0, changed: true });
      expect((await store.getMessage("c1", 1))?.delivered_at).toBeNull(); // u3 has not got it
      await store.advanceCursor({ channel: "c1", user: "u3", seen_seq: 2, at: 200 });
      expect((await store.getMessage("c1", 2))?.delivered_at).toBe(200);
      expect((await store.getMessage("c1", 3))?.delivered_at).toBeNull();
      expect((await store.getMessage("c1", 2))?.seen_at).toBeNull(); // u2 has not seen it
      const back = await store.advanceCursor({ channel: "c1", user: "u2", delivered_seq: 1, at: 300 });
      expect(back).toEqual({ delivered_seq: 3, seen_seq: 0, changed: false });
      await store.advanceCursor({ channel: "c1", user: "u2", seen_seq: 4, at: 400 });
      const st = (await store.getChannel("c1"))!.members.find((m) => m.user_id === "u2")!;
      expect([st.delivered_seq, st.seen_seq]).toEqual([4, 4]);
      expect((await store.getMessage("c1", 2))?.seen_at).toBe(400);
      expect((await store.getMessage("c1", 3))?.seen_at).toBeNull();
      expect(await code(store.advanceCursor({ channel: "c1", user: "u9", seen_seq: 1, at: 1 }))).toBe("forbidden");
      await store.changeMembers("c1", { kind: "remove", user: "u3", at: 500 });
      expect(await code(store.advanceCursor({ channel: "c1", user: "u3", seen_seq: 4, at: 500 }))).toBe("forbidden");
    });

    test("group commit: concurrent appends get dense seqs; a failing write does not undo its batch", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("c1"), [{ user: "u1", role: "admin" }]);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        writes.push(store.appendMessage(msg("c1", "u1", `k${i}`)));
        if (i % 50 === 0) writes.push(store.appendMessage(msg("c1", "stranger", `bad${i}`)).catch((e) => e));
      }
      const results = await Promise.all(writes);
      const seqs = results.filter((r: any) => r?.message).map((r: any) => r.message.seq);
      expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(results.filter((r) => r instanceof NatterError).length).toBe(4);
      const all = await store.messages("c1", { after_seq: 0, limit: 500, newest: false });
      expect(all.rows.length).toBe(200);
    });

    test("a client_id repeated within one commit is answered with the original", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("g1"), [{ user: "u1", role: "admin" }]);
      const send = (cid: string) => store.appendMessage(msg("g1", "u1", cid));
      const r = await Promise.all([send("a"), send("b"), send("a"), send("c")]);
      expect(r.map((x) => [x.message.seq, x.duplicate, x.message.client_id])).toEqual([
        [1, false, "a"],
        [2, false, "b"],
        [1, true, "a"],
        [3, false, "c"],
      ]);
      expect((await store.getChannel("g1"))!.channel.last_seq).toBe(3);
    });

    test("a member added in the same commit as sends joins at the seq those sends reached; the seq survives a reopen", async () => {
      const { store, dir } = await fresh();
      await store.createChannel(channel("g1"), [{ user: "u1", role: "admin" }]);
      // One loop turn: two sends, an add, a third send; the writer holds last_seq in memory between them.
      const [, , added, third] = await Promise.all([
        store.appendMessage(msg("g1", "u1", "a")),
        store.appendMessage(msg("g1", "u1", "b")),
        store.changeMembers("g1", { kind: "add", users: ["u2"], role: "member", at: 2, max: 100 }),
        store.appendMessage(msg("g1", "u1", "c")),
      ]);
      expect(added.members.find((m) => m.user_id === "u2")!.joined_seq).toBe(2);
      expect(third.message.seq).toBe(3);
      expect((await store.getChannel("g1"))!.channel.last_seq).toBe(3);
      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect((await again.getChannel("g1"))!.channel.last_seq).toBe(3);
      expect((await again.appendMessage(msg("g1", "u2", "d"))).message.seq).toBe(4);
    });

    test("media: rows, links, visibility by membership window, sweep guards, usage", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("c1"), [{ user: "u1", role: "admin" }]);
      await store.createMedia(media("m1", "u1", "a".repeat(64), 1000, 10));
      await store.createMedia(media("m2", "u1", "b".repeat(64), 2000, 5));
      await store.createMedia(media("m3", "u2", "a".repeat(64), 3000, 7));
      expect(await store.getMedia("m1")).toEqual(media("m1", "u1", "a".repeat(64), 1000, 10));
      expect(await store.getMedia("zz")).toBeNull();
      expect(await code(store.linkMedia("zz", "c1", 1))).toBe("not_found");
      await store.linkMedia("m1", "c1", 1500);
      await store.linkMedia("m1", "c1", 1600);
      expect(await store.mediaLinks("m1")).toEqual([{ channel: "c1", at: 1600 }]);
      expect(await store.mediaSentIn("c1", "m1")).toBe(false);
      await store.appendMessage(msg("c1", "u1", "pic", { type: "image", media: "m1" }));
      expect(await store.mediaSentIn("c1", "m1")).toBe(true);
      expect(await store.mediaVisibleTo("c1", "m1", "u1")).toBe(true);
      // u2 joins after the message: not visible; a message after joining is.
      await store.changeMembers("c1", { kind: "add", users: ["u2"], role: "member", at: 1, max: 10 });
      expect(await store.mediaVisibleTo("c1", "m1", "u2")).toBe(false);
      await store.appendMessage(msg("c1", "u1", "pic2", { type: "image", media: "m1" }));
      expect(await store.mediaVisibleTo("c1", "m1", "u2")).toBe(true);
      // After leaving, media sent later is not visible; media sent while a member stays visible.
      await store.changeMembers("c1", { kind: "remove", user: "u2", at: 2 });
      await store.appendMessage(msg("c1", "u1", "pic3", { type: "image", media: "m3" }));
      expect(await store.mediaVisibleTo("c1", "m3", "u2")).toBe(false);
      expect(await store.mediaVisibleTo("c1", "m3", "u1")).toBe(true);
      expect(await store.mediaVisibleTo("c1", "m1", "u2")).toBe(true);

      await store.markMediaSent("m1");
      expect((await store.getMedia("m1"))?.sent).toBe(1);
      expect((await store.unsentMedia(2500, 10)).map((m) => m.id)).toEqual(["m2"]);
      expect((await store.unsentMedia(5000, 1)).map((m) => m.id)).toEqual(["m2"]);
      // A link written at or after the cut-off keeps the row (a send in flight).
      await store.linkMedia("m2", "c1", 9000);
      expect(await store.deleteMedia("m2", 8000)).toBe(false);
      expect(await store.deleteMedia("m2", 9001)).toBe(true);
      expect(await store.deleteMedia("m2", 9001)).toBe(false); // gone already
      expect(await store.getMedia("m2")).toBeNull();
      expect(await store.mediaLinks("m2")).toEqual([]);
      expect(await store.blobInUse("b".repeat(64))).toBe(false);
      expect(await store.blobInUse("a".repeat(64))).toBe(true);
      expect(await store.mediaUsage("u1")).toBe(10);
      expect(await store.mediaUsage("u2")).toBe(7);
      expect(await store.mediaUsage("u3")).toBe(0);
    });

    test("a member who leaves and rejoins keeps each earlier period (not the gap); media visibility follows; survives a reopen", async () => {
      const { store, dir } = await fresh();
      await store.createChannel(channel("c1"), [{ user: "u1", role: "admin" }, { user: "u2", role: "member" }]);
      await store.createMedia(media("m1", "u1", "a".repeat(64)));
      await store.createMedia(media("m2", "u1", "b".repeat(64)));
      await store.createMedia(media("m3", "u1", "c".repeat(64)));
      const u2 = async () => (await store.getChannel("c1"))!.members.find((m) => m.user_id === "u2")!;
      await store.appendMessage(msg("c1", "u1", "in1", { type: "image", media: "m1" })); // seq 1: period 1
      await store.changeMembers("c1", { kind: "remove", user: "u2", at: 1 });
      await store.appendMessage(msg("c1", "u1", "out", { type: "image", media: "m2" })); // seq 2: while out
      await store.changeMembers("c1", { kind: "add", users: ["u2"], role: "member", at: 2, max: 10 });
      await store.appendMessage(msg("c1", "u1", "in3", { type: "image", media: "m3" })); // seq 3: period 3
      expect(await u2()).toMatchObject({ earlier: [[0, 1]], joined_seq: 2, left_seq: null, delivered_seq: 2, seen_seq: 2 });
      expect(await store.mediaVisibleTo("c1", "m1", "u2")).toBe(true);
      expect(await store.mediaVisibleTo("c1", "m2", "u2")).toBe(false);
      expect(await store.mediaVisibleTo("c1", "m3", "u2")).toBe(true);
      // Leaving and rejoining with nothing sent in between keeps no empty period.
      await store.changeMembers("c1", { kind: "remove", user: "u2", at: 3 });
      await store.changeMembers("c1", { kind: "add", users: ["u2"], role: "member", at: 3, max: 10 });
      await store.changeMembers("c1", { kind: "remove", user: "u2", at: 3 });
      await store.changeMembers("c1", { kind: "add", users: ["u2"], role: "member", at: 3, max: 10 });
      expect(await u2()).toMatchObject({ earlier: [[0, 1], [2, 3]], joined_seq: 3, left_seq: null });
      expect((await store.getChannel("c1"))!.members.find((m) => m.user_id === "u1")!.earlier).toEqual([]);
      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect((await again.getChannel("c1"))!.members.find((m) => m.user_id === "u2")!.earlier).toEqual([[0, 1], [2, 3]]);
      expect(await again.mediaVisibleTo("c1", "m2", "u2")).toBe(false);
      expect(await again.mediaVisibleTo("c1", "m1", "u2")).toBe(true);
    });

    test("privacy: defaults until set, one setting kept when the other changes, survives a reopen, gone with the user", async () => {
      const { store, dir } = await fresh();
      await store.createUser(user("u1", "+1"));
      await store.createUser(user("u2", "+2"));
      expect(await store.getPrivacy("u1")).toEqual({ find_by_phone: "everyone", add_to_groups: "everyone" });
      expect(await store.setPrivacy("u1", { find_by_phone: "contacts" })).toEqual({ find_by_phone: "contacts", add_to_groups: "everyone" });
      expect(await store.setPrivacy("u1", { add_to_groups: "nobody" })).toEqual({ find_by_phone: "contacts", add_to_groups: "nobody" });
      expect(await store.getPrivacy("u2")).toEqual({ find_by_phone: "everyone", add_to_groups: "everyone" });
      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect(await again.getPrivacy("u1")).toEqual({ find_by_phone: "contacts", add_to_groups: "nobody" });
      await again.deleteUser("u1");
      expect(await again.getPrivacy("u1")).toEqual({ find_by_phone: "everyone", add_to_groups: "everyone" });
    });

    test("hasSent: true once the user has a message in the channel, for that user and channel only", async () => {
      const { store } = await fresh();
      await store.createChannel(channel("d1", "direct"), [
        { user: "u1", role: "member" },
        { user: "u2", role: "member" },
      ]);
      expect(await store.hasSent("d1", "u1")).toBe(false);
      await store.appendMessage(msg("d1", "u2", "k1"));
      expect(await store.hasSent("d1", "u1")).toBe(false);
      expect(await store.hasSent("d1", "u2")).toBe(true);
      expect(await store.hasSent("d2", "u2")).toBe(false);
    });

    test("group slots: max in the window, the next refused with the wait, a recorded group again free, the window frees one", async () => {
      const { store, dir } = await fresh();
      const H = 3_600_000;
      expect(await store.takeGroupSlot("u1", "g1", 1_000, H, 3)).toBe(0);
      expect(await store.takeGroupSlot("u1", "g2", 2_000, H, 3)).toBe(0);
      expect(await store.takeGroupSlot("u1", "g3", 3_000, H, 3)).toBe(0);
      // The 4th: refused until g1 leaves the window (1_000 + H), and nothing recorded.
      expect(await store.takeGroupSlot("u1", "g4", 10_000, H, 3)).toBe(1_000 + H - 10_000);
      expect(await store.takeGroupSlot("u1", "g4", 10_001, H, 3)).toBe(1_000 + H - 10_001);
      // A retry of a recorded group takes no slot; another user has their own.
      expect(await store.takeGroupSlot("u1", "g2", 10_000, H, 3)).toBe(0);
      expect(await store.takeGroupSlot("u2", "g5", 10_000, H, 3)).toBe(0);
      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect(await again.takeGroupSlot("u1", "g4", 1_000 + H - 1, H, 3)).toBe(1);
      expect(await again.takeGroupSlot("u1", "g4", 1_000 + H, H, 3)).toBe(0);
      expect(await again.takeGroupSlot("u1", "g6", 1_000 + H, H, 3)).toBe(2_000 + H - (1_000 + H));
      // A lowered cap waits for enough of them to leave: 3 in the window, max 2 -> until the 2nd oldest (g3) leaves.
      expect(await again.takeGroupSlot("u1", "g7", 1_000 + H, H, 2)).toBe(3_000 + H - (1_000 + H));
    });

    test("stats count rows; everything survives close and reopen", async () => {
      const { store, dir } = await fresh();
      await store.createUser(user("u1", "+1"));
      await store.createUser(user("u2", "+2"));
      await store.createDevice({ id: "d1", user_id: "u1", name: "p", created_at: 1 }, "t1");
      await store.createChannel(channel("c1"), [{ user: "u1", role: "admin" }]);
      for (let i = 0; i < 5; i++) await store.appendMessage(msg("c1", "u1", `k${i}`));
      const stats = await store.stats();
      expect({ ...stats, shards: 0 }).toEqual({ shards: 0, users: 2, channels: 1, messages: 5, devices: 1 });
      expect(stats.shards).toBeGreaterThanOrEqual(1);
      await store.close();
      const again = await open(dir);
      opened.push(again);
      expect((await again.getUser("u2"))?.phone).toBe("+2");
      expect(await again.deviceByToken("t1")).toEqual({ user_id: "u1", device_id: "d1" });
      expect((await again.messages("c1", { limit: 10, newest: true })).rows.map((m) => m.client_id)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
      expect((await again.appendMessage(msg("c1", "u1", "k5"))).message.seq).toBe(6);
    });
  });
}
