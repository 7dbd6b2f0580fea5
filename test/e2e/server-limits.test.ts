// Limits, with small values from flags: per-device rate limit, connection cap
// (503 + Retry-After at the upgrade), frame size (close 1009), heartbeats
// (a client that stops answering pings is closed), slow-consumer send buffer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect, type Socket } from "node:net";
import { addDevice, api, makeUser, startServer, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { metric } from "./media-helpers.ts";
import { allMessages, expectError, RawWs, sleep } from "./server-helpers.ts";

const servers: TestServer[] = [];
const open: WsClient[] = [];
async function connectTo(server: TestServer, u: TestUser): Promise<WsClient> {
  const c = await WsClient.connect(server, u.token);
  open.push(c);
  return c;
}
afterAll(async () => {
  for (const c of open) c.close();
  await Promise.all(servers.map((s) => s.cleanup()));
});

describe("rate limit per device (--rate-burst 20 --rate-per-sec 10)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--rate-burst", "20", "--rate-per-sec", "10"] });
    servers.push(server);
  });

  test("a burst over the limit gets rate_limited with retry_after_ms; another device of the same user is unaffected", async () => {
    const a = await makeUser(server, "Rate");
    const a2 = await addDevice(server, a.user.id, "other");
    const c1 = await connectTo(server, a);
    const c2 = await connectTo(server, a2);
    const ids = Array.from({ length: 60 }, () => c1.send("ping"));
    const rs = await Promise.all(ids.map((i) => c1.reply(i)));
    const ok = rs.filter((r) => r.ok).length;
    const limited = rs.filter((r) => !r.ok);
    expect(ok).toBeGreaterThanOrEqual(15);
    expect(ok).toBeLessThan(45);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expectError(r, "rate_limited");
      expect(typeof r.error.retry_after_ms).toBe("number");
      expect(r.error.retry_after_ms).toBeGreaterThan(0);
      expect(r.error.retry_after_ms).toBeLessThanOrEqual(10_000);
    }
    expect(c1.closed).toBeNull();
    // Per device: the user's other device still has its full burst.
    const ids2 = Array.from({ length: 15 }, () => c2.send("ping"));
    const rs2 = await Promise.all(ids2.map((i) => c2.reply(i)));
    expect(rs2.every((r) => r.ok)).toBe(true);
  }, 20_000);

  test("waiting retry_after_ms and resending the same client_id stores the message exactly once", async () => {
    const a = await makeUser(server, "Retry");
    const b = await makeUser(server, "Peer");
    const ca = await connectTo(server, a);
    const first = (await ca.call("sendMessage", { to: b.user.id, client_id: "warm", type: "text", content: "w" })).message;
    // Drain the bucket, then send.
    await Promise.all(Array.from({ length: 40 }, () => ca.send("ping")).map((i) => ca.reply(i)));
    let r = await ca.request("sendMessage", { channel: first.channel, client_id: "rl-1", type: "text", content: "hello" });
    expectError(r, "rate_limited");
    let tries = 0;
    while (!r.ok && tries++ < 10) {
      expect(r.error.code).toBe("rate_limited");
      await sleep(r.error.retry_after_ms);
      r = await ca.request("sendMessage", { channel: first.channel, client_id: "rl-1", type: "text", content: "hello" });
    }
    expect(r.ok).toBe(true);
    await sleep(300);
    const again = await ca.call("sendMessage", { channel: first.channel, client_id: "rl-1", type: "text", content: "hello" });
    expect(again.message.id).toBe(r.message.id);
    const msgs = await allMessages(ca, first.channel);
    expect(msgs.filter((m: any) => m.client_id === "rl-1").length).toBe(1);
  }, 20_000);

  test("HTTP mirror answers 429 rate_limited with retry_after_ms", async () => {
    const a = await makeUser(server, "HttpRate");
    const rs = await Promise.all(Array.from({ length: 50 }, () => api(server, a.token, "ping")));
    const limited = rs.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(rs.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(15);
    for (const r of limited) {
      expect(r.body.ok).toBe(false);
      expect(r.body.error.code).toBe("rate_limited");
      expect(r.body.error.retry_after_ms).toBeGreaterThan(0);
    }
  }, 20_000);
});

