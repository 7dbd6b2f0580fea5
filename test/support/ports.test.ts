import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { freePort } from "./ports.ts";

test("free ports come from below the ephemeral range, differ, and can be bound", () => {
  const lo = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports = Array.from({ length: 20 }, () => freePort());
  expect(new Set(ports).size).toBe(20);
  for (const p of ports) {
    expect(p).toBeLessThan(lo);
    const l = Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } });
    l.stop(true);
  }
  // An ephemeral bind (what a proxy or a client gets) never lands on one of them.
  const eph = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  expect(ports).not.toContain(eph.port);
  eph.stop(true);
});
