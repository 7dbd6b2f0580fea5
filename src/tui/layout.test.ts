import { describe, expect, test } from "bun:test";
import { ALICE, BOB, CAROL, channel, msg } from "../../test/support/fake-chat-client.ts";
import { chatRows, composerRows, conversationLines, headerInfo, mediaLabel, type Line } from "./layout.ts";
import { initialState, reduce, type Action, type ChatState } from "./state.ts";

const text = (ls: Line[]) => ls.map((l) => l.segs.map((s) => s.text).join(""));
const run = (s: ChatState, ...as: Action[]) => as.reduce(reduce, s);
const DAY = 86_400_000;
const NOW = new Date(2026, 10, 25, 15, 0).getTime();

function world() {
  return run(
    initialState(ALICE),
    {
      type: "channels",
      channels: [
        channel("d1", { kind: "direct", name: "bob", members: [ALICE.id, BOB.id] }),
        channel("g1", { kind: "group", name: "club", members: [ALICE.id, BOB.id, CAROL.id] }),
      ],
    },
    { type: "users", users: [CAROL] },
  );
}

describe("conversation lines", () => {
  test("day separators, names, ticks, unread marker", () => {
    const s = run(
      world(),
      { type: "message", message: msg("d1", 1, ALICE.id, "yesterday's", { sent_at: NOW - DAY, delivered_at: 1 }) },
      { type: "message", message: msg("d1", 2, BOB.id, "morning", { sent_at: NOW - 3600_000 }) },
      { type: "message", message: msg("d1", 3, BOB.id, "still there?", { sent_at: NOW - 60_000 }) },
    );
    const out = text(conversationLines({ state: s, ch: s.channels.d1!, pending: [], width: 50, now: NOW, markerSeq: 2, selected: null }));
    expect(out[0]).toContain(" Yesterday ");
    expect(out[1]).toMatch(/^\d\d:\d\d you: yesterday's ✓✓$/);
    expect(out[2]).toContain(" Today ");
    expect(out[3]).toContain(" 2 unread messages ");
    expect(out[4]).toMatch(/^\d\d:\d\d bob: morning$/);
    for (const l of out) expect(Bun.stringWidth(l)).toBeLessThanOrEqual(50);
  });

  test("long and multi-line messages wrap under the text, tick on the last row", () => {
    const s = run(world(), { type: "message", message: msg("d1", 1, ALICE.id, "line one is rather long and wraps\nline two", { sent_at: NOW }) });
    const out = text(conversationLines({ state: s, ch: s.channels.d1!, pending: [], width: 30, now: NOW, markerSeq: null, selected: null }));
    expect(out.slice(1)).toEqual([expect.stringMatching(/^\d\d:\d\d you: line one is rather$/), "      long and wraps", "      line two ✓"]);
  });

  test("reply preview, media label, member event, pending and failed sends", () => {
    let s = run(
      world(),
      { type: "message", message: msg("g1", 1, CAROL.id, "who's in?", { sent_at: NOW - 5000 }) },
      { type: "member", ev: { ev: "member", channel: "g1", user: BOB.id, action: "left", by: BOB.id }, now: NOW - 4000 },
      { type: "message", message: msg("g1", 2, ALICE.id, "me", { sent_at: NOW - 3000, reply_to: "g1:1" }) },
      { type: "message", message: msg("g1", 3, CAROL.id, "", { sent_at: NOW - 2000, type: "image", media: "m_1" }) },
    );
    s = run(s, {
      type: "outbox",
      entries: [],
    });
    const pending = [
      { client_id: "a", channel: "g1", type: "text" as const, content: "on its way", status: "queued" as const, created_at: NOW },
      { client_id: "b", channel: "g1", type: "text" as const, content: "broken", status: "failed" as const, error: { code: "forbidden" as const, message: "not a member" }, created_at: NOW },
    ];
    const out = text(conversationLines({ state: s, ch: s.channels.g1!, pending, width: 70, now: NOW, markerSeq: null, selected: null }));
    expect(out).toContain("      · bob left");
    expect(out).toContain("      ↳ carol: who's in?");
    expect(out.some((l) => /carol: \[image: m_1\]$/.test(l))).toBe(true);
    expect(out.some((l) => /you: on its way ◷$/.test(l))).toBe(true);
    expect(out.some((l) => /you: broken ✗ not sent: not a member \(Ctrl-R retries\)/.test(l))).toBe(true);
  });

  test("mediaLabel", () => {
    expect(mediaLabel({ type: "file", content: "report", media: "m1" })).toBe("[file: m1] report");
    const info = { id: "m1", size: 1536, mime: "application/pdf", sha256: "x", name: "q3.pdf", width: null, height: null, created_at: 1 };
    expect(mediaLabel({ type: "file", content: "report", media: "m1" }, info)).toBe("[file: q3.pdf, 1.5 KiB] report");
    expect(mediaLabel({ type: "image", content: "", media: "m1" }, null)).toBe("[image: m1, unavailable]");
    expect(mediaLabel({ type: "text", content: "x" })).toBe("x");
  });
});

describe("chat rows and header", () => {
  test("previews, unread, online dot, typing", () => {
    const s = run(
      world(),
      { type: "message", message: msg("g1", 1, CAROL.id, "hello\nall", { sent_at: NOW }) },
      { type: "presence", ev: { ev: "presence", user: BOB.id, online: true, last_seen: null } },
      { type: "typing", ev: { ev: "typing", channel: "d1", user: BOB.id, state: "start" }, now: NOW },
    );
    const rows = chatRows(s, NOW);
    expect(rows[0]).toMatchObject({ title: "club", preview: "carol: hello …", unread: 1, online: null });
    expect(rows[1]).toMatchObject({ title: "bob", online: true, typing: true, preview: "no messages yet" });
  });

  test("header: presence for direct chats, members for groups, typing", () => {
    let s = world();
    expect(headerInfo(s, s.channels.d1!, null, NOW)).toMatchObject({ title: "bob", subtitle: "", typing: null }); // not told yet
    s = run(s, { type: "presence", ev: { ev: "presence", user: BOB.id, online: false, last_seen: NOW - 3600_000 } });
    expect(headerInfo(s, s.channels.d1!, null, NOW).subtitle).toMatch(/^last seen today at \d\d:\d\d$/);
    s = run(s, { type: "presence", ev: { ev: "presence", user: BOB.id, online: true, last_seen: null } });
    expect(headerInfo(s, s.channels.d1!, null, NOW).subtitle).toBe("online");
    expect(headerInfo(s, s.channels.g1!, null, NOW).subtitle).toMatch(/^3 members: you, bob, carol$/);
    s = run(s, { type: "typing", ev: { ev: "typing", channel: "g1", user: CAROL.id, state: "start" }, now: NOW });
    expect(headerInfo(s, s.channels.g1!, null, NOW).typing).toBe("carol is typing…");
  });
});

describe("composer rows", () => {
  test("wraps hard and finds the cursor", () => {
    expect(composerRows("abcdef", 6, 4)).toEqual({ rows: ["abcd", "ef"], cursorRow: 1, cursorCol: 2 });
    expect(composerRows("abcd", 4, 4)).toEqual({ rows: ["abcd", ""], cursorRow: 1, cursorCol: 0 });
    expect(composerRows("ab\ncd", 3, 10)).toEqual({ rows: ["ab", "cd"], cursorRow: 1, cursorCol: 0 });
    expect(composerRows("", 0, 10)).toEqual({ rows: [""], cursorRow: 0, cursorCol: 0 });
  });
});
