// Parsing of the client commands, apart from running them: each register
// function takes the run function, so the test captures the typed options.
import { describe, expect, test } from "bun:test";
import { Command } from "commander";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError, EXIT } from "../run.ts";
import { chatsTable, registerChats } from "./chats.ts";
import { requireSession, table } from "./common.ts";
import { historyLines, parseHistoryOptions, registerHistory } from "./history.ts";
import { parseLoginOptions, registerLogin } from "./login.ts";
import { Names } from "./names.ts";
import { isPhone, parseSendOptions, registerSend, stdinText } from "./send.ts";
import { formatEvent, registerWatch } from "./watch.ts";
import { isolateEnv } from "../../../test/support/cli-env.ts";
import type { Channel, Message } from "../../protocol/index.ts";

isolateEnv(["NATTER_SERVER", "NATTER_PROFILE", "NATTER_CONFIG_DIR"]);

/** Parses argv with one command registered and returns what its run function received. */
async function parse<T>(register: (p: Command, run: (o: T) => Promise<void>) => void, argv: string[]): Promise<T> {
  const p = new Command("natter").exitOverride();
  let got: T | undefined;
  register(p, async (o) => {
    got = o;
  });
  await p.parseAsync(argv, { from: "user" });
  if (got === undefined) throw new Error("run was not called");
  return got;
}

/** The CliError a parse throws (runCommand is bypassed by calling parse* directly). */
function usageError(f: () => unknown): CliError {
  try {
    f();
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error("expected a CliError");
}

describe("login", () => {
  test("takes server, code, device and profile", async () => {
    const o = await parse(registerLogin, ["login", "--server", "http://h:1", "--code", " abc ", "--device", "phone", "--profile", "work"]);
    expect(o).toEqual({ servers: ["http://h:1"], code: "abc", device: "phone", profile: "work", json: false });
  });
  test("several servers, comma-separated: each normalised (bare host:port is http), repeats dropped, order kept", async () => {
    const o = await parse(registerLogin, ["login", "--server", "n2:8080, http://n1:8080/,n2:8080", "--code", "x"]);
    expect(o.servers).toEqual(["http://n2:8080", "http://n1:8080"]);
    expect(usageError(() => parseLoginOptions({ server: "http://a:1,,http://b:2", code: "x" })).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseLoginOptions({ server: "http://a:1,ftp://b", code: "x" })).exitCode).toBe(EXIT.usage);
  });
  test("device defaults to the hostname; server and profile come from the environment", async () => {
    process.env.NATTER_SERVER = "http://env:2";
    process.env.NATTER_PROFILE = "p2";
    const o = await parse(registerLogin, ["login", "--code", "x"]);
    expect(o.servers).toEqual(["http://env:2"]);
    expect(o.profile).toBe("p2");
    expect(o.device.length).toBeGreaterThan(0);
  });
  test("server and code are required (usage error, exit 2)", () => {
    expect(usageError(() => parseLoginOptions({ code: "x" })).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseLoginOptions({ server: "http://h" })).message).toMatch(/--code/);
  });
});

describe("send", () => {
  test("--to PHONE TEXT", async () => {
    const o = await parse(registerSend, ["send", "--to", "+15550001", "hello there"]);
    expect(o).toMatchObject({ to: "+15550001", text: "hello there", channel: undefined, json: false, profile: "default" });
  });
  test("--channel with --reply-to and --json; - reads stdin", async () => {
    const o = await parse(registerSend, ["send", "--channel", "g_1", "--reply-to", "g_1:3", "--json", "-"]);
    expect(o).toMatchObject({ channel: "g_1", replyTo: "g_1:3", text: "-", json: true });
  });
  test("exactly one target, and a text", () => {
    expect(usageError(() => parseSendOptions({}, "x")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseSendOptions({ to: "+1", channel: "g" }, "x")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseSendOptions({ to: "+1" }, undefined)).message).toMatch(/TEXT/);
  });
  test("phone numbers are told apart from user ids", () => {
    expect(isPhone("+15550001")).toBe(true);
    expect(isPhone("15550001")).toBe(true);
    expect(isPhone("+1 (555) 000-1")).toBe(true);
    expect(isPhone("u_abc")).toBe(false);
    expect(isPhone("+")).toBe(false);
  });
  test("stdin loses exactly one trailing newline", () => {
    expect(stdinText("hi\n")).toBe("hi");
    expect(stdinText("a\nb\n\n")).toBe("a\nb\n");
    expect(stdinText("x")).toBe("x");
  });
});

