// The cluster harness's own parts, on plain single-node servers (no cluster
// flags): ports, temp dirs, logs, kill -9 and restart on the same port with or
// without the data, the per-link proxies and partition/heal, and a stop that
// leaves no process of its own behind.

import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMsg } from "../e2e/server-helpers.ts";
import { until } from "../harness.ts";
import { startCluster } from "./cluster.ts";

setDefaultTimeout(60_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("cluster harness (single-node servers)", () => {
  test("one node: layout, users, kill -9, restart with and without its data, stop", async () => {
    const c = await startCluster({ nodes: 1 });
    await c.run(async () => {
      expect(c.ids).toEqual(["n1"]);
      expect(statSync(c.secretFile).mode & 0o777).toBe(0o600);
      expect(existsSync(c.replicaDir)).toBe(true);
      expect(c.node("n1").dataDir).toBe(join(c.dir, "n1"));
      await c.waitHealthy();
      expect(c.adminToken.length).toBeGreaterThan(0);

      const a = await c.makeUser("alice");
      const b = await c.makeUser("bob");
      const ca = await c.connect(a, "n1");
      const sent = await ca.call("sendMessage", { to: b.user.id, client_id: "k1", type: "text", content: "durable" });

      const port = c.node("n1").port;
      const pid = c.node("n1").proc!.pid;
      await c.kill9("n1");
      expect(alive(pid)).toBe(false);
      expect(c.running("n1")).toBe(false);
      expect(await c.health("n1")).toBe(0);

      await c.restart("n1");
      expect(c.node("n1").port).toBe(port);
      await c.waitHealthy("n1");
      const cb = await c.connect(b, "n1");
      const page = await cb.call("getMessages", { channel: sent.message.channel, after_seq: 0, limit: 10 });
      expect(page.messages.map((m: any) => m.id)).toEqual([sent.message.id]);

      const before = c.adminToken;
      await c.restart("n1", { wipeData: true });
      await c.waitHealthy("n1");
      expect(c.adminToken).not.toBe(before);
      const res = await fetch(`${c.url("n1")}/api/getMessages`, {
        method: "POST",
        headers: { authorization: `Bearer ${b.token}`, "content-type": "application/json" },
        body: JSON.stringify({ channel: sent.message.channel }),
      });
      expect(res.status).toBe(401);
      expect(c.logs("n1").match(/^# .* start: /gm)?.length).toBe(3);
    });
    const pids = c.pids();
    await c.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(c.dir)).toBe(false);
  });

  test("proxied: every directed link has its own proxy; partition and heal cut and restore them", async () => {
    const c = await startCluster({ nodes: 2, cluster: false, proxied: true });
    await c.run(async () => {
      expect([...c.proxies.keys()].sort()).toEqual(["n1>n2", "n2>n1"]);
      expect(c.peersFor("n1")).toBe(`n1=${c.url("n1")},n2=${c.linkUrl("n1", "n2")}`);
      expect(c.linkUrl("n1", "n2")).not.toBe(c.url("n2"));
      await c.waitHealthy();
      for (const [from, to] of [["n1", "n2"], ["n2", "n1"]] as const) expect((await fetch(`${c.linkUrl(from, to)}/healthz`)).status).toBe(200);

      // A websocket over the n1 -> n2 link goes silent on partition, without a close.
      const u = await c.makeUser("carol", { createdOn: "n2" });
      const v = await c.makeUser("dave", { createdOn: "n2" });
      const over = await c.connect(u, "n2", { through: c.linkUrl("n1", "n2") });
      const direct = await c.connect(v, "n2");
      const proxy = c.proxies.get("n1>n2")!;
      await c.partition("n2");
      for (const p of c.proxies.values()) expect((await p.stats()).mode).toBe("blackhole");
      const before = await proxy.stats();
      const m = await direct.call("sendMessage", { to: u.user.id, client_id: "x1", type: "text", content: "cut off" });
      await until(async () => (await proxy.stats()).dropped_down > before.dropped_down, 10_000, "dropped on the link");
      expect(over.eventsSince(0, isMsg(m.message.id))).toEqual([]);
      expect(over.closed).toBeNull();

      await c.heal("n2");
      await over.waitClosed();
      for (const p of c.proxies.values()) expect((await p.stats()).mode).toBe("forward");
      expect((await fetch(`${c.linkUrl("n1", "n2")}/healthz`)).status).toBe(200);
    });
    const pids = c.pids();
    expect(pids.length).toBe(4);
    await c.stop();
    expect(pids.filter(alive)).toEqual([]);
  });

  test("a node that fails to start: start rejects with its log and leaves nothing behind", async () => {
    const base = mkdtempSync(join(tmpdir(), "natter-cluster-test-"));
    try {
      const err = await startCluster({ nodes: 1, args: ["--shards", "nope"], tmpBase: base }).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toContain("n1 exited");
      expect(err).toContain("--shards");
      expect(readdirSync(base)).toEqual([]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
