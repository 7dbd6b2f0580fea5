// Free loopback ports for servers a test starts and names up front (a node's
// --port, which the other nodes' --peers already carry). A port bound with 0
// and released comes from the kernel's ephemeral range, and the next socket
// anyone opens (a proxy, a client, another test) may get it before the server
// binds it. So these come from below that range, where the kernel never hands
// ports out by itself, chosen at random and checked by binding.

import { readFileSync } from "node:fs";

/** The kernel's ephemeral port range (Linux), or the IANA one elsewhere. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {}
  return [49152, 65535];
}

const taken = new Set<number>();

/** A loopback port outside the ephemeral range that nothing listens on now (and that this process has not handed out). */
export function freePort(): number {
  const [lo] = ephemeralRange();
  const min = 10_000;
  const max = lo > min + 1000 ? lo - 1 : 65_535;
  for (let i = 0; i < 200; i++) {
    const port = min + Math.floor(Math.random() * (max - min));
    if (taken.has(port)) continue;
    try {
      const l = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      l.stop(true);
    } catch {
      continue;
    }
    taken.add(port);
    return port;
  }
  throw new Error("no free loopback port found outside the ephemeral range");
}