describe("history", () => {
  test("channel and cursors", async () => {
    const o = await parse(registerHistory, ["history", "g_1", "--limit", "10", "--before", "40", "--json"]);
    expect(o).toMatchObject({ channel: "g_1", limit: 10, before: 40, after: undefined, json: true });
  });
  test("bad numbers and conflicting cursors are usage errors", () => {
    expect(usageError(() => parseHistoryOptions({ limit: "0" }, "g")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseHistoryOptions({ limit: "201" }, "g")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseHistoryOptions({ limit: "x" }, "g")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseHistoryOptions({ before: "3", after: "1" }, "g")).exitCode).toBe(EXIT.usage);
    expect(usageError(() => parseHistoryOptions({}, undefined)).exitCode).toBe(EXIT.usage);
  });
});

describe("chats and watch", () => {
  test("chats takes the session options", async () => {
    expect(await parse(registerChats, ["chats", "--json", "--server", "http://x:3"])).toEqual({ profile: "default", servers: ["http://x:3"], json: true });
    expect(await parse(registerChats, ["chats", "--server", "x:3,y:4"])).toMatchObject({ servers: ["http://x:3", "http://y:4"] });
  });
  test("watch takes the session options", async () => {
    expect(await parse(registerWatch, ["watch", "--profile", "b"])).toEqual({ profile: "b", servers: undefined, json: false });
  });
});

describe("session", () => {
  test("not logged in is exit 4 with a hint to run natter login", () => {
    const dir = mkdtempSync(join(tmpdir(), "natter-cli-"));
    process.env.NATTER_CONFIG_DIR = dir;
    try {
      const e = usageError(() => requireSession({ profile: "default", json: false }));
      expect(e.exitCode).toBe(EXIT.auth);
      expect(e.message).toMatch(/natter login/);
      // The hint carries the servers given, as one --server list.
      expect(usageError(() => requireSession({ profile: "default", servers: ["http://a:1", "http://b:2"], json: false })).message).toContain(
        "natter login --server http://a:1,http://b:2 --code CODE",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("output", () => {
  const me = { id: "u_me", name: "Me", phone: "+1", last_seen: null };
  const direct: Channel = {
    id: "d_x", kind: "direct", name: "Bob", description: "", avatar_url: "", join: "invite", created_at: 1,
    members: ["u_me", "u_bob"], admins: [], last_seq: 1, last_message: null, delivered_seq: 0, seen_seq: 0, unread: 1,
  };
  const m: Message = {
    id: "d_x:1", channel: "d_x", seq: 1, sender: "u_bob", client_id: "c", type: "text", content: "hi\nthere",
    media: null, reply_to: null, sent_at: 0, delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [],
  };
  const names = new Names(me, [direct]);

  test("names come from me and direct chats, else the id", () => {
    expect([names.of("u_me"), names.of("u_bob"), names.of("u_zed")]).toEqual(["Me", "Bob", "u_zed"]);
  });
  test("chats table: header, one row per channel, preview of the last message", () => {
    const rows = chatsTable([{ ...direct, last_message: m }], names);
    expect(rows).toEqual([["ID", "KIND", "NAME", "UNREAD", "LAST MESSAGE"], ["d_x", "direct", "Bob", "1", "Bob: hi there"]]);
    expect(table(rows).split("\n")[1]).toBe("d_x  direct  Bob   1       Bob: hi there");
  });
  test("history lines: seq, time, sender name, text", () => {
    expect(historyLines([m], names)).toMatch(/^1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Bob  hi\n    there\n$/);
  });
  test("watch formats non-message events", () => {
    expect(formatEvent({ ev: "typing", channel: "d_x", user: "u_bob", state: "start" }, names)).toBe("d_x: Bob is typing");
  });
});

describe("edit, delete, react", () => {
  test("take CHANNEL SEQ and their argument; --for-me and --remove; usage errors before any request", async () => {
    const { registerEdit, registerDelete, registerReact, parseReactOptions, parseEditOptions } = await import("./changes.ts");
    expect(await parse(registerEdit, ["edit", "g_1", "3", "new text", "--json"])).toMatchObject({ channel: "g_1", seq: 3, text: "new text", json: true });
    expect(await parse(registerDelete, ["delete", "g_1", "3"])).toMatchObject({ channel: "g_1", seq: 3, scope: "everyone" });
    expect(await parse(registerDelete, ["delete", "g_1", "3", "--for-me"])).toMatchObject({ scope: "me" });
    expect(await parse(registerReact, ["react", "g_1", "3", "👍🏽"])).toMatchObject({ seq: 3, emoji: "👍🏽" });
    expect(await parse(registerReact, ["react", "g_1", "3", "--remove"])).toMatchObject({ emoji: "" });
    for (const f of [
      () => parseReactOptions({}, "g_1", "3", "ok"),
      () => parseReactOptions({ remove: true }, "g_1", "3", "👍"),
      () => parseReactOptions({}, "g_1", "3"),
      () => parseEditOptions({}, "g_1", "0", "x"),
      () => parseEditOptions({}, "g_1", "x", "x"),
      () => parseEditOptions({}, "g_1", "3"),
      () => parseEditOptions({}, undefined),
    ])
      expect(usageError(f).exitCode).toBe(EXIT.usage);
  });
});
