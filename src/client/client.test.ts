// NatterClient against a small in-process protocol peer, for what the real
// server makes hard to provoke on demand: refused tokens, a silent socket,
// pushes that skip seqs, rate limits. The real server is exercised in
// test/e2e/client-cli.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import type { Channel, Message } from "../protocol/index.ts";
import type { BackoffOptions } from "./backoff.ts";
import { until } from "../../test/support/until.ts";
import { NatterClient } from "./client.ts";

interface Peer {
  url: string;
  port: number;
  sockets: Set<ServerWebSocket<unknown>>;
  messages: Map<string, Message[]>;
  requests: Array<Record<string, any>>;
  /** Reply hook: return a reply body to override, or undefined for the default. */
  hook: ((f: Record<string, any>) => Record<string, unknown> | undefined | "silence") | null;
  heartbeatMs: number;
  acceptToken: string;
  closeWith4401: boolean;
  /** Refuse upgrades as a busy server does: 503 with a Retry-After. */
  busy: boolean;
  /** The `nodes` of hello (a cluster node's peers), if any. */
  nodes?: string[];
  push(m: Message): void;
  add(channel: string, content: string, sender?: string): Message;
  stop(): void;
}

const me = { id: "u_me", name: "Me", phone: "+1", last_seen: null };

function startPeer(): Peer {
  let seqs = new Map<string, number>();
  const peer: Peer = {
    url: "",
    port: 0,
    sockets: new Set(),
    messages: new Map(),
    requests: [],
    hook: null,
    heartbeatMs: 25_000,
    acceptToken: "good",
    closeWith4401: false,
    busy: false,
    push(m) {
      for (const s of peer.sockets) s.send(JSON.stringify({ ev: "message", message: m }));
    },
    add(channel, content, sender = "u_other") {
      const seq = (seqs.get(channel) ?? 0) + 1;
      seqs.set(channel, seq);
      const m: Message = {
        id: `${channel}:${seq}`, channel, seq, sender, client_id: crypto.randomUUID(), type: "text", content,
        media: null, reply_to: null, sent_at: Date.now(), delivered_at: null, seen_at: null, edited_at: null, deleted_at: null, reactions: [],
      };
      const list = peer.messages.get(channel) ?? [];
      list.push(m);
      peer.messages.set(channel, list);
      return m;
    },
    stop() {
      server.stop(true);
    },
  };
  const channel = (id: string): Channel => ({
    id, kind: "group", name: id, description: "", avatar_url: "", join: "invite", created_at: 0, members: [me.id], admins: [],
    last_seq: seqs.get(id) ?? 0, last_message: null, delivered_seq: 0, seen_seq: 0, unread: 0,
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const token = new URL(req.url).searchParams.get("token");
      if (peer.busy) {
        peer.requests.push({ op: "upgrade refused" });
        return new Response('{"ok":false,"error":{"code":"unavailable","message":"busy","retry_after_ms":3000}}', { status: 503, headers: { "retry-after": "3" } });
      }
      if (token === peer.acceptToken && srv.upgrade(req)) return;
      return new Response('{"ok":false,"error":{"code":"unauthorized","message":"bad token"}}', { status: 401 });
    },
    websocket: {
      open(ws) {
        if (peer.closeWith4401) return ws.close(4401, "unauthorized");
        peer.sockets.add(ws);
        ws.send(JSON.stringify({ ev: "hello", user: me, device: { id: "dv_1", name: "t", created_at: 0 }, heartbeat_ms: peer.heartbeatMs, protocol: 1, ...(peer.nodes && { nodes: peer.nodes }) }));
      },
      close(ws) {
        peer.sockets.delete(ws);
      },
      message(ws, data) {
        const f = JSON.parse(String(data));
        peer.requests.push(f);
        const over = peer.hook?.(f);
        if (over === "silence") return;
        const reply = (body: Record<string, unknown>): void => void ws.send(JSON.stringify({ re: f.id, ...body }));
        if (over) return reply(over);
        switch (f.op) {
          case "getAll":
            return reply({ ok: true, channels: [...peer.messages.keys()].map(channel) });
          case "getMessages": {
            const all = (peer.messages.get(f.channel) ?? []).filter((m) => m.seq > (f.after_seq ?? 0));
            const page = all.slice(0, f.limit ?? 50);
            return reply({ ok: true, messages: page, has_more: all.length > page.length });
          }
          case "sendMessage": {
            const ch = f.channel as string;
            const dup = (peer.messages.get(ch) ?? []).find((m) => m.client_id === f.client_id && m.sender === me.id);
            if (dup) return reply({ ok: true, message: dup });
            const m = peer.add(ch, f.content, me.id);
            m.client_id = f.client_id;
            return reply({ ok: true, message: m });
          }
          case "ping":
            return reply({ ok: true, at: Date.now() });
          default:
            return reply({ ok: false, error: { code: "bad_request", message: "unknown op" } });
        }
      },
    },
  });
  peer.port = server.port!;
  peer.url = `http://127.0.0.1:${server.port}`;
  return peer;
}

