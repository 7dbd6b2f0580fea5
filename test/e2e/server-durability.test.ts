// Durability: kill -9 during a send storm and SIGTERM during sends. Every
// acknowledged message must survive a restart on the same data dir, with its
// seq, without duplicates, with dense seqs; state (users, tokens, groups,
// receipts) survives too.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { addDevice, makeUser, startServer, tempDir, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { allMessages, sleep } from "./server-helpers.ts";

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const FAST = ["--rate-burst", "1000000", "--rate-per-sec", "1000000"];

async function boot(dataDir: string): Promise<TestServer> {
  const s = await startServer({ dataDir, args: FAST });
  servers.push(s);
  return s;
}

interface Acked {
  channel: string;
  seq: number;
  id: string;
  sender: string;
  client_id: string;
  content: string;
}

/**
 * One storm sender: keeps `window` sendMessage requests in flight on its own
 * websocket, round-robin over `channels`, until the socket dies or `stop()`.
 */
class StormSender {
  readonly acked: Acked[] = [];
  /** Acks whose message does not match the request they answer (must stay 0). */
  mismatches = 0;
  readonly attempted = new Map<string, { channel: string; content: string }>();
  private ws: WebSocket;
  private pending = new Map<number, { channel: string; client_id: string; content: string }>();
  private next = 1;
  private n = 0;
  private running = true;
  readonly done: Promise<void>;

  constructor(server: TestServer, private user: TestUser, private tag: string, private channels: string[], private window = 32) {
    this.ws = new WebSocket(`${server.wsUrl}?token=${encodeURIComponent(user.token)}`);
    this.done = new Promise<void>((res) => {
      this.ws.onclose = () => {
        this.running = false;
        res();
      };
    });
    this.ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if (f.ev === "hello") return this.pump();
      if (f.ev) return;
      const p = this.pending.get(f.re);
      if (!p) return;
      this.pending.delete(f.re);
      if (f.ok) {
        const m = f.message;
        this.acked.push({ channel: m.channel, seq: m.seq, id: m.id, sender: m.sender, client_id: m.client_id, content: m.content });
        if (m.client_id !== p.client_id || m.channel !== p.channel || m.content !== p.content) this.mismatches++;
      }
      this.pump();
    };
  }

  private pump() {
    while (this.running && this.pending.size < this.window && this.ws.readyState === WebSocket.OPEN) {
      const id = this.next++;
      const k = this.n++;
      const channel = this.channels[k % this.channels.length]!;
      const client_id = `${this.tag}-${k}`;
      const content = `${this.tag} #${k}`;
      this.pending.set(id, { channel, client_id, content });
      this.attempted.set(client_id, { channel, content });
      this.ws.send(JSON.stringify({ id, op: "sendMessage", channel, client_id, type: "text", content }));
    }
  }

  stop() {
    this.running = false;
  }
  close() {
    this.running = false;
    try {
      this.ws.close();
    } catch {}
  }
  get user_id() {
    return this.user.user.id;
  }
}

/** Sets up users A (two devices), B, C; a group of all three and an A-B direct chat. */
async function setup(server: TestServer) {
  const a = await makeUser(server, "StormA", "phone");
  const a2 = await addDevice(server, a.user.id, "laptop");
  const b = await makeUser(server, "StormB");
  const c = await makeUser(server, "StormC");
  const ca = await WsClient.connect(server, a.token);
  const g = (await ca.call("createGroup", { name: "storm", members: [b.user.id, c.user.id] })).channel.id;
  const d = (await ca.call("sendMessage", { to: b.user.id, client_id: "seed", type: "text", content: "seed" })).message.channel;
  ca.close();
  return { a, a2, b, c, g, d };
}

/** Checks the history after restart against everything acknowledged before. */
async function verify(server: TestServer, reader: TestUser, channels: string[], senders: StormSender[]) {
  const c = await WsClient.connect(server, reader.token);
  try {
    const byChannel = new Map<string, any[]>();
    for (const ch of channels) {
      const msgs = await allMessages(c, ch);
      // Dense seqs 1..N, ascending.
      expect(msgs.map((m: any) => m.seq)).toEqual(Array.from({ length: msgs.length }, (_, i) => i + 1));
      // No (sender, client_id) twice.
      const keys = msgs.map((m: any) => `${m.sender}/${m.client_id}`);
      expect(new Set(keys).size).toBe(keys.length);
      byChannel.set(ch, msgs);
      const info = (await c.call("getAll")).channels.find((x: any) => x.id === ch);
      expect(info.last_seq).toBe(msgs.length);
    }
    expect(senders.map((s) => s.mismatches)).toEqual(senders.map(() => 0));
    let total = 0;
    const missing: Acked[] = [];
    for (const s of senders) {
      for (const m of s.acked) {
        total++;
        const got = byChannel.get(m.channel)![m.seq - 1];
        if (!got || got.id !== m.id || got.client_id !== m.client_id || got.sender !== m.sender || got.content !== m.content) missing.push(m);
      }
    }
    expect(missing.slice(0, 5)).toEqual([]);
    return { total, c, byChannel };
  } catch (e) {
    c.close();
    throw e;
  }
}

