import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatterError } from "../protocol/index.ts";
import { ALICE, BOB, channel, FakeClient, FakeMedia, msg, startController } from "../../test/support/fake-chat-client.ts";
import { until } from "../../test/support/until.ts";
import { chooseUpload, freePath, localName, resolvePath, saveTarget, transferText } from "./file-transfer.ts";

const root = mkdtempSync(join(tmpdir(), "natter-tui-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = () => {
  const d = join(root, String(++n));
  mkdirSync(d);
  return d;
};

describe("paths", () => {
  const places = { cwd: "/work/here", home: "/home/me" };

  test("~ and relative paths", () => {
    expect(resolvePath("~", places)).toBe("/home/me");
    expect(resolvePath("~/Pictures/a.png", places)).toBe("/home/me/Pictures/a.png");
    expect(resolvePath("a.png", places)).toBe("/work/here/a.png");
    expect(resolvePath("/tmp/a.png", places)).toBe("/tmp/a.png");
  });

  test("the sender's name, made safe", () => {
    expect(localName("cat.png", "m_1")).toBe("cat.png");
    expect(localName("../../etc/passwd", "m_1")).toBe("passwd");
    expect(localName(".bashrc", "m_1")).toBe("bashrc");
    expect(localName("a\u0007b", "m_1")).toBe("ab");
    expect(localName("", "m_1")).toBe("m_1");
  });

  test("never overwrite: a taken name (or its .part) gets (1), (2), ...", () => {
    const taken = new Set(["/d/cat.png", "/d/cat (1).png.part", "/d/notes"]);
    const exists = (p: string) => taken.has(p);
    expect(freePath("/d/dog.png", exists)).toBe("/d/dog.png");
    expect(freePath("/d/cat.png", exists)).toBe("/d/cat (2).png");
    expect(freePath("/d/notes", exists)).toBe("/d/notes (1)");
  });

  test("where /save writes", () => {
    const fs = { exists: (p: string) => ["/work/here", "/work/here/cat.png", "/home/me/Downloads", "/tmp", "/tmp/taken.png"].includes(p), isDir: (p: string) => !p.endsWith(".png") };
    expect(saveTarget(null, "cat.png", "m_1", places, fs)).toBe("/work/here/cat (1).png");
    expect(saveTarget("~/Downloads", "cat.png", "m_1", places, fs)).toBe("/home/me/Downloads/cat.png");
    expect(saveTarget("/tmp/kitty.png", "cat.png", "m_1", places, fs)).toBe("/tmp/kitty.png");
    expect(() => saveTarget("/tmp/taken.png", "cat.png", "m_1", places, fs)).toThrow("already exists");
    expect(() => saveTarget("/nope/", "cat.png", "m_1", places, fs)).toThrow("no such directory: /nope");
    expect(() => saveTarget("/nope/x.png", "cat.png", "m_1", places, fs)).toThrow("no such directory: /nope");
  });

  test("/file with unquoted spaces: the whole text when the first word is no file", () => {
    const exists = (p: string) => p === "/w/My Photos/cat.png";
    expect(chooseUpload("My", "My Photos/cat.png", { cwd: "/w", home: "/h" }, exists)).toEqual({ path: "/w/My Photos/cat.png", useCaption: false });
    expect(chooseUpload("cat.png", "cat.png hi", { cwd: "/w", home: "/h" }, exists)).toEqual({ path: "/w/cat.png", useCaption: true });
  });

  test("progress text", () => {
    expect(transferText({ kind: "upload", name: "cat.png", done: 420, total: 1000 })).toBe("uploading cat.png 42% of 1000 B");
    expect(transferText({ kind: "download", name: "cat.png", done: 2048, total: null })).toBe("saving cat.png 2.0 KiB");
  });
});

/** A controller with media over the fake client, once the chat list is in. */
async function setup() {
  const client = new FakeClient(ALICE);
  const direct = channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id], last_seq: 0 });
  client.handlers.getAll = () => ({ channels: [direct] });
  const media = new FakeMedia();
  const cwd = dir();
  const c = await startController(client, { media, places: { cwd, home: cwd } });
  return { client, media, c, cwd };
}

