// The slow-consumer rule: a connection that stopped reading is closed once its
// send buffer has stayed over --send-buffer-bytes without draining for
// --slow-consumer-ms; a client that reads, however far behind during a burst,
// is kept and gets everything. (The hard bound is in server-limits.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect, type Socket } from "node:net";
import { makeUser, startServer, until, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { metric } from "./media-helpers.ts";

let server: TestServer;
const open: WsClient[] = [];
beforeAll(async () => {
  server = await startServer({
    args: ["--send-buffer-bytes", "1048576", "--slow-consumer-ms", "5000", "--rate-burst", "100000", "--rate-per-sec", "100000"],
  });
}, 60_000);
afterAll(async () => {
  for (const c of open) c.close();
  await server?.cleanup();
});
async function connectTo(u: TestUser): Promise<WsClient> {
  const c = await WsClient.connect(server, u.token);
  open.push(c);
  return c;
}

/** A raw websocket for `u` whose reading the test controls (paused after the handshake). */
async function rawSocket(u: TestUser): Promise<{ sock: Socket; closed: () => boolean; received: () => number }> {
  const sock: Socket = netConnect({ host: "127.0.0.1", port: server.port });
  let head = "";
  let closed = false;
  let received = 0;
  sock.on("close", () => (closed = true));
  sock.on("error", () => (closed = true));
  await new Promise<void>((res, rej) => {
    sock.once("connect", () =>
      sock.write(
        `GET /ws?token=${encodeURIComponent(u.token)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${Buffer.from("slow-consumer-01").toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const onHead = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      sock.off("data", onHead);
      sock.pause();
      sock.on("data", (d: Buffer) => (received += d.length));
      if (!head.startsWith("HTTP/1.1 101")) rej(new Error(head));
      else res();
    };
    sock.on("data", onHead);
    setTimeout(() => rej(new Error("handshake timeout")), 10_000);
  });
  return { sock, closed: () => closed, received: () => received };
}

/** Three members each send `each` messages of 60 KB to group `g`, all pipelined at once; resolves when all are acked. */
async function burst(senders: WsClient[], g: string, each: number): Promise<void> {
  const body = "z".repeat(60_000);
  const replies = senders.flatMap((c, k) =>
    Array.from({ length: each }, (_, i) => c.reply(c.send("sendMessage", { channel: g, client_id: `b${k}-${i}-${Math.random()}`, type: "text", content: body }), 60_000)),
  );
  const results = await Promise.all(replies);
  expect(results.every((r: any) => r.ok)).toBe(true);
}

describe("slow consumers (--send-buffer-bytes 1 MiB, --slow-consumer-ms 5000: a busy test machine must not stall the reading client that long)", () => {
  test("a client that reads, behind by far more than the bound during a 16 MB burst from three members, is kept and gets it all", async () => {
    const users = await Promise.all(["A", "B", "C", "Reader"].map((n) => makeUser(server, n)));
    const senders = await Promise.all(users.slice(0, 3).map(connectTo));
    const g = (await senders[0]!.call("createGroup", { name: "burst", members: users.slice(1).map((u) => u.user.id) })).channel;
    const reader = await rawSocket(users[3]!);
    // Reads about 5 MB/s: 512 KB, then a 100 ms pause, over and over.
    let stop = false;
    void (async () => {
      let mark = 0;
      while (!stop && !reader.closed()) {
        reader.sock.resume();
        await until(() => stop || reader.closed() || reader.received() - mark >= 512 * 1024, 30_000, "a chunk");
        reader.sock.pause();
        mark = reader.received();
        await Bun.sleep(100);
      }
    })();
    const each = 90; // 3 x 90 x 60 KB = 16.2 MB
    await burst(senders, g.id, each);
    try {
      await until(() => reader.closed() || reader.received() >= 3 * each * 60_000, 60_000, "the reader got the whole burst");
      expect(reader.closed()).toBe(false);
      expect(await metric(server, "natter_slow_consumers_total")).toBe(0);
    } finally {
      stop = true;
      reader.sock.destroy();
    }
  }, 120_000);

  test("a client that stops reading is closed after --slow-consumer-ms without draining, counted once; the others get everything", async () => {
    const before = await metric(server, "natter_slow_consumers_total");
    const users = await Promise.all(["S1", "S2", "Fast", "Stopped"].map((n) => makeUser(server, n)));
    const senders = await Promise.all(users.slice(0, 2).map(connectTo));
    const fast = await connectTo(users[2]!);
    const g = (await senders[0]!.call("createGroup", { name: "stall", members: users.slice(1).map((u) => u.user.id) })).channel;
    const stopped = await rawSocket(users[3]!); // never resumed
    const each = 100; // 12 MB: far past the kernel's buffers and the 1 MiB bound, far under the 64 MiB hard bound
    await burst(senders, g.id, each);
    // Counted once, when the server closed it (a paused socket sees the close only once it reads again).
    await until(async () => (await metric(server, "natter_slow_consumers_total")) === before + 1, 30_000, "the stopped reader counted");
    stopped.sock.resume();
    await until(() => stopped.closed(), 30_000, "the stopped reader closed");
    expect(stopped.received()).toBeLessThan(2 * each * 60_000);
    await fast.until(() => fast.events.filter((e: any) => e.ev === "message" && e.message.channel === g.id).length >= 2 * each, 30_000, "fast got all");
    expect(fast.closed).toBeNull();
    expect(senders.every((s) => s.closed === null)).toBe(true);
    expect(await metric(server, "natter_slow_consumers_total")).toBe(before + 1);
    stopped.sock.destroy();
  }, 120_000);
});
