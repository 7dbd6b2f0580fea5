import { describe, expect, test } from "bun:test";
import { parseOptions, UsageError, type BenchOptions } from "./options.ts";

const parse = (args: string[]) => parseOptions(args) as BenchOptions;

describe("bench options", () => {
  test("defaults: baselines and direct, durable, addressed by channel", () => {
    const o = parse([]);
    expect(o.scenarios).toEqual(["sqlite", "relay", "direct"]);
    expect(o.sync).toBe("full");
    expect(o.address).toBe("channel");
    expect(o.rate).toBe(10_000);
    expect(o.historyMessages).toBe(10_000_000);
  });

  test("--quick runs every scenario, small and short", () => {
    const o = parse(["--quick"]);
    expect(o.scenarios).toEqual(["sqlite", "relay", "direct", "group", "history", "media", "connect", "reconnect"]);
    expect(o.durationMs).toBe(2000);
    expect(o.historyMessages).toBe(100_000);
    expect(o.reconnectLimitS).toBeLessThanOrEqual(20);
  });

  test("scenarios keep the suite's order; ladder implies direct with --ladder", () => {
    expect(parse(["history", "direct"]).scenarios).toEqual(["direct", "history"]);
    const l = parse(["ladder"]);
    expect(l.scenarios).toEqual(["direct"]);
    expect(l.ladder).toBe(true);
  });

  test("clients round down to pairs; repeatable server args", () => {
    const o = parse(["--clients", "7", "--server-arg=--shards", "--server-arg=1"]);
    expect(o.clients).toBe(6);
    expect(o.serverArgs).toEqual(["--shards", "1"]);
  });

  test("bad input is a usage error", () => {
    expect(() => parse(["nope"])).toThrow(UsageError);
    expect(() => parse(["--rate", "fast"])).toThrow(UsageError);
    expect(() => parse(["--sync", "off"])).toThrow(UsageError);
    expect(() => parse(["--bogus"])).toThrow();
    expect(parseOptions(["--help"])).toBe("help");
  });
});
