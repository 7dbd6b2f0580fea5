import { describe, expect, test } from "bun:test";
import { ServerRotation, uniqueServers } from "./servers.ts";

/** A source of [0, 1) that returns `xs` in turn. */
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

describe("ServerRotation", () => {
  test("one URL: every move comes back to it", () => {
    const r = new ServerRotation("http://a:1/");
    expect(r.current).toBe("http://a:1");
    expect([r.advance(), r.advance()]).toEqual(["http://a:1", "http://a:1"]);
    expect(r.size).toBe(1);
  });

  test("the given URLs are tried in an order shuffled once (pinned), then round robin", () => {
    // Fisher-Yates over [a, b, c]: i=2 picks j=floor(0*3)=0 -> [c, b, a]; i=1 picks j=floor(0.99*2)=1 -> same.
    const r = new ServerRotation(["http://a:1", "http://b:2", "http://c:3"], { random: seq(0, 0.99) });
    expect(r.current).toBe("http://c:3");
    expect([r.advance(), r.advance(), r.advance()]).toEqual(["http://b:2", "http://a:1", "http://c:3"]);
    expect(r.all).toEqual(["http://a:1", "http://b:2", "http://c:3"]);
  });

  test("an order that keeps the user's: the pinned identity shuffle", () => {
    const r = new ServerRotation(["http://a:1", "http://b:2"], { random: () => 0.99 });
    expect(r.current).toBe("http://a:1");
    expect(r.advance()).toBe("http://b:2");
  });

  test("learned nodes come after the given ones, without repeats; a new list replaces the old", () => {
    const r = new ServerRotation(["http://a:1"], { random: () => 0.99 });
    expect(r.learn(["http://a:1/", "http://n2:2", "ftp://x", 7, "http://n2:2"])).toBe(true);
    expect(r.all).toEqual(["http://a:1", "http://n2:2"]);
    expect(r.learn(["http://n2:2"])).toBe(false);
    expect(r.advance()).toBe("http://n2:2");
    expect(r.learn(["http://n3:3"])).toBe(true);
    expect(r.learnedNodes).toEqual(["http://n3:3"]);
    // The node in use left the list: the next move starts from the first.
    expect(r.current).toBe("http://n2:2");
    expect(r.advance()).toBe("http://a:1");
    expect(r.advance()).toBe("http://n3:3");
  });

  test("a deferred URL is waited for only for what is left of its deferral; a later one wins", () => {
    const r = new ServerRotation(["http://a:1", "http://b:2"], { random: () => 0.99 });
    r.defer("http://a:1", 1_000);
    r.defer("http://a:1", 500);
    expect(r.waitFor("http://a:1", 400)).toBe(600);
    expect(r.waitFor("http://a:1", 2_000)).toBe(0);
    expect(r.waitFor("http://b:2", 400)).toBe(0);
  });

  test("bad URLs are refused; no URL at all is an error", () => {
    expect(() => new ServerRotation(["http://a:1", "mailto:x"])).toThrow("http(s)");
    expect(() => new ServerRotation([])).toThrow();
    expect(uniqueServers(["http://a:1/", "http://a:1"])).toEqual(["http://a:1"]);
  });
});
