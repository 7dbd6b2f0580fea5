import { expect, test } from "bun:test";
import { parseInput, splitPath, tokenize, wholePath, type Parsed } from "./parse.ts";

test("plain text is a message; // escapes a leading slash", () => {
  expect(parseInput("hello  ")).toEqual({ kind: "message", text: "hello" });
  expect(parseInput("//etc/hosts")).toEqual({ kind: "message", text: "/etc/hosts" });
});

test("commands with their arguments", () => {
  expect(parseInput("/new +1-555-0001")).toEqual({ kind: "command", command: { kind: "new", phone: "+1-555-0001" } });
  expect(parseInput("/group Book club +15550001 +15550002")).toEqual({
    kind: "command",
    command: { kind: "group", name: "Book club", phones: ["+15550001", "+15550002"] },
  });
  expect(parseInput('/group "2024 crew" +15550001')).toMatchObject({ command: { name: "2024 crew" } });
  expect(parseInput("/add +15550001 +15550002")).toMatchObject({ command: { kind: "add", phones: ["+15550001", "+15550002"] } });
  expect(parseInput("/kick +15550001")).toMatchObject({ command: { kind: "kick", phone: "+15550001" } });
  expect(parseInput("/LEAVE")).toMatchObject({ command: { kind: "leave" } });
  expect(parseInput("/invite")).toMatchObject({ command: { kind: "invite" } });
  expect(parseInput("/join g_1 CODE")).toMatchObject({ command: { kind: "join", channel: "g_1", invite: "CODE" } });
  expect(parseInput("/help")).toMatchObject({ command: { kind: "help" } });
  expect(parseInput("/quit")).toMatchObject({ command: { kind: "quit" } });
});

test("phones go to the server as typed; spaced numbers need no quotes", () => {
  const one = (kind: "new" | "kick", phone: string): Parsed => ({ kind: "command", command: { kind, phone } });
  expect(parseInput("/new +1 555 0002")).toEqual(one("new", "+1 555 0002"));
  expect(parseInput("/new '+1 555 0002'")).toEqual(one("new", "+1 555 0002"));
  expect(parseInput('/new "+1 (202) 555-0102"')).toEqual(one("new", "+1 (202) 555-0102"));
  expect(parseInput("/chat 020 7946 0958")).toEqual(one("new", "020 7946 0958"));
  expect(parseInput("/kick '+44 20 7946 0958'")).toEqual(one("kick", "+44 20 7946 0958"));
  expect(parseInput("/new +1 555 bob")).toMatchObject({ kind: "error", message: "usage: /new PHONE" });
  expect(parseInput("/group Book club +1 202 555 0101 +44 20 7946 0958")).toEqual({
    kind: "command",
    command: { kind: "group", name: "Book club", phones: ["+1 202 555 0101", "+44 20 7946 0958"] },
  });
  expect(parseInput('/group Team "020 7946 0958" 0044 20 7946 0959')).toMatchObject({ command: { phones: ["020 7946 0958", "0044 20 7946 0959"] } });
  expect(parseInput("/add 020 7946 0958, 020 7946 0959")).toMatchObject({ command: { kind: "add", phones: ["020 7946 0958", "020 7946 0959"] } });
  expect(parseInput("/add +1 202 555 0101 bob")).toMatchObject({ kind: "error", message: "usage: /add PHONE..." });
});

test("usage errors and unknown commands", () => {
  expect(parseInput("/group +15550001")).toMatchObject({ kind: "error", message: expect.stringContaining("usage") });
  expect(parseInput("/kick")).toMatchObject({ kind: "error" });
  expect(parseInput("/frobnicate")).toMatchObject({ kind: "error", message: expect.stringContaining("unknown command") });
  expect(parseInput("/file")).toMatchObject({ kind: "error", message: "usage: /file PATH [CAPTION]" });
  // Commands without arguments take none: extra words are a mistake to show, not to ignore.
  expect(parseInput("/leave now")).toEqual({ kind: "error", message: "usage: /leave (leaves the open group; it asks first)" });
  for (const c of ["/invite x", "/retry all", "/help me", "/quit now"]) expect(parseInput(c)).toMatchObject({ kind: "error", message: expect.stringContaining("usage: /") });
  expect(parseInput("/save m_NOPE /tmp")).toMatchObject({ kind: "error", message: expect.stringContaining("not a media id") });
});

test("/file PATH [CAPTION]: quoted, escaped or plain paths", () => {
  expect(parseInput("/file cat.png")).toEqual({ kind: "command", command: { kind: "file", path: "cat.png", caption: "", whole: "cat.png" } });
  expect(parseInput("/file ~/Pictures/cat.png look at him")).toMatchObject({ command: { path: "~/Pictures/cat.png", caption: "look at him" } });
  // As terminals paste a dropped file: single quotes, or backslash-escaped spaces.
  expect(parseInput("/file '/tmp/Screen Shot.png' ")).toMatchObject({ command: { path: "/tmp/Screen Shot.png", caption: "" } });
  expect(parseInput("/file /tmp/Screen\\ Shot.png hi")).toMatchObject({ command: { path: "/tmp/Screen Shot.png", caption: "hi" } });
  expect(parseInput('/file "a b.txt" two words')).toMatchObject({ command: { path: "a b.txt", caption: "two words" } });
  // Unquoted spaces: the runner tries the whole text as one path when the first word is no file.
  expect(parseInput("/file My Photos/cat.png")).toMatchObject({ command: { path: "My", caption: "Photos/cat.png", whole: "My Photos/cat.png" } });
});

test("/save [MEDIA] [PATH]", () => {
  const save = (s: string) => (parseInput(s) as { command: unknown }).command;
  expect(save("/save")).toEqual({ kind: "save", media: null, path: null });
  expect(save("/save m_abc123")).toEqual({ kind: "save", media: "m_abc123", path: null });
  expect(save("/save m_abc123 ~/Downloads/")).toEqual({ kind: "save", media: "m_abc123", path: "~/Downloads/" });
  expect(save("/save /tmp/out.png")).toEqual({ kind: "save", media: null, path: "/tmp/out.png" });
  expect(save("/save My Files/cat.png")).toEqual({ kind: "save", media: null, path: "My Files/cat.png" });
  expect(save("/save m_abc123 'My Files/'")).toEqual({ kind: "save", media: "m_abc123", path: "My Files/" });
});

test("path splitting", () => {
  expect(splitPath("  a\\ b c")).toEqual(["a b", "c"]);
  expect(splitPath(`"unterminated x`)).toEqual([`"unterminated`, "x"]);
  expect(wholePath("'x y'")).toBe("x y");
  expect(wholePath("x\\ y z")).toBe("x y z");
});

test("tokenize honours quotes", () => {
  expect(tokenize(`a "b c" d`)).toEqual(["a", "b c", "d"]);
});
