// Each small component alone, rendered by ink-testing-library.
import { afterEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { emptyComposer, setText } from "../composer-state.ts";
import { Banner, bannerText } from "./banner.tsx";
import { ChatList } from "./chat-list.tsx";
import { Composer } from "./composer.tsx";
import { Conversation } from "./conversation.tsx";
import { Header } from "./header.tsx";
import { Help } from "./help.tsx";
import { Palette, paletteMatches } from "./palette.tsx";
import { StatusBar } from "./status-bar.tsx";

afterEach(cleanup);

test("chat list: name, time, preview, unread badge, online dot, selection", () => {
  const { lastFrame } = render(
    <ChatList
      rows={[
        { id: "a", title: "bob", time: "14:05", preview: "see you", unread: 3, online: true, typing: false },
        { id: "b", title: "club", time: "Yest", preview: "carol: ok", unread: 0, online: null, typing: true },
      ]}
      selected={0}
      openId="b"
      focused
      width={24}
      height={10}
    />,
  );
  const f = lastFrame()!;
  expect(f).toContain("Chats (2)");
  expect(f).toMatch(/● bob\s+14:05/);
  expect(f).toMatch(/see you\s+\S*3/);
  expect(f).toMatch(/club\s+Yest/);
  expect(f).toContain("▌ typing…");
});

test("banner: reconnect countdown, queued sends, nothing when open", () => {
  expect(bannerText({ conn: "open", nextRetryAt: null, now: 0, queued: 0, server: "s" })).toBeNull();
  expect(bannerText({ conn: "reconnecting", nextRetryAt: 4200, now: 1000, queued: 2, server: "s" })).toBe("Connection lost · reconnecting in 4 s (Ctrl-R: now) · 2 messages queued");
  // Several nodes: the banner names the one it tries next.
  expect(bannerText({ conn: "reconnecting", nextRetryAt: 4200, now: 1000, queued: 0, server: "http://n2:8080", nodes: 3 })).toBe("Connection lost · reconnecting to n2:8080 in 4 s (Ctrl-R: now)");
  const { lastFrame } = render(<Banner conn="connecting" nextRetryAt={null} now={0} queued={0} server="http://h:1" width={60} />);
  expect(lastFrame()).toContain("Connecting to http://h:1…");
});

test("header shows typing instead of presence", () => {
  const { lastFrame, rerender } = render(<Header info={{ title: "bob", subtitle: "online", typing: null }} width={30} />);
  expect(lastFrame()).toContain("online");
  rerender(<Header info={{ title: "bob", subtitle: "online", typing: "typing…" }} width={30} />);
  expect(lastFrame()).toContain("typing…");
  expect(lastFrame()).not.toContain("online");
});

test("composer: placeholder, multi-line text, reply line", () => {
  const { lastFrame, rerender } = render(<Composer state={emptyComposer()} width={40} focused placeholder="Message bob" replying={null} />);
  expect(lastFrame()).toContain("Message bob");
  rerender(<Composer state={setText(emptyComposer(), "one\ntwo")} width={40} focused placeholder="x" replying="Replying to bob: hi" />);
  const f = lastFrame()!;
  expect(f).toContain("› one");
  expect(f).toContain("  two");
  expect(f).toContain("Replying to bob: hi  (Esc cancels)");
});

test("conversation: bottom-anchored window, scroll, older hint", () => {
  const lines = Array.from({ length: 30 }, (_, i) => ({ key: String(i), segs: [{ text: `line ${i}` }] }));
  const { lastFrame, rerender } = render(<Conversation lines={lines} height={5} width={30} scroll={0} hasOlder loadingOlder={false} empty="none" />);
  expect(lastFrame()!.split("\n")).toEqual(["line 25", "line 26", "line 27", "line 28", "line 29"]);
  rerender(<Conversation lines={lines} height={5} width={30} scroll={100} hasOlder loadingOlder={false} empty="none" />);
  expect(lastFrame()!.split("\n")[0]).toBe("line 0");
  rerender(<Conversation lines={lines.slice(0, 2)} height={5} width={30} scroll={0} hasOlder loadingOlder={false} empty="none" />);
  expect(lastFrame()).toContain("PgUp for older messages");
});

test("palette: fuzzy filter, best first", () => {
  const items = [
    { id: "1", title: "Book club" },
    { id: "2", title: "bob" },
    { id: "3", title: "carol" },
  ];
  expect(paletteMatches(items, "bo").map((i) => i.title)).toEqual(["bob", "Book club"]);
  const { lastFrame } = render(<Palette query="car" matches={paletteMatches(items, "car")} index={0} width={40} height={8} />);
  expect(lastFrame()).toContain("Jump to chat");
  expect(lastFrame()).toContain("carol");
  expect(lastFrame()).not.toContain("bob");
});

test("help lists commands and keys", () => {
  const { lastFrame } = render(<Help width={80} height={30} />);
  expect(lastFrame()).toContain("/group NAME PHONE...");
  expect(lastFrame()).toContain("Ctrl-K");
});

test("status bar: transfers first, then the notice or hint; a long error takes the whole line", () => {
  const t = { id: "upload:1", kind: "upload" as const, name: "cat.png", done: 512, total: 1024 };
  const info = { text: "sent dog.png (1 KiB)", kind: "info" as const, at: 0 };
  const r1 = render(<StatusBar notice={info} hint="hints" who="alice · h" width={80} now={1} transfers={[t]} />);
  expect(r1.lastFrame()).toMatch(/^uploading cat\.png 50% of 1\.0 KiB · Esc cancels · sent dog\.png \(1 KiB\) +alice · h$/);
  const r2 = render(<StatusBar notice={null} hint="hints" who="alice · h" width={80} now={1} transfers={[]} />);
  expect(r2.lastFrame()).toMatch(/^hints +alice · h$/);
  const long = { text: "/file: big.iso not sent: file is larger than the upload limit of 100 MiB", kind: "error" as const, at: 0 };
  const r3 = render(<StatusBar notice={long} hint="hints" who="alice · chat.example.org" width={80} now={1} />);
  expect(r3.lastFrame()).toContain("limit of 100 MiB");
  expect(r3.lastFrame()).not.toContain("alice");
});
