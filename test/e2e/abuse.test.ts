// Resource abuse, each bounded by a documented limit while the server stays
// responsive to others. A canary conversation (A sends to B, one message at a
// time) runs through every phase: its ack latency p50/p99 is PRINTED per phase,
// never asserted; what is asserted is each limit's behaviour (refusals with
// the right codes) and that B gets every canary message, once, in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { makeUser, startServer, until, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { filesUnder } from "./media-helpers.ts";
import { RawWs } from "./server-helpers.ts";

const PER_USER = 8;
let server: TestServer;
let a: WsClient;
let b: WsClient;
let aUser: TestUser;
let bUser: TestUser;
const open: WsClient[] = [];
const connect = async (u: TestUser) => {
  const c = await WsClient.connect(server, u.token);
  open.push(c);
  return c;
};

beforeAll(async () => {
  server = await startServer({
    args: ["--max-connections-per-user", String(PER_USER), "--login-lockout-ms", "600000"],
    env: { NATTER_LOGIN_FAILURE_BURST: "20" }, // the default (the harness raises it for other files)
  });
  const [ua, ub] = await Promise.all([makeUser(server, "CanaryA"), makeUser(server, "CanaryB")]);
  [aUser, bUser] = [ua, ub];
  [a, b] = await Promise.all([connect(ua), connect(ub)]);
}, 60_000);
afterAll(async () => {
  for (const c of open) c.close();
  await server?.cleanup();
});

/** Sends `frames` pipelined on a fresh websocket of `u` and resolves with every reply (by id), counted as they arrive. */
async function flood(u: TestUser, frames: Array<Record<string, unknown>>): Promise<any[]> {
  const ws = new WebSocket(`${server.wsUrl}?token=${u.token}`);
  const replies: any[] = [];
  await new Promise<void>((res, rej) => {
    ws.onerror = () => rej(new Error("flood socket failed"));
    ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if (f.ev === "hello") {
        frames.forEach((fr, i) => ws.send(JSON.stringify({ id: i, ...fr })));
        return;
      }
      if (!("re" in f)) return;
      replies.push(f);
      if (replies.length === frames.length) res();
    };
  });
  ws.close();
  return replies;
}

