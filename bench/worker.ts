// A load-generator process: holds websocket clients that speak protocol v1,
// sends at the rate the parent asks for, and measures send -> ack and
// send -> deliver latency, loss and duplicates. Driven over Bun IPC by
// bench/lib/pool.ts; imports no server code.

import { Histogram } from "./lib/histogram.ts";
import type { ClientSpec, ConnectResult, FromWorker, HistoryResult, MediaResult, ReconnectPolicy, RunResult, SenderSpec, ToWorker } from "./lib/messages.ts";

type Pending = { t: number; sender: number; n: number } | { t: number; resolve: (f: any) => void };

const reply = (m: FromWorker) => process.send!(m);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const bump = (o: Record<string, number>, k: string, by = 1) => (o[k] = (o[k] ?? 0) + by);

class Client {
  ws: WebSocket | null = null;
  ready = false;
  nextId = 1;
  pending = new Map<number, Pending>();
  inflight = 0;
  /** Receiver state: last n seen per sender index. */
  lastN = new Map<number, number>();
  attempts = 0;
  /** Failed attempts since the last hello (the backoff exponent). */
  failStreak = 0;
  closedByUs = false;
  constructor(readonly idx: number, readonly spec: ClientSpec) {}

  request(op: string, params: Record<string, unknown>): Promise<any> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { t: performance.now(), resolve });
      this.ws!.send(JSON.stringify({ id, op, ...params }));
    });
  }
}

let wsUrl = "";
let clients: Client[] = [];
let policy: ReconnectPolicy | undefined;
let lastHelloAt = 0;
let totalAttempts = 0;
let failures = 0;
/** Ready connections the server closed, by close code. */
const dropped: Record<string, number> = {};

// ---- measurement state of the current run ----
let run: Extract<ToWorker, { t: "run" }> | null = null;
let winStart = 0;
let winEnd = 0;
const deliver = new Histogram();
const ack = new Histogram();
let acked = 0;
let ackedAll = 0;
let deliveries = 0;
let expected = 0;
let unique = 0;
let duplicates = 0;
let errors: Record<string, number> = {};
let senderInflight = 0;
let selfEchoes = 0;

const CONTENT = '"content":"s';

/** Fast path for the two frames that carry the load: our message events and sendMessage replies. */
function onFrame(c: Client, data: string): void {
  if (data.startsWith('{"ev":"message"')) {
    const i = data.indexOf(CONTENT);
    if (i < 0) return; // not one of ours (e.g. "first")
    const from = i + CONTENT.length;
    const a = data.indexOf(":", from);
    const b = data.indexOf(":", a + 1);
    const e = data.indexOf(":", b + 1);
    return onDelivery(c, Number(data.slice(from, a)), Number(data.slice(a + 1, b)), Number(data.slice(b + 1, e)));
  }
  if (data.startsWith('{"re":')) {
    const comma = data.indexOf(",", 6);
    const re = Number(data.slice(6, comma));
    const p = c.pending.get(re);
    if (p && !("resolve" in p)) {
      if (data.startsWith('"ok":true', comma + 1)) return onAck(c, re, p, true, "");
      const f = JSON.parse(data);
      return onAck(c, re, p, false, f.error?.code ?? "unknown");
    }
  }
  const f = JSON.parse(data);
  if (f.re !== undefined) {
    const p = c.pending.get(f.re);
    if (!p) return;
    if ("resolve" in p) {
      c.pending.delete(f.re);
      return p.resolve(f);
    }
    return onAck(c, f.re, p, f.ok === true, f.error?.code ?? "unknown");
  }
  if (f.ev === "hello") {
    c.ready = true;
    c.failStreak = 0;
    lastHelloAt = performance.now();
    const w = helloWaiters.get(c);
    if (w) {
      helloWaiters.delete(c);
      w(true);
    }
  }
}

function onAck(c: Client, re: number, p: { t: number; sender: number; n: number }, ok: boolean, code: string): void {
  c.pending.delete(re);
  c.inflight--;
  senderInflight--;
  const now = performance.now();
  if (ok) {
    ackedAll++;
    expected += run!.senders[p.sender]!.recipients.length;
    if (p.t >= winStart && p.t < winEnd) ack.add(now - p.t);
    if (now >= winStart && now < winEnd) acked++;
  } else bump(errors, code);
}

