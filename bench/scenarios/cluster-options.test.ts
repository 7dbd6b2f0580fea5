import { describe, expect, test } from "bun:test";
import { parseClusterIdleOptions } from "./cluster-idle.ts";
import { parseClusterOptions } from "./cluster.ts";

describe("cluster-idle options", () => {
  test("defaults: 6 nodes, 100,000 connections, one user per 1,000", () => {
    const o = parseClusterIdleOptions([]);
    if (o === "help") throw new Error("help");
    expect([o.nodes, o.connections, o.users, o.perWorker, o.concurrency]).toEqual([6, 100_000, 100, 16_000, 50]);
  });
  test("users never exceed connections; server args kept in order", () => {
    const o = parseClusterIdleOptions(["--connections", "10", "--users", "50", "--server-arg=--lease-ms", "--server-arg=10000"]);
    if (o === "help") throw new Error("help");
    expect(o.users).toBe(10);
    expect(o.serverArgs).toEqual(["--lease-ms", "10000"]);
  });
  test("bad numbers and stray words are refused", () => {
    expect(() => parseClusterIdleOptions(["--nodes", "0"])).toThrow(/--nodes/);
    expect(() => parseClusterIdleOptions(["--connections", "1.5"])).toThrow(/--connections/);
    expect(() => parseClusterIdleOptions(["extra"])).toThrow(/unexpected/);
    expect(parseClusterIdleOptions(["-h"])).toBe("help");
  });
});

describe("cluster options", () => {
  test("--only takes 1, 3 or failover", () => {
    const o = parseClusterOptions(["--only", "failover", "--no-max", "--clients-back-timeout", "5"]);
    if (o === "help") throw new Error("help");
    expect([o.only, o.maxRate, o.clientsBackMs]).toEqual(["failover", false, 5000]);
    expect(() => parseClusterOptions(["--only", "2"])).toThrow(/--only/);
  });
});