describe("connection cap (--max-connections 2)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--max-connections", "2"] });
    servers.push(server);
  });

  test("a connection over the cap is refused at the upgrade with 503, Retry-After and unavailable", async () => {
    const a = await makeUser(server, "Cap");
    const c1 = await connectTo(server, a);
    await connectTo(server, a);
    const raw = await RawWs.open(server, `/ws?token=${encodeURIComponent(a.token)}`);
    try {
      expect(raw.response?.status).toBe(503);
      const ra = raw.response!.headers["retry-after"];
      expect(ra).toBeDefined();
      expect(Number(ra)).toBeGreaterThanOrEqual(0);
      const body = JSON.parse(await raw.fullBody());
      expect(body.ok).toBe(false);
      expect(body.error.code).toBe("unavailable");
      expect(body.error.retry_after_ms).toBeGreaterThan(0);
    } finally {
      raw.destroy();
    }
    // The WebSocket API cannot open it either.
    await expect(WsClient.connect(server, a.token)).rejects.toThrow();
    // HTTP keeps working while sockets are at the cap.
    expect((await fetch(server.url + "/healthz")).status).toBe(200);
    expect((await api(server, a.token, "ping")).status).toBe(200);
    // Once one closes, a new connection gets in.
    c1.close();
    await c1.waitClosed();
    let c3: WsClient | null = null;
    for (let i = 0; i < 20 && !c3; i++) {
      try {
        c3 = await connectTo(server, a);
      } catch {
        await sleep(100);
      }
    }
    expect(c3).not.toBeNull();
    expect((await c3!.call("ping")).ok).toBe(true);
  }, 20_000);
});

describe("frames and heartbeats (--max-frame-bytes 4096 --heartbeat-ms 300)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--max-frame-bytes", "4096", "--heartbeat-ms", "300"] });
    servers.push(server);
  });

  test("hello announces heartbeat_ms", async () => {
    const c = await connectTo(server, await makeUser(server, "Hb"));
    expect((c.events[0] as any).heartbeat_ms).toBe(300);
  }, 10_000);

  test("a frame under the limit works; one over it closes the socket with 1009", async () => {
    const a = await makeUser(server, "Big");
    const b = await makeUser(server, "Peer");
    const c = await connectTo(server, a);
    const ok = await c.request("sendMessage", { to: b.user.id, client_id: "small", type: "text", content: "x".repeat(3000) });
    expect(ok.ok).toBe(true);
    c.ws.send(JSON.stringify({ id: 99, op: "sendMessage", to: b.user.id, client_id: "huge", type: "text", content: "y".repeat(10_000) }));
    const closed = await c.waitClosed(5000);
    expect(closed.code).toBe(1009);
    // Nothing from the oversize frame was stored.
    const c2 = await connectTo(server, b);
    const msgs = await allMessages(c2, ok.message.channel);
    expect(msgs.map((m: any) => m.client_id)).toEqual(["small"]);
  }, 15_000);

  test("a live client (answers pings) stays connected across many heartbeats", async () => {
    const c = await connectTo(server, await makeUser(server, "Alive"));
    await sleep(2000);
    expect(c.closed).toBeNull();
    expect((await c.call("ping")).ok).toBe(true);
  }, 10_000);

  test("a client that never answers pings gets pings, then is closed, and goes offline for its contacts", async () => {
    const a = await makeUser(server, "Dead");
    const b = await makeUser(server, "Watcher");
    const cb = await connectTo(server, b);
    await cb.call("sendMessage", { to: a.user.id, client_id: "hb", type: "text", content: "share a channel" });
    const mark = cb.mark();
    const raw = await RawWs.open(server, `/ws?token=${encodeURIComponent(a.token)}`);
    const t0 = Date.now();
    try {
      expect(raw.response?.status).toBe(101);
      await raw.until(() => raw.texts().some((f) => f.ev === "hello"), 5000, "hello");
      await cb.event((e: any) => e.ev === "presence" && e.user === a.user.id && e.online === true, 5000, "online", mark);
      await raw.until(() => raw.pings() > 0 || raw.isClosed(), 5000, "a ping");
      expect(raw.pings()).toBeGreaterThan(0);
      await raw.until(() => raw.isClosed(), 8000, "server closes the dead client");
      expect(Date.now() - t0).toBeLessThan(8000);
      const off: any = await cb.event((e: any) => e.ev === "presence" && e.user === a.user.id && e.online === false, 5000, "offline", mark);
      expect(typeof off.last_seen).toBe("number");
    } finally {
      raw.destroy();
    }
  }, 20_000);
});

