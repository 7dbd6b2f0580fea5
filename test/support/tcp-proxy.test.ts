// The partition proxy in front of a real natter server: it forwards HTTP and
// websockets, a blackhole silences a live websocket without closing it, and a
// heal lets new connections through again.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { makeUser, startServer, until, WsClient, type TestServer } from "../harness.ts";
import { isMsg } from "../e2e/server-helpers.ts";
import { spawnProxy, type ProxyProcess } from "./tcp-proxy.ts";

setDefaultTimeout(30_000);

let server: TestServer;
let proxy: ProxyProcess;
const open: WsClient[] = [];

/** The server as seen through the proxy (what WsClient and fetch need). */
const viaProxy = (): TestServer => ({ ...server, url: `http://127.0.0.1:${proxy.port}`, wsUrl: `ws://127.0.0.1:${proxy.port}/ws`, port: proxy.port });

async function connect(s: TestServer, token: string): Promise<WsClient> {
  const c = await WsClient.connect(s, token);
  open.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of open) c.close();
  await proxy?.stop();
  await server?.cleanup();
});

describe("tcp proxy", () => {
  test("forwards HTTP and websocket traffic both ways and counts bytes", async () => {
    proxy = await spawnProxy({ host: "127.0.0.1", port: server.port });
    const res = await fetch(`${viaProxy().url}/healthz`);
    expect(res.status).toBe(200);
    const a = await makeUser(server, "alice");
    const b = await makeUser(server, "bob");
    const ca = await connect(viaProxy(), a.token);
    const cb = await connect(server, b.token);
    const sent = await ca.call("sendMessage", { to: b.user.id, client_id: "p1", type: "text", content: "through the proxy" });
    await cb.event(isMsg(sent.message.id));
    const back = await cb.call("sendMessage", { channel: sent.message.channel, client_id: "p2", type: "text", content: "back" });
    await ca.event(isMsg(back.message.id));
    const st = await proxy.stats();
    expect(st.mode).toBe("forward");
    expect(st.accepted).toBeGreaterThanOrEqual(2);
    expect(st.bytes_up).toBeGreaterThan(0);
    expect(st.bytes_down).toBeGreaterThan(0);
    expect(st.dropped_up + st.dropped_down).toBe(0);
  });

  test("blackhole: a live websocket goes silent without a close; new connections hang", async () => {
    const a = await makeUser(server, "carol");
    const b = await makeUser(server, "dave");
    const ca = await connect(viaProxy(), a.token);
    const cb = await connect(server, b.token);
    const first = await cb.call("sendMessage", { to: a.user.id, client_id: "q1", type: "text", content: "before" });
    await ca.event(isMsg(first.message.id));

    const before = await proxy.blackhole();
    expect(before.mode).toBe("blackhole");
    // The server sends to carol; the proxy reads those bytes and drops them.
    const lost = await cb.call("sendMessage", { channel: first.message.channel, client_id: "q2", type: "text", content: "into the void" });
    await until(async () => (await proxy.stats()).dropped_down > before.dropped_down, 10_000, "server bytes dropped");
    // Carol's request is read and dropped too: no reply can come.
    const id = ca.send("ping");
    await until(async () => (await proxy.stats()).dropped_up > before.dropped_up, 10_000, "client bytes dropped");
    expect(ca.eventsSince(0, isMsg(lost.message.id))).toEqual([]);
    expect(ca.replies.has(id)).toBe(false);
    expect(ca.closed).toBeNull();

    // A new connection is accepted but never forwarded: its request is dropped, no answer, no close.
    const mid = await proxy.stats();
    const got = { bytes: 0, closed: false };
    const raw = await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: { data: (_s, d) => void (got.bytes += d.length), close: () => void (got.closed = true) },
    });
    raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(async () => {
      const s = await proxy.stats();
      return s.accepted > mid.accepted && s.dropped_up > mid.dropped_up;
    }, 10_000, "new connection accepted and its request dropped");
    expect(got).toEqual({ bytes: 0, closed: false });
    raw.terminate();
    await proxy.heal();
  });

  test("heal: new connections forward again and blackholed ones are closed", async () => {
    const a = await makeUser(server, "erin");
    const stuck = await connect(viaProxy(), a.token);
    await proxy.blackhole();
    const healed = await proxy.heal();
    expect(healed.mode).toBe("forward");
    await stuck.waitClosed();
    expect((await fetch(`${viaProxy().url}/healthz`)).status).toBe(200);
    const b = await makeUser(server, "frank");
    const ca = await connect(viaProxy(), a.token);
    const cb = await connect(server, b.token);
    const m = await cb.call("sendMessage", { to: a.user.id, client_id: "h1", type: "text", content: "after heal" });
    await ca.event(isMsg(m.message.id));
  });

  test("reset closes every connection through the proxy", async () => {
    const a = await makeUser(server, "gina");
    const c = await connect(viaProxy(), a.token);
    const st = await proxy.reset();
    expect(st.open).toBe(0);
    await c.waitClosed();
    expect((await fetch(`${viaProxy().url}/healthz`)).status).toBe(200);
  });
});