describe("/file", () => {
  test("uploads, then sends a message of the file's type with the media id and caption", async () => {
    const { client, c, cwd } = await setup();
    writeFileSync(join(cwd, "cat.png"), "not really a png");
    await c.run({ kind: "file", path: "cat.png", caption: "look", whole: "cat.png look" }, { channel: "d1" });
    expect(client.sent).toHaveLength(1);
    expect(client.sent[0]).toMatchObject({ channel: "d1", type: "image", content: "look" });
    const id = client.sent[0]!.media!;
    expect(c.getState().media[id]).toMatchObject({ name: "cat.png", size: 16 });
    expect(c.getState().transfers).toEqual([]);
    expect(c.getState().notice?.text).toBe("sent cat.png (16 B)");
    writeFileSync(join(cwd, "notes.txt"), "x");
    await c.run({ kind: "file", path: "notes.txt", caption: "", whole: "notes.txt" }, { to: BOB.id });
    expect(client.sent[1]).toMatchObject({ to: BOB.id, type: "file" });
  });

  test("progress shows while uploading; Esc (cancel) sends nothing", async () => {
    const { client, media, c, cwd } = await setup();
    writeFileSync(join(cwd, "big.bin"), new Uint8Array(1000));
    media.hold = true;
    const done = c.run({ kind: "file", path: "big.bin", caption: "", whole: "big.bin" }, { channel: "d1" });
    await until(() => expect(c.getState().transfers).toEqual([{ id: "upload:1", kind: "upload", name: "big.bin", done: 420, total: 1000 }]), "the upload's progress");
    expect(c.cancelTransfers()).toBe(1);
    await done;
    expect(client.sent).toEqual([]);
    expect(c.getState().transfers).toEqual([]);
    expect(c.getState().notice).toMatchObject({ kind: "info", text: "upload of big.bin cancelled; nothing was sent" });
  });

  test("missing file, a directory, too large, no chat open: clear errors, nothing sent", async () => {
    const { client, media, c, cwd } = await setup();
    await c.run({ kind: "file", path: "nope.png", caption: "", whole: "nope.png" }, { channel: "d1" });
    expect(c.getState().notice).toMatchObject({ kind: "error", text: `/file: no such file: ${join(cwd, "nope.png")}` });
    await c.run({ kind: "file", path: ".", caption: "", whole: "." }, { channel: "d1" });
    expect(c.getState().notice?.text).toContain("is a directory");
    writeFileSync(join(cwd, "huge.iso"), "x");
    media.failUpload = new NatterError("too_large", "file is larger than the upload limit of 104857600 bytes");
    await c.run({ kind: "file", path: "huge.iso", caption: "", whole: "huge.iso" }, { channel: "d1" });
    expect(c.getState().notice).toMatchObject({ kind: "error", text: "/file: huge.iso not sent: file is larger than the upload limit of 100 MiB" });
    media.failUpload = new NatterError("too_large", "HTTP 413");
    await c.run({ kind: "file", path: "huge.iso", caption: "", whole: "huge.iso" }, { channel: "d1" });
    expect(c.getState().notice?.text).toBe("/file: huge.iso not sent: too large: HTTP 413");
    await c.run({ kind: "file", path: "huge.iso", caption: "", whole: "huge.iso" }, null);
    expect(c.getState().notice?.text).toBe("/file: open a chat first, then /file PATH");
    expect(client.sent).toEqual([]);
    expect(c.getState().transfers).toEqual([]);
  });
});

describe("/save", () => {
  test("no MEDIA: the newest file in the chat, to the current directory under its name, never overwriting", async () => {
    const { client, media, c, cwd } = await setup();
    const old = media.add("old.txt", new TextEncoder().encode("old"));
    const cat = media.add("cat.png", new TextEncoder().encode("meow"));
    client.push(msg("d1", 1, BOB.id, "", { type: "file", media: old.id }));
    client.push(msg("d1", 2, BOB.id, "", { type: "image", media: cat.id }));
    client.push(msg("d1", 3, BOB.id, "text after it"));
    await c.run({ kind: "save", media: null, path: null }, { channel: "d1" });
    expect(readFileSync(join(cwd, "cat.png"), "utf8")).toBe("meow");
    expect(c.getState().notice?.text).toBe(`saved ${join(cwd, "cat.png")} (4 B)`);
    await c.run({ kind: "save", media: null, path: null }, { channel: "d1" });
    expect(readFileSync(join(cwd, "cat (1).png"), "utf8")).toBe("meow");
    // An explicit MEDIA and PATH; an existing file is refused.
    const out = dir();
    await c.run({ kind: "save", media: old.id, path: `${out}/` }, { channel: "d1" });
    expect(readFileSync(join(out, "old.txt"), "utf8")).toBe("old");
    await c.run({ kind: "save", media: cat.id, path: join(out, "old.txt") }, null);
    expect(c.getState().notice).toMatchObject({ kind: "error", text: expect.stringContaining("already exists; nothing saved") });
    expect(readFileSync(join(out, "old.txt"), "utf8")).toBe("old");
  });

  test("nothing to save, unknown media, cancel", async () => {
    const { media, c, cwd } = await setup();
    await c.run({ kind: "save", media: null, path: null }, { channel: "d1" });
    expect(c.getState().notice?.text).toContain("no file in this chat yet");
    await c.run({ kind: "save", media: "m_missing", path: null }, null);
    expect(c.getState().notice).toMatchObject({ kind: "error", text: "/save: no such file: m_missing (or you cannot see it)" });
    const f = media.add("song.ogg", new Uint8Array(100));
    media.hold = true;
    const done = c.run({ kind: "save", media: f.id, path: null }, null);
    await until(() => expect(c.getState().transfers).toMatchObject([{ kind: "download", name: "song.ogg", done: 42, total: 100 }]), "the download's progress");
    c.cancelTransfers();
    await done;
    expect(existsSync(join(cwd, "song.ogg"))).toBe(false);
    expect(c.getState().notice?.text).toBe("saving song.ogg cancelled; nothing was saved");
  });
});