describe("slow consumer past the hard bound (--send-buffer-max-bytes 1048576; the stall rule out of reach)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      args: ["--send-buffer-bytes", "1048576", "--send-buffer-max-bytes", "1048576", "--slow-consumer-ms", "600000", "--rate-burst", "100000", "--rate-per-sec", "100000"],
    });
    servers.push(server);
  });

  test("a consumer that stops reading is disconnected and counted in natter_slow_consumers_total; others get everything; the server stays up", async () => {
    const fast = await makeUser(server, "Fast");
    const slow = await makeUser(server, "Slow");
    const sender = await makeUser(server, "Sender");
    const cs = await connectTo(server, sender);
    const cf = await connectTo(server, fast);
    const g = (await cs.call("createGroup", { name: "firehose", members: [fast.user.id, slow.user.id] })).channel;
    expect(await metric(server, "natter_slow_consumers_total")).toBe(0);

    // A raw socket for the slow user that completes the handshake and then stops reading.
    const sock: Socket = netConnect({ host: "127.0.0.1", port: server.port });
    let head = "";
    let ended = false;
    let received = 0;
    sock.on("end", () => (ended = true));
    sock.on("close", () => (ended = true));
    sock.on("error", () => (ended = true));
    await new Promise<void>((res, rej) => {
      sock.once("connect", () => {
        sock.write(
          `GET /ws?token=${encodeURIComponent(slow.token)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${Buffer.from("slow-consumer-00").toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const onData = (d: Buffer) => {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          sock.off("data", onData);
          sock.pause();
          if (!head.startsWith("HTTP/1.1 101")) rej(new Error(head));
          else res();
        }
      };
      sock.on("data", onData);
      setTimeout(() => rej(new Error("handshake timeout")), 5000);
    });

    // ~12 MB of messages, paced (8 in flight) so that readers that do read keep
    // up: far more than the paused socket's kernel buffers plus the 1 MiB bound.
    const body = "z".repeat(60_000);
    const n = 200;
    let sent = 0;
    const inflight = new Set<number>();
    const results: any[] = [];
    while (results.length < n) {
      while (sent < n && inflight.size < 8) {
        const id = cs.send("sendMessage", { channel: g.id, client_id: `s${sent++}`, type: "text", content: body });
        inflight.add(id);
        void cs.reply(id, 30_000).then((r) => {
          inflight.delete(id);
          results.push(r);
        });
      }
      await cs.until(() => (sent < n && inflight.size < 8) || results.length >= n, 30_000, "a reply");
    }
    expect(results.every((r) => r.ok)).toBe(true);
    expect(cs.closed).toBeNull();
    await cf.until(() => cf.events.filter((e: any) => e.ev === "message" && e.message.channel === g.id).length >= n, 30_000, "fast consumer got all");
    expect(cf.closed).toBeNull();

    // Now read what the slow socket was sent: it must end well before all n messages.
    sock.on("data", (d: Buffer) => (received += d.length));
    sock.resume();
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) await sleep(50);
    expect(ended).toBe(true);
    expect(received).toBeLessThan(n * 60_000);
    sock.destroy();
    // Counted once, when the server closed it; the fast reader and the sender were not.
    expect(await metric(server, "natter_slow_consumers_total")).toBe(1);

    // The slow user resyncs from history.
    const c2 = await connectTo(server, slow);
    const page = await c2.call("getMessages", { channel: g.id, after_seq: 0, limit: 200 });
    expect(page.messages.length).toBe(200);
    expect((await fetch(server.url + "/healthz")).status).toBe(200);
  }, 60_000);
});
