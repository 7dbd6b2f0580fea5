// The node-to-node endpoints' answers to who calls them: a wrong or missing
// secret is refused (401) and counted; the right secret from a node id this
// node's --peers lacks (a rolling restart that adds a node) is told the node
// list differs (409 on the heartbeat, 503 unavailable elsewhere), not refused;
// a known node is served. And the caller's side of that: a node added with the
// longer list warns once per such peer and does not take it for a refusal.

import { afterEach, describe, expect, test } from "bun:test";
import { createLogger } from "../log.ts";
import { ClusterNode, type ShardHost } from "./node.ts";
import { viewFingerprint } from "./ownership.ts";

const TOKEN = "a".repeat(64);
const SHARDS = 4;

function node(self: string, ids: string[], urls: Record<string, string> = {}, lines: string[] = [], onRefused?: (why: string) => void): ClusterNode {
  return new ClusterNode({
    self,
    peers: new Map(ids.map((id) => [id, urls[id] ?? "http://127.0.0.1:1"])),
    token: TOKEN,
    shards: SHARDS,
    heartbeatMs: 20,
    leaseMs: 600,
    failureAfterMs: 900,
    log: createLogger("debug", (l) => lines.push(l)),
    onRefused,
  });
}

function post(n: ClusterNode, path: string, from: string, token: string | null, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-natter-node": from };
  if (token !== null) headers["x-natter-cluster"] = token;
  return n.handle(new Request(`http://127.0.0.1${path}`, { method: "POST", headers, body: JSON.stringify(body) }));
}

const heartbeat = (from: string, nodes: string[]) => ({ from, inc: "i1", sent: 1, shards: SHARDS, nodes: nodes.join(","), silence: {}, holding: [], connections: 0, fp: "" });

const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

describe("ClusterNode.handle: who may call", () => {
  const three = ["n1", "n2", "n3"];

  test("a wrong or missing secret is 401 and counted, on every route", async () => {
    const n1 = node("n1", three);
    stops.push(() => n1.stop());
    for (const [path, token] of [
      ["/cluster/heartbeat", "b".repeat(64)],
      ["/cluster/heartbeat", null],
      ["/cluster/call", "short"],
      ["/cluster/events", null],
    ] as const) {
      const r = await post(n1, path, "n2", token, heartbeat("n2", three));
      expect(r.status).toBe(401);
      expect(((await r.json()) as any).error.code).toBe("unauthorized");
    }
    // A wrong secret from an id this node does not know is refused the same way.
    expect((await post(n1, "/cluster/heartbeat", "n4", "b".repeat(64), heartbeat("n4", [...three, "n4"]))).status).toBe(401);
    expect(n1.counters.refusedCalls).toBe(5);
  });

  test("the right secret from a node id not in --peers: 409 node list differs on the heartbeat, 503 elsewhere, not counted", async () => {
    const n1 = node("n1", three);
    stops.push(() => n1.stop());
    const hb = await post(n1, "/cluster/heartbeat", "n4", TOKEN, heartbeat("n4", [...three, "n4"]));
    expect(hb.status).toBe(409);
    const e = ((await hb.json()) as any).error;
    expect(e.kind).toBe("nodes");
    expect(e.message).toContain("node list differs");
    for (const path of ["/cluster/call", "/cluster/events", `/cluster/blob/${"0".repeat(64)}`]) {
      const r = await post(n1, path, "n4", TOKEN, { fp: n1.fingerprint, calls: [] });
      expect(r.status).toBe(503);
      const err = ((await r.json()) as any).error;
      expect(err.code).toBe("unavailable");
      expect(err.retry_after_ms).toBeGreaterThan(0);
    }
    expect(n1.counters.refusedCalls).toBe(0);
  });

  test("a known node with the right secret is served", async () => {
    const n1 = node("n1", three);
    stops.push(() => n1.stop());
    const hb = await post(n1, "/cluster/heartbeat", "n2", TOKEN, heartbeat("n2", three));
    expect(hb.status).toBe(200);
    const b = (await hb.json()) as any;
    expect(b.from).toBe("n1");
    expect(typeof b.grant).toBe("boolean");
    const call = await post(n1, "/cluster/call", "n2", TOKEN, { fp: viewFingerprint(SHARDS, three), calls: [] });
    expect(call.status).toBe(200);
    expect(await call.json()).toEqual({ results: [] });
    // Known, but with another list (it was restarted with the longer one): 409, told apart by kind.
    const other = await post(n1, "/cluster/heartbeat", "n2", TOKEN, heartbeat("n2", [...three, "n4"]));
    expect(other.status).toBe(409);
    expect(((await other.json()) as any).error.kind).toBe("nodes");
    expect(n1.counters.refusedCalls).toBe(0);
  });
});

describe("ClusterNode heartbeats to a node with the shorter list", () => {
  test("the added node warns once per such peer, logs no refusal and keeps going", async () => {
    const four = ["n1", "n2", "n3", "n4"];
    // n1 does not know n4; n2 knows it but has another list; n3 is not running (connection refused).
    const n1 = node("n1", ["n1", "n2", "n3"]);
    const n2 = node("n2", ["n2", "n4"]);
    const beats = { n1: 0, n2: 0 };
    const serve = (n: ClusterNode, id: "n1" | "n2") =>
      Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (req) => {
          if (new URL(req.url).pathname === "/cluster/heartbeat") beats[id]++;
          return n.handle(req);
        },
      });
    const [s1, s2] = [serve(n1, "n1"), serve(n2, "n2")];
    const lines: string[] = [];
    const refusals: string[] = [];
    const n4 = node("n4", four, { n1: `http://127.0.0.1:${s1.port}`, n2: `http://127.0.0.1:${s2.port}` }, lines, (why) => refusals.push(why));
    stops.push(() => n4.stop(), () => n1.stop(), () => n2.stop(), () => s1.stop(true), () => s2.stop(true));
    n4.start({ connections: () => 0 } as unknown as ShardHost);
    for (let i = 0; i < 500 && (beats.n1 < 10 || beats.n2 < 10); i++) await Bun.sleep(10);
    expect(Math.min(beats.n1, beats.n2)).toBeGreaterThanOrEqual(10);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string; node?: string; reason?: string });
    const warned = logged.filter((l) => l.msg.includes("another --peers list"));
    expect(warned.map((l) => l.node).sort()).toEqual(["n1", "n2"]);
    for (const w of warned) expect(w.reason).toContain("node list differs");
    expect(logged.filter((l) => l.level === "error")).toEqual([]);
    expect(refusals).toEqual([]);
    expect(n4.status().nodes.find((x) => x.id === "n1")!.refused).toBeNull();
    expect(n1.counters.refusedCalls).toBe(0);
  });
});