let sent = 0;
/** Runs the canary while `abuse` runs; prints its latency; checks B got every canary message so far, in order. */
async function withCanary<T>(phase: string, abuse: () => Promise<T>): Promise<T> {
  const lat: number[] = [];
  let running = true;
  const canary = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await a.call("sendMessage", { to: bUser.user.id, client_id: `canary-${sent}`, type: "text", content: `c${sent}` });
      expect(r.message.content).toBe(`c${sent}`);
      sent++;
      lat.push(performance.now() - t0);
      await Bun.sleep(5);
    }
  })();
  let result: T;
  try {
    result = await abuse();
  } finally {
    running = false;
    await canary;
  }
  lat.sort((x, y) => x - y);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1);
  console.log(`[abuse] ${phase}: canary ${lat.length} sends, ack p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
  const got = await b.until(() => {
    const m = b.events.filter((e: any) => e.ev === "message" && e.message.sender === aUser.user.id);
    return m.length >= sent && m;
  }, 30_000, "B got every canary message");
  expect(got.map((e: any) => e.message.content)).toEqual(Array.from({ length: sent }, (_, i) => `c${i}`));
  const seqs = got.map((e: any) => e.message.seq);
  expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => seqs[0] + i));
  return result!;
}

describe("abuse, with a canary conversation alongside", () => {
  test("many connections from one user: past --max-connections-per-user the upgrade is 429 rate_limited; a closed one frees a place", async () => {
    const hog = await makeUser(server, "Hog");
    await withCanary("connections per user", async () => {
      const conns = await Promise.all(Array.from({ length: PER_USER }, () => connect(hog)));
      const refused: number[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await RawWs.open(server, `/ws?token=${hog.token}`);
        refused.push(r.response?.status ?? 0);
        r.destroy();
      }
      expect(refused).toEqual(Array(50).fill(429));
      conns[0]!.close();
      await until(async () => {
        const r = await RawWs.open(server, `/ws?token=${hog.token}`);
        const s = r.response?.status;
        r.destroy();
        return s === 101;
      }, 10_000, "a place freed");
    });
  }, 60_000);

  test("a flood of typing events is rate limited per device (rate_limited with retry_after_ms); every frame is answered", async () => {
    const typist = await makeUser(server, "Typist");
    const c = await connect(typist);
    await c.call("sendMessage", { to: bUser.user.id, client_id: "hi", type: "text", content: "hi" });
    const ch = (await c.call("getAll")).channels[0].id;
    const replies = await withCanary("typing flood (3000 frames)", () =>
      flood(typist, Array.from({ length: 3000 }, (_, i) => ({ op: "typing", channel: ch, state: i % 2 ? "start" : "stop" }))),
    );
    const limited = replies.filter((r: any) => !r.ok);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((r: any) => r.error.code === "rate_limited" && r.error.retry_after_ms > 0)).toBe(true);
  }, 120_000);

  test("thousands of requests in flight on one socket: each answered, past the device's burst rate_limited", async () => {
    const greedy = await makeUser(server, "Greedy");
    const replies = await withCanary("5000 requests in flight on one socket", () => flood(greedy, Array.from({ length: 5000 }, () => ({ op: "getAll" }))));
    const ok = replies.filter((r: any) => r.ok).length;
    expect(ok).toBeGreaterThanOrEqual(300); // the default burst
    expect(replies.filter((r: any) => !r.ok).every((r: any) => r.error.code === "rate_limited")).toBe(true);
    expect(ok).toBeLessThan(5000);
  }, 180_000);

  test("an admin adding and removing members in a loop: every op answered (ok, or rate_limited and then ok), the group consistent", async () => {
    const [admin, ...others] = await Promise.all(["Looper", "M1", "M2", "M3"].map((n) => makeUser(server, n)));
    const c = await connect(admin!);
    const g = (await c.call("createGroup", { name: "churn", members: [others[0]!.user.id] })).channel;
    let limited = 0;
    // A refused op is retried after its retry_after_ms, so every add is followed by its remove.
    const attempt = async (op: string, params: Record<string, unknown> = {}): Promise<any> => {
      for (;;) {
        const r = await c.request(op, params);
        if (r.ok || r.error.code !== "rate_limited") return r;
        limited++;
        await Bun.sleep(r.error.retry_after_ms ?? 10);
      }
    };
    const code = (r: any): string => (r.ok ? "ok" : r.error.code);
    const codes = await withCanary("admin add/remove loop (300 rounds)", async () => {
      const out: string[] = [];
      for (let i = 0; i < 300; i++) {
        const u = others[1 + (i % 2)]!.user.id;
        out.push(code(await attempt("addMembers", { channel: g.id, members: [u] })), code(await attempt("removeMember", { channel: g.id, user: u })));
      }
      return out;
    });
    console.log(`  admin add/remove loop: ${limited} refusals with rate_limited, each retried`);
    expect(codes.filter((x) => x !== "ok")).toEqual([]);
    const all = await attempt("getAll");
    expect(all.ok).toBe(true);
    const final = all.channels.find((x: any) => x.id === g.id);
    expect([...final.members].sort()).toEqual([admin!.user.id, others[0]!.user.id].sort());
  }, 180_000);

  test("uploads cut off halfway keep nothing half-written", async () => {
    const up = await makeUser(server, "Uploader");
    await withCanary("20 uploads cut off halfway", async () => {
      for (let i = 0; i < 20; i++) {
        const sock = netConnect({ host: "127.0.0.1", port: server.port });
        await new Promise<void>((res) => sock.once("connect", () => res()));
        sock.write(`POST /api/media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${up.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 2000000\r\n\r\n`);
        sock.write(Buffer.alloc(1_000_000, 7));
        await Bun.sleep(20);
        sock.destroy();
      }
      await until(() => filesUnder(server, "tmp").length === 0, 30_000, "no temp file left");
    });
    expect(filesUnder(server, "blobs")).toEqual([]);
  }, 120_000);

  test("a flood of bad-token upgrades and wrong login codes from one address: 401 up to the burst, then 429 rate_limited", async () => {
    const statuses = await withCanary("bad-token upgrades and wrong codes (1000)", async () => {
      const out: number[] = [];
      for (let i = 0; i < 500; i++) {
        const r = await RawWs.open(server, `/ws?token=nt_forged${i}`);
        out.push(r.response?.status ?? 0);
        r.destroy();
        const l = await fetch(server.url + "/api/login", { method: "POST", body: JSON.stringify({ code: `ABCD-EFGH-${i}` }) });
        out.push(l.status);
      }
      return out;
    });
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    expect(statuses.slice(40)).toEqual(Array(statuses.length - 40).fill(429));
  }, 180_000);
});