describe("crash safety", () => {
  test("kill -9 during a send storm: every acked message survives with its seq; no duplicates; dense; resends are idempotent", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let server = await boot(dir);
    const { a, a2, b, c, g, d } = await setup(server);
    const senders = [
      new StormSender(server, a, "a1", [g, d]),
      new StormSender(server, a2, "a2", [g, d]),
      new StormSender(server, b, "b", [g, d]),
      new StormSender(server, c, "c", [g]),
    ];
    // Storm until enough acks (or time), then kill without warning.
    const t0 = Date.now();
    while (Date.now() - t0 < 4000 && senders.reduce((n, s) => n + s.acked.length, 0) < 3000) await sleep(50);
    await sleep(Math.random() * 100);
    await server.kill();
    await Promise.race([Promise.all(senders.map((s) => s.done)), sleep(3000)]);
    for (const s of senders) s.close();
    const ackedBefore = senders.reduce((n, s) => n + s.acked.length, 0);
    expect(ackedBefore).toBeGreaterThan(100);
    // The kill really landed mid-storm: requests were in flight, unanswered.
    expect(senders.reduce((n, s) => n + s.attempted.size, 0)).toBeGreaterThan(ackedBefore);

    server = await boot(dir);
    const { total, c: reader, byChannel } = await verify(server, a, [g, d], senders);
    expect(total).toBe(ackedBefore);

    // Resending every attempted client_id (acked or not) is idempotent: acked
    // ones return the original; others get new seqs; seqs stay dense.
    for (const s of senders) {
      const u = s === senders[0] ? a : s === senders[1] ? a2 : s === senders[2] ? b : c;
      const cl = await WsClient.connect(server, u.token);
      const ackedIds = new Map(s.acked.map((m) => [m.client_id, m]));
      const entries = [...s.attempted.entries()];
      const ids = entries.map(([client_id, p]) => cl.send("sendMessage", { channel: p.channel, client_id, type: "text", content: p.content }));
      const rs = await Promise.all(ids.map((i) => cl.reply(i, 30_000)));
      for (const [i, r] of rs.entries()) {
        expect(r.ok).toBe(true);
        const prev = ackedIds.get(entries[i]![0]);
        if (prev) expect({ id: r.message.id, seq: r.message.seq }).toEqual({ id: prev.id, seq: prev.seq });
      }
      cl.close();
    }
    for (const ch of [g, d]) {
      const msgs = await allMessages(reader, ch);
      expect(msgs.map((m: any) => m.seq)).toEqual(Array.from({ length: msgs.length }, (_, i) => i + 1));
      const keys = msgs.map((m: any) => `${m.sender}/${m.client_id}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(msgs.length).toBeGreaterThanOrEqual(byChannel.get(ch)!.length);
    }
    const attempted = senders.reduce((n, s) => n + s.attempted.size, 0);
    const stored = (await allMessages(reader, g)).length + (await allMessages(reader, d)).length;
    expect(stored).toBe(attempted + 1); // + the seed message
    reader.close();
    await server.stop();
  }, 90_000);

  test("SIGTERM during sends drains: exit code 0 and no acked message lost", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let server = await boot(dir);
    const { a, a2, b, c, g, d } = await setup(server);
    const senders = [
      new StormSender(server, a, "a1", [g, d]),
      new StormSender(server, a2, "a2", [g]),
      new StormSender(server, b, "b", [d, g]),
      new StormSender(server, c, "c", [g]),
    ];
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 && senders.reduce((n, s) => n + s.acked.length, 0) < 1500) await sleep(50);
    const code = await Promise.race([server.stop(), sleep(15_000).then(() => "timeout" as const)]);
    expect(code).toBe(0);
    await Promise.race([Promise.all(senders.map((s) => s.done)), sleep(3000)]);
    for (const s of senders) s.close();
    const acked = senders.reduce((n, s) => n + s.acked.length, 0);
    expect(acked).toBeGreaterThan(100);

    server = await boot(dir);
    const { total, c: reader } = await verify(server, a, [g, d], senders);
    expect(total).toBe(acked);
    reader.close();
  }, 60_000);

  test("state survives a restart: users, tokens, groups, receipts", async () => {
    const dir = tempDir();
    dirs.push(dir);
    let server = await boot(dir);
    const a = await makeUser(server, "Keep");
    const b = await makeUser(server, "Kept");
    let ca = await WsClient.connect(server, a.token);
    let cb = await WsClient.connect(server, b.token);
    const g = (await ca.call("createGroup", { name: "persist", description: "d", members: [b.user.id] })).channel;
    await ca.call("sendMessage", { channel: g.id, client_id: "k1", type: "text", content: "one" });
    await ca.call("sendMessage", { channel: g.id, client_id: "k2", type: "text", content: "two" });
    await cb.call("markDelivered", { channel: g.id, seq: 2 });
    await cb.call("markSeen", { channel: g.id, seq: 1 });
    const before = (await cb.call("getAll")).channels;
    ca.close();
    cb.close();
    expect(await server.stop()).toBe(0);

    server = await boot(dir);
    ca = await WsClient.connect(server, a.token); // the old token still works
    cb = await WsClient.connect(server, b.token);
    const after = (await cb.call("getAll")).channels;
    const pick = (xs: any[]) => xs.map(({ id, name, description, members, admins, last_seq, delivered_seq, seen_seq, unread }) => ({ id, name, description, members: [...members].sort(), admins, last_seq, delivered_seq, seen_seq, unread }));
    expect(pick(after)).toEqual(pick(before));
    expect(pick(after)[0]).toMatchObject({ last_seq: 2, delivered_seq: 2, seen_seq: 1, unread: 1 });
    const msgs = await allMessages(ca, g.id);
    expect(msgs.map((m: any) => [m.seq, m.content, typeof m.delivered_at, m.seen_at === null])).toEqual([
      [1, "one", "number", false],
      [2, "two", "number", true],
    ]);
    // Seqs continue densely after the restart.
    const m3 = (await ca.call("sendMessage", { channel: g.id, client_id: "k3", type: "text", content: "three" })).message;
    expect(m3.seq).toBe(3);
    ca.close();
    cb.close();
  }, 30_000);
});