function onDelivery(c: Client, sender: number, n: number, t: number): void {
  if (run && run.senders[sender]?.client === c.idx) {
    // The protocol says the sending connection gets the reply, not the event.
    selfEchoes++;
    return;
  }
  const now = performance.now();
  const last = c.lastN.get(sender) ?? 0;
  if (n <= last) {
    duplicates++;
    return;
  }
  c.lastN.set(sender, n);
  unique++;
  if (t >= winStart && t < winEnd) deliver.add(now - t);
  if (now >= winStart && now < winEnd) deliveries++;
}

const helloWaiters = new Map<Client, (ok: boolean) => void>();

/** Opens one client's socket; resolves true on hello, false on failure. Reconnects on close if a policy is set. */
function open(c: Client): Promise<boolean> {
  return new Promise((resolve) => {
    c.attempts++;
    totalAttempts++;
    c.ready = false;
    const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(c.spec.token)}`);
    c.ws = ws;
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      helloWaiters.delete(c);
      resolve(ok);
    };
    helloWaiters.set(c, settle);
    ws.onmessage = (e) => onFrame(c, e.data as string);
    ws.onclose = (e) => {
      const wasReady = c.ready;
      c.ready = false;
      if (!wasReady) failures++;
      else if (!c.closedByUs) bump(dropped, String(e.code));
      settle(false);
      // Requests in flight on a dead socket will never be answered.
      for (const [id, p] of c.pending) if ("resolve" in p) p.resolve({ re: id, ok: false, error: { code: `closed_${e.code}` } });
      c.pending.clear();
      if (policy && !c.closedByUs) {
        // Exponential backoff with full jitter, as src/client/backoff.ts does.
        const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(16, c.failStreak));
        if (!wasReady) c.failStreak++;
        setTimeout(() => void open(c), Math.random() * ceiling);
      }
    };
    ws.onerror = () => {};
  });
}

async function connectAll(m: Extract<ToWorker, { t: "connect" }>): Promise<ConnectResult> {
  wsUrl = m.wsUrl;
  policy = m.reconnect;
  clients = m.clients.map((s, i) => new Client(i, s));
  const t0 = performance.now();
  let next = 0;
  let connected = 0;
  const errs: Record<string, number> = {};
  const deadline = t0 + m.timeoutMs;
  const lanes = Array.from({ length: Math.min(m.concurrency, clients.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= clients.length) return;
      const c = clients[i]!;
      for (;;) {
        if (await open(c)) {
          connected++;
          break;
        }
        bump(errs, "refused_or_failed");
        if (policy || performance.now() > deadline) break; // with a policy, onclose retries by itself
        await Bun.sleep(50 + Math.random() * 200);
      }
    }
  });
  await Promise.all(lanes);
  if (policy) while (clients.some((c) => !c.ready) && performance.now() < deadline) await Bun.sleep(50);
  connected = clients.filter((c) => c.ready).length;
  return { connected, failed: clients.length - connected, attempts: totalAttempts, ms: performance.now() - t0, errors: errs, dropped: { ...dropped } };
}

async function makeGroups(m: Extract<ToWorker, { t: "groups" }>): Promise<string[]> {
  const out: string[] = [];
  for (const g of m.groups) {
    const creator = clients[g.creator]!;
    const r = await creator.request("createGroup", { name: g.name, members: g.members.map((i) => clients[i]!.spec.user) });
    if (!r.ok) throw new Error(`createGroup: ${JSON.stringify(r.error)}`);
    out.push(r.channel.id);
  }
  return out;
}

/** One message per sender with `to` (creates direct chats), returning each sender's channel id. */
async function first(senders: SenderSpec[]): Promise<{ channels: string[]; errors: Record<string, number> }> {
  const errs: Record<string, number> = {};
  const channels = await Promise.all(
    senders.map(async (s, i) => {
      const target = s.channel !== undefined ? { channel: s.channel } : { to: s.to };
      const r = await clients[s.client]!.request("sendMessage", { ...target, client_id: `first-${i}-${Date.now()}`, type: "text", content: "first" });
      if (!r.ok) bump(errs, r.error?.code ?? "unknown");
      return r.ok ? (r.message.channel as string) : "";
    }),
  );
  return { channels, errors: errs };
}

async function runLoad(m: Extract<ToWorker, { t: "run" }>): Promise<RunResult> {
  run = m;
  deliver.counts.fill(0), (deliver.count = 0), (deliver.sum = 0), (deliver.max = 0);
  ack.counts.fill(0), (ack.count = 0), (ack.sum = 0), (ack.max = 0);
  acked = ackedAll = deliveries = expected = unique = duplicates = selfEchoes = 0;
  errors = {};
  for (const c of clients) c.lastN.clear();
  const nSenders = m.senders.length;
  const seqs = new Array<number>(nSenders).fill(0);
  const pad = "x".repeat(m.contentBytes);
  const prefix = m.senders.map((s) => (s.channel !== undefined ? `","channel":"${s.channel}` : `","to":"${s.to}`));
  const stamp = Date.now().toString(36);
  // Start together with the other workers at the parent's wall-clock time.
  await Bun.sleep(Math.max(0, m.startAt - Date.now()));
  const t0 = performance.now();
  winStart = t0 + m.warmupMs;
  winEnd = winStart + m.durationMs;
  let cpuStart = -1;
  let cpuEnd = -1;
  let offered = 0;
  let sent = 0;
  let skipped = 0;
  let rr = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      if (cpuStart < 0 && now >= winStart) cpuStart = cpuMs();
      if (now >= winEnd) {
        cpuEnd = cpuMs();
        clearInterval(timer);
        return done();
      }
      const due = Math.floor(((now - t0) * m.rate) / 1000) - offered;
      for (let k = 0; k < due; k++) {
        offered++;
        let s = -1;
        for (let tries = 0; tries < nSenders; tries++) {
          const cand = rr++ % nSenders;
          const c = clients[m.senders[cand]!.client]!;
          if (c.ready && c.inflight < m.maxInflight) {
            s = cand;
            break;
          }
        }
        if (s < 0) {
          skipped++;
          continue;
        }
        const c = clients[m.senders[s]!.client]!;
        const n = ++seqs[s]!;
        const t = performance.now();
        const head = `s${s}:${n}:${t.toFixed(3)}:`;
        const content = head + pad.slice(0, Math.max(0, m.contentBytes - head.length));
        const id = c.nextId++;
        c.pending.set(id, { t, sender: s, n });
        c.inflight++;
        senderInflight++;
        c.ws!.send(`{"id":${id},"op":"sendMessage","type":"text","client_id":"${stamp}-${s}-${n}${prefix[s]}","content":"${content}"}`);
        sent++;
      }
    };
    const timer = setInterval(tick, 1);
  });
  // Drain: wait for outstanding acks and deliveries (what is still missing then is lost).
  const drainEnd = performance.now() + m.drainMs;
  while (performance.now() < drainEnd && (senderInflight > 0 || unique < expected)) await Bun.sleep(20);
  const windowMs = m.durationMs;
  run = null;
  return {
    offered,
    sent,
    acked,
    errors,
    skippedInflight: skipped,
    deliveries,
    expected,
    unique,
    duplicates,
    selfEchoes,
    lost: Math.max(0, expected - unique),
    deliver: deliver.toData(),
    ack: ack.toData(),
    cpuMs: cpuEnd - cpuStart,
    windowMs,
  };
}

async function history(m: Extract<ToWorker, { t: "history" }>): Promise<HistoryResult> {
  const lat = new Histogram();
  const newest = new Histogram();
  const deep = new Histogram();
  const errs: Record<string, number> = {};
  let requests = 0;
  let messages = 0;
  await Bun.sleep(Math.max(0, m.startAt - Date.now()));
  const t0 = performance.now();
  const ws0 = t0 + m.warmupMs;
  const end = ws0 + m.durationMs;
  let cpuStart = -1;
  const lanes = clients.map(async (c) => {
    while (performance.now() < end) {
      const ch = m.channels[Math.floor(Math.random() * m.channels.length)]!;
      const isDeep = Math.random() < m.deepFraction && ch.last_seq > m.limit;
      const params: Record<string, unknown> = { channel: ch.id, limit: m.limit };
      if (isDeep) params.before_seq = 1 + m.limit + Math.floor(Math.random() * (ch.last_seq - m.limit));
      const t = performance.now();
      const r = await c.request("getMessages", params);
      const now = performance.now();
      if (cpuStart < 0 && now >= ws0) cpuStart = cpuMs();
      if (!r.ok) {
        bump(errs, r.error?.code ?? "unknown");
        continue;
      }
      if (t >= ws0 && now < end) {
        requests++;
        messages += r.messages.length;
        lat.add(now - t);
        (isDeep ? deep : newest).add(now - t);
      }
    }
  });
  await Promise.all(lanes);
  return { requests, errors: errs, latency: lat.toData(), newest: newest.toData(), deep: deep.toData(), messages, cpuMs: cpuMs() - cpuStart, windowMs: m.durationMs };
}

/** Closed loop per token: upload a distinct file of sizeBytes, then download it and check its size. */
async function media(m: Extract<ToWorker, { t: "media" }>): Promise<MediaResult> {
  const up = new Histogram();
  const down = new Histogram();
  const errs: Record<string, number> = {};
  let uploads = 0;
  let downloads = 0;
  const pool = crypto.getRandomValues(new Uint8Array(1 << 20));
  let counter = 0;
  await Bun.sleep(Math.max(0, m.startAt - Date.now()));
  const t0 = performance.now();
  const ws0 = t0 + m.warmupMs;
  const end = ws0 + m.durationMs;
  let cpuStart = -1;
  const lanes = m.tokens.map(async (token) => {
    const auth = { authorization: `Bearer ${token}` };
    while (performance.now() < end) {
      // A distinct file each time (media is content-addressed): random bytes with a unique head.
      const off = Math.floor(Math.random() * (pool.length - m.sizeBytes));
      const body = new Uint8Array(m.sizeBytes);
      body.set(pool.subarray(off, off + m.sizeBytes));
      new DataView(body.buffer).setFloat64(0, process.pid * 1e9 + ++counter);
      const t = performance.now();
      if (cpuStart < 0 && t >= ws0) cpuStart = cpuMs();
      const r = await fetch(m.url + "/api/media", { method: "POST", headers: { ...auth, "content-type": "application/octet-stream", "x-filename": "bench.bin" }, body });
      const t1 = performance.now();
      if (r.status !== 201 && r.status !== 200) {
        bump(errs, `upload_${r.status}`);
        await r.arrayBuffer();
        continue;
      }
      const { media: info } = (await r.json()) as { media: { id: string } };
      if (t >= ws0 && t1 < end) {
        uploads++;
        up.add(t1 - t);
      }
      const t2 = performance.now();
      const d = await fetch(`${m.url}/api/media/${info.id}`, { headers: auth });
      const bytes = (await d.arrayBuffer()).byteLength;
      const t3 = performance.now();
      if (d.status !== 200 || bytes !== m.sizeBytes) {
        bump(errs, `download_${d.status}_${bytes === m.sizeBytes ? "ok" : "short"}`);
        continue;
      }
      if (t2 >= ws0 && t3 < end) {
        downloads++;
        down.add(t3 - t2);
      }
    }
  });
  await Promise.all(lanes);
  return { uploads, downloads, upload: up.toData(), download: down.toData(), errors: errs, cpuMs: cpuMs() - cpuStart };
}

process.on("message", async (m: ToWorker) => {
  try {
    switch (m.t) {
      case "connect":
        return reply({ t: "connected", r: await connectAll(m) });
      case "groups":
        return reply({ t: "groups", channels: await makeGroups(m) });
      case "first": {
        const r = await first(m.senders);
        return reply({ t: "first", ok: r.channels.filter(Boolean).length, errors: r.errors, channels: r.channels });
      }
      case "run":
        return reply({ t: "result", r: await runLoad(m) });
      case "history":
        return reply({ t: "history", r: await history(m) });
      case "media":
        return reply({ t: "media", r: await media(m) });
      case "status":
        return reply({
          t: "status",
          r: {
            open: clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length,
            ready: clients.filter((c) => c.ready).length,
            attempts: totalAttempts,
            failures,
            lastHelloAt,
            now: performance.now(),
          },
        });
      case "close":
        for (const c of clients) {
          c.closedByUs = true;
          c.ws?.close();
        }
        await Bun.sleep(100);
        process.exit(0);
    }
  } catch (e) {
    reply({ t: "error", message: String((e as Error)?.stack ?? e) });
  }
});
