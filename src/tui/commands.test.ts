import { expect, test } from "bun:test";
import { parseInput, tokenize } from "./commands.ts";

test("plain text is a message; // escapes a leading slash", () => {
  expect(parseInput("hello  ")).toEqual({ kind: "message", text: "hello" });
  expect(parseInput("//etc/hosts")).toEqual({ kind: "message", text: "/etc/hosts" });
});

test("commands with their arguments", () => {
  expect(parseInput("/new +1 555 0001")).toMatchObject({ kind: "error" });
  expect(parseInput("/new +1-555-0001")).toEqual({ kind: "command", command: { kind: "new", phone: "+15550001" } });
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

test("usage errors and unknown commands", () => {
  expect(parseInput("/group +15550001")).toMatchObject({ kind: "error", message: expect.stringContaining("usage") });
  expect(parseInput("/kick")).toMatchObject({ kind: "error" });
  expect(parseInput("/frobnicate")).toMatchObject({ kind: "error", message: expect.stringContaining("unknown command") });
  expect(parseInput("/file x.png")).toMatchObject({ kind: "error", message: expect.stringContaining("not available yet") });
});

test("tokenize honours quotes", () => {
  expect(tokenize(`a "b c" d`)).toEqual(["a", "b c", "d"]);
});