describe("NatterClient (protocol peer)", () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });
  const setup = (token = "good", backoff: BackoffOptions = { baseMs: 20, maxMs: 100 }) => {
    const peer = startPeer();
    const c = new NatterClient({ server: peer.url, token, backoff, requestTimeoutMs: 2000 });
    const got: Message[] = [];
    c.on("message", (m) => got.push(m));
    cleanup.push(() => c.close(), () => peer.stop());
    return { peer, c, got };
  };

  test("connects, learns who it is, and old history is the baseline", async () => {
    const { peer, c, got } = setup();
    peer.add("g_1", "old");
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    c.connect();
    await c.waitOpen();
    expect(c.me?.id).toBe("u_me");
    expect(c.device?.id).toBe("dv_1");
    expect(states).toEqual(["connecting", "open"]);
    expect(c.lastSeq("g_1")).toBe(1);
    expect(got).toEqual([]);
  });

  test("a push that skips seqs triggers a fetch; every message comes out once, in order", async () => {
    const { peer, c, got } = setup();
    peer.add("g_1", "a");
    c.connect();
    await c.waitOpen();
    const m2 = peer.add("g_1", "b");
    peer.add("g_1", "c");
    const m4 = peer.add("g_1", "d");
    peer.push(m4);
    await until(() => got.length === 3, "gap fill", 3000);
    peer.push(m2); // late duplicate
    peer.push(peer.add("g_1", "e")); // behind it on the same socket: once this is out, the duplicate was handled
    await until(() => got.length === 4, "the next message");
    expect(got.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    expect(peer.requests.some((r) => r.op === "getMessages" && r.after_seq === 1)).toBe(true);
  });

  test("reconnects after the socket drops and catches up on what it missed", async () => {
    const { peer, c, got } = setup();
    peer.add("g_1", "a");
    c.connect();
    await c.waitOpen();
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    for (const s of peer.sockets) s.close(1001, "going away");
    peer.add("g_1", "missed 1");
    peer.add("g_1", "missed 2");
    peer.add("g_2", "new chat");
    await until(() => states.includes("open"), "reopen", 3000);
    expect(states[0]).toBe("reconnecting");
    expect(got.map((m) => m.id)).toEqual(["g_1:2", "g_1:3", "g_2:1"]);
  });

  test("outbox: a send while disconnected goes out once after reconnect", async () => {
    const { peer, c, got } = setup();
    c.connect();
    await c.waitOpen();
    let swallow = true;
    peer.hook = (f) => (f.op === "sendMessage" && swallow ? "silence" : undefined);
    const p = c.sendMessage({ channel: "g_1", content: "hi" });
    await until(() => peer.requests.some((r) => r.op === "sendMessage"), "first attempt", 2000);
    for (const s of peer.sockets) s.close(1001, "bye");
    swallow = false;
    const m = await p;
    expect(m.content).toBe("hi");
    const attempts = peer.requests.filter((r) => r.op === "sendMessage");
    expect(new Set(attempts.map((r) => r.client_id)).size).toBe(1);
    expect(peer.messages.get("g_1")!.length).toBe(1);
    expect(got.map((x) => x.id)).toEqual([m.id]);
    expect(c.outbox()).toEqual([]);
  });

  test("outbox: rate_limited waits retry_after_ms and resends with the same client_id", async () => {
    const { peer, c } = setup();
    c.connect();
    await c.waitOpen();
    let limited = 2;
    peer.hook = (f) =>
      f.op === "sendMessage" && limited-- > 0 ? { ok: false, error: { code: "rate_limited", message: "slow down", retry_after_ms: 60 } } : undefined;
    const t0 = Date.now();
    const m = await c.sendMessage({ channel: "g_1", content: "x" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    const ids = peer.requests.filter((r) => r.op === "sendMessage").map((r) => r.client_id);
    expect(ids.length).toBe(3);
    expect(new Set(ids)).toEqual(new Set([m.client_id]));
  });

  test("outbox: a final error marks the entry failed; retry resends it with the same client_id", async () => {
    const { peer, c } = setup();
    c.connect();
    await c.waitOpen();
    peer.hook = (f) => (f.op === "sendMessage" ? { ok: false, error: { code: "forbidden", message: "not a member" } } : undefined);
    const err = await c.sendMessage({ channel: "g_1", content: "x" }).catch((e) => e);
    expect(err.code).toBe("forbidden");
    const [entry] = c.outbox();
    expect(entry).toMatchObject({ status: "failed", error: { code: "forbidden" }, content: "x" });
    peer.hook = null;
    const m = await c.retry(entry!.client_id);
    expect(m.client_id).toBe(entry!.client_id);
    expect(c.outbox()).toEqual([]);
  });

  test("sends go out in the order they were made", async () => {
    const { peer, c } = setup();
    const ps = Array.from({ length: 20 }, (_, i) => c.sendMessage({ channel: "g_1", content: String(i) }));
    c.connect();
    const ms = await Promise.all(ps);
    expect(ms.map((m) => m.content)).toEqual(ms.map((_, i) => String(i)));
    expect(peer.messages.get("g_1")!.map((m) => m.content)).toEqual(ms.map((_, i) => String(i)));
  });

  test("a refused token (HTTP 401) goes offline with unauthorized instead of retrying", async () => {
    const { peer, c } = setup("bad");
    c.connect();
    const err = await c.waitOpen(2000).catch((e) => e);
    expect(err.code).toBe("unauthorized");
    expect(c.state).toBe("offline");
    expect(c.error?.code).toBe("unauthorized");
    await Bun.sleep(100);
    expect(peer.requests).toEqual([]);
    expect((await c.request("ping", {}).catch((e) => e)).code).toBe("unauthorized");
  });

  test("close code 4401 also means unauthorized", async () => {
    const { peer, c } = setup();
    peer.closeWith4401 = true;
    c.connect();
    expect((await c.waitOpen(2000).catch((e) => e)).code).toBe("unauthorized");
    expect(c.state).toBe("offline");
  });

  test("a silent connection (no frame for 2x heartbeat) is dropped and replaced", async () => {
    const { peer, c } = setup();
    peer.heartbeatMs = 100;
    peer.hook = (f) => (f.op === "ping" ? "silence" : undefined);
    c.connect();
    await c.waitOpen();
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    await until(() => states.includes("reconnecting"), "dead connection detected", 2000);
    expect(peer.requests.some((r) => r.op === "ping")).toBe(true);
    peer.hook = null;
    await until(() => c.state === "open", "reopen", 2000);
  });

  test("a quiet but live connection is kept: the ping op answers", async () => {
    const { peer, c } = setup();
    peer.heartbeatMs = 400; // a ping after 400 ms of quiet; dropped only after 800 ms without an answer
    c.connect();
    await c.waitOpen();
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    await until(() => peer.requests.filter((r) => r.op === "ping").length >= 2, "two pings answered");
    expect(states).toEqual([]);
  });

  test("backoff: while the server is down the client waits, says when it retries, and comes back", async () => {
    const { peer, c } = setup();
    c.connect();
    await c.waitOpen();
    const port = peer.port;
    peer.stop();
    // While waiting between attempts it says when the next one is (null during an attempt).
    await until(() => c.state === "reconnecting" && c.nextRetryAt !== null, "reconnecting with a retry time", 2000);
    await Bun.sleep(150);
    const again = Bun.serve({ hostname: "127.0.0.1", port, fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })), websocket: {
      open: (ws) => void ws.send(JSON.stringify({ ev: "hello", user: me, device: { id: "dv_1", name: "t", created_at: 0 }, heartbeat_ms: 25000, protocol: 1 })),
      message: (ws, d) => { const f = JSON.parse(String(d)); ws.send(JSON.stringify({ re: f.id, ok: true, channels: [] })); },
    } });
    cleanup.push(() => again.stop(true));
    await c.waitOpen(3000);
    expect(c.state).toBe("open");
    expect(c.nextRetryAt).toBeNull();
  });

  test("started while nothing listens: connecting, then reconnecting with a fresh retry time per attempt", async () => {
    const peer = startPeer();
    const port = peer.port;
    peer.stop();
    // The jitter is pinned (half the ceiling: 10, 20, 30, 30 ms...), so each retry is a later time than the one before.
    const c = new NatterClient({ server: `http://127.0.0.1:${port}`, token: "good", backoff: { baseMs: 20, maxMs: 60, random: () => 0.5 } });
    cleanup.push(() => c.close());
    const seen: Array<[string, number | null]> = [];
    c.on("state", (s) => seen.push([s, c.nextRetryAt]));
    c.connect();
    await until(() => seen.filter(([s, at]) => s === "reconnecting" && at !== null).length >= 3, "three retries", 3000);
    expect(seen[0]).toEqual(["connecting", null]);
    expect(seen.every(([s]) => s === "connecting" || s === "reconnecting")).toBe(true);
    expect(seen.filter(([s]) => s === "connecting")).toHaveLength(1);
    // Each attempt: "reconnecting" without a time while it runs, then with the time of the next one.
    expect(seen.slice(1).map(([, at]) => at === null)).toEqual(seen.slice(1).map((_, i) => i % 2 === 1));
    const ats = seen.map(([, at]) => at).filter((at): at is number => at !== null);
    for (let i = 1; i < ats.length; i++) expect(ats[i]!).toBeGreaterThan(ats[i - 1]!);
  });

  test("reconnectNow connects at once instead of waiting out the backoff; it does nothing while connected", async () => {
    const { peer, c } = setup("good", { baseMs: 60_000, maxMs: 60_000, random: () => 0.999 });
    c.connect();
    await c.waitOpen();
    expect(c.reconnectNow()).toBe(false);
    for (const s of peer.sockets) s.close(1001, "going away");
    await until(() => c.nextRetryAt !== null, "a retry time", 2000);
    expect(c.nextRetryAt! - Date.now()).toBeGreaterThan(50_000);
    expect(c.reconnectNow()).toBe(true);
    await c.waitOpen(3000);
    expect(c.state).toBe("open");
  });

  test("retry-after is honoured past the cap: a catch-up refused with one waits at least that long", async () => {
    const { peer, c } = setup();
    let refusing = true;
    peer.hook = (f) => (f.op === "getAll" && refusing ? { ok: false, error: { code: "unavailable", message: "draining", retry_after_ms: 3000 } } : undefined);
    const waits: number[] = [];
    c.on("state", () => c.nextRetryAt !== null && waits.push(c.nextRetryAt - Date.now()));
    c.connect();
    await until(() => waits.length > 0, "a retry time", 2000);
    expect(waits[0]!).toBeGreaterThan(2900); // the cap here is 100 ms
    refusing = false;
    expect(c.reconnectNow()).toBe(true);
    await c.waitOpen(2000);
  });

  test("an upgrade refused with 503 (a busy server) is retried over the whole capped window, not the first short ceiling", async () => {
    const peer = startPeer();
    peer.busy = true;
    const c = new NatterClient({ server: peer.url, token: "good", backoff: { baseMs: 10, maxMs: 8000, random: () => 0.5 } });
    cleanup.push(() => c.close(), () => peer.stop());
    const waits: number[] = [];
    c.on("state", () => c.nextRetryAt !== null && waits.push(c.nextRetryAt - Date.now()));
    c.connect();
    await until(() => waits.length > 0, "a retry time", 2000);
    expect(waits[0]!).toBeGreaterThan(3900); // half of 8 s, where a first failure waits half of 10 ms
    expect(peer.requests).toEqual([{ op: "upgrade refused" }]);
  });

  test("catch-up waits out a rate limit, and recovers from a failure by reconnecting", async () => {
    const { peer, c } = setup();
    peer.add("g_1", "a");
    let limited = 1;
    let broken = 1;
    peer.hook = (f) => {
      if (f.op !== "getAll") return undefined;
      if (limited-- > 0) return { ok: false, error: { code: "rate_limited", message: "slow", retry_after_ms: 30 } };
      if (broken-- > 0) return { ok: false, error: { code: "internal", message: "oops" } };
      return undefined;
    };
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    c.connect();
    await c.waitOpen(3000);
    expect(peer.requests.filter((r) => r.op === "getAll")).toHaveLength(3);
    expect(states).toContain("reconnecting");
    expect(c.lastSeq("g_1")).toBe(1);
  });

  test("a resync catch-up refused unavailable is tried again after its retry-after; later pushes are not held back", async () => {
    const { peer, c, got } = setup();
    peer.add("g_1", "a");
    c.connect();
    await c.waitOpen();
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    let refuse = 1;
    peer.hook = (f) => (f.op === "getAll" && refuse-- > 0 ? { ok: false, error: { code: "unavailable", message: "shard moving", retry_after_ms: 100 } } : undefined);
    peer.add("g_1", "lost between nodes 1");
    peer.add("g_1", "lost between nodes 2");
    for (const s of peer.sockets) s.send(JSON.stringify({ ev: "resync" }));
    await until(() => got.length === 2, "the catch-up, tried again", 3000);
    expect(peer.requests.filter((r) => r.op === "getAll")).toHaveLength(3);
    peer.push(peer.add("g_1", "live"));
    await until(() => got.length === 3, "the next push", 3000);
    expect(got.map((m) => m.seq)).toEqual([2, 3, 4]);
    expect(states).toEqual([]); // no reconnect
  });

  test("resyncs that come while one runs (or before the hello's catch-up ends) make one more catch-up, not a reconnect", async () => {
    const { peer, c, got } = setup();
    peer.add("g_1", "a");
    let getAlls = 0;
    peer.hook = (f) => {
      // The hello's catch-up and the first resync: a resync arrives while each is under way.
      if (f.op === "getAll" && ++getAlls <= 2) for (const s of peer.sockets) s.send(JSON.stringify({ ev: "resync" }));
      return undefined;
    };
    c.connect();
    await c.waitOpen();
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    peer.add("g_1", "b");
    await until(() => getAlls >= 3, "the catch-ups", 3000);
    peer.push(peer.add("g_1", "c"));
    await until(() => got.length === 2, "both messages", 3000);
    expect(got.map((m) => m.seq)).toEqual([2, 3]);
    expect(states).toEqual([]);
  });

  test("request validates nothing itself but maps error replies to NatterError", async () => {
    const { c } = setup();
    c.connect();
    const err = await c.request("createInvite", { channel: "g_x" }).catch((e) => e);
    expect(err.name).toBe("NatterError");
    expect(err.code).toBe("bad_request");
  });

  test("sendMessage rejects bad params at once and keeps nothing", async () => {
    const { c } = setup();
    expect((await c.sendMessage({ content: "no target" }).catch((e) => e)).code).toBe("bad_request");
    expect((await c.sendMessage({ channel: "a", to: "b", content: "both" }).catch((e) => e)).code).toBe("bad_request");
    expect(c.outbox()).toEqual([]);
  });

  describe("several servers", () => {
    /** A client over `urls`, tried in the given order (the shuffle pinned to keep it). */
    const over = (urls: string[]) => {
      const c = new NatterClient({ servers: urls, token: "good", backoff: { baseMs: 20, maxMs: 100 }, requestTimeoutMs: 2000, random: () => 0.99 });
      cleanup.push(() => c.close());
      return c;
    };
    const peers = (n: number) =>
      Array.from({ length: n }, () => {
        const p = startPeer();
        cleanup.push(() => p.stop());
        return p;
      });
    const deadUrl = () => {
      const p = startPeer();
      p.stop();
      return p.url;
    };

    test("a URL where nothing listens is passed over for the next", async () => {
      const [b] = peers(1);
      const c = over([deadUrl(), b!.url]);
      const seen: string[] = [];
      c.on("state", () => seen.push(c.server));
      c.connect();
      await c.waitOpen();
      expect(c.server).toBe(b!.url);
      expect(seen[0]).not.toBe(b!.url);
    });

    test("close code 4503 (node unavailable) moves to the other node; the outbox is resent there once", async () => {
      const [a, b] = peers(2);
      const c = over([a!.url, b!.url]);
      c.connect();
      await c.waitOpen();
      expect(c.server).toBe(a!.url);
      a!.hook = (f) => (f.op === "sendMessage" ? "silence" : undefined);
      const p = c.sendMessage({ channel: "g_1", content: "hi" });
      await until(() => a!.requests.some((r) => r.op === "sendMessage"), "the send on a", 2000);
      for (const s of a!.sockets) s.close(4503, "node unavailable");
      const m = await p;
      expect(c.server).toBe(b!.url);
      expect(b!.messages.get("g_1")!.map((x) => x.client_id)).toEqual([m.client_id]);
      expect(a!.requests.find((r) => r.op === "sendMessage")!.client_id).toBe(m.client_id);
    });

    test("a node that closed with 4503 is not tried again before a wait within the cap; the other node is tried at once", async () => {
      const [a, b] = peers(2);
      const c = new NatterClient({ servers: [a!.url, b!.url], token: "good", backoff: { baseMs: 10, maxMs: 8000, random: () => 0.5 }, random: () => 0.99 });
      cleanup.push(() => c.close());
      c.connect();
      await c.waitOpen();
      b!.stop(); // the other node is down too: the client comes back to a, which must wait
      const waits: Array<[string, number]> = [];
      c.on("state", () => c.nextRetryAt !== null && waits.push([c.server, c.nextRetryAt - Date.now()]));
      for (const s of a!.sockets) s.close(4503, "node unavailable");
      await until(() => waits.some(([u]) => u === a!.url), "a retry time for a", 3000);
      const [first, back] = [waits[0]!, waits.find(([u]) => u === a!.url)!];
      expect(first[0]).toBe(b!.url);
      expect(first[1]).toBeLessThan(100); // half of the first 10 ms ceiling
      expect(back[1]).toBeGreaterThan(3000); // a's deferral: half of 8 s, less the time spent on b
    });

    test("repeated unavailable answers move to the other node; one server only keeps retrying where it is", async () => {
      const [a, b] = peers(2);
      const c = over([a!.url, b!.url]);
      c.connect();
      await c.waitOpen();
      a!.hook = (f) => (f.op === "sendMessage" ? { ok: false, error: { code: "unavailable", message: "not in a quorum", retry_after_ms: 10 } } : undefined);
      const m = await c.sendMessage({ channel: "g_1", content: "hi" });
      expect(c.server).toBe(b!.url);
      expect(a!.requests.filter((r) => r.op === "sendMessage").length).toBe(2);
      expect(b!.messages.get("g_1")!.length).toBe(1);
      expect(m.content).toBe("hi");

      // The same answers from the only server: the client stays on it and resends until it stores.
      const [solo] = peers(1);
      const one = over([solo!.url]);
      one.connect();
      await one.waitOpen();
      let refusals = 3;
      solo!.hook = (f) => (f.op === "sendMessage" && refusals-- > 0 ? { ok: false, error: { code: "unavailable", message: "busy", retry_after_ms: 10 } } : undefined);
      const states: string[] = [];
      one.on("state", (s) => states.push(s));
      await one.sendMessage({ channel: "g_1", content: "hi" });
      expect(states).toEqual([]);
      expect(solo!.requests.filter((r) => r.op === "sendMessage").length).toBe(4);
    });

    test("hello's nodes are learned after the given URLs, and the client moves to them", async () => {
      const [a, b] = peers(2);
      a!.nodes = [a!.url, b!.url];
      const c = over([a!.url]);
      const learned: string[][] = [];
      c.on("servers", (s) => learned.push(s));
      c.connect();
      await c.waitOpen();
      expect(learned).toEqual([[a!.url, b!.url]]);
      expect(c.learnedServers).toEqual([b!.url]);
      a!.stop();
      await until(() => c.state === "open" && c.server === b!.url, "open on the learned node", 3000);
      expect(learned.length).toBe(1);
    });
  });
});
