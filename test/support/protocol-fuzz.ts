// Protocol fuzzing against a live server (test/e2e/protocol-fuzz.test.ts runs it short in CI,
// scripts/soak-fuzz.ts long for releases). fast-check generates batches of frames: wrong types
// for every param of every op (ops and params come from OP_SCHEMAS, so a new op is fuzzed
// without touching this file), valid ops with mutated params, huge / negative / fractional
// numbers, deep nesting, long strings, unicode edge cases, binary and empty frames, ids with
// path characters. Each batch is pipelined on one socket; the server answers a connection's
// frames one by one in arrival order, so the n-th reply belongs to the n-th frame. Every reply
// must be a valid one or a protocol error whose code is in docs/protocol.md's table (never
// `internal`, no stack or path in its message); the fuzzing socket and the server stay up; a
// canary conversation running alongside gets every acknowledged message, once, in order.

import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OP_NAMES, OP_SCHEMAS, checkField, type FieldSpec } from "../../src/protocol/schema.ts";
import { adminFetch, api, makeUser, ROOT, WsClient, type TestServer, type TestUser } from "../harness.ts";

/** The error codes docs/protocol.md's "Errors" table lists (the contract a reply is checked against). */
export function documentedErrorCodes(): Set<string> {
  const doc = readFileSync(join(ROOT, "docs/protocol.md"), "utf8");
  const section = doc.slice(doc.indexOf("### Errors"));
  const codes = new Set<string>();
  for (const line of section.split("\n").slice(2)) {
    const m = /^\| ([a-z_]+)(?: \*\(addition\)\*)? \| (\d{3}) \|/.exec(line);
    if (m) codes.add(m[1]!);
    else if (codes.size > 0) break;
  }
  return codes;
}

/** One generated frame: what goes on the wire, and what the reply must be beyond the general rules. */
export interface FuzzFrame {
  kind: string;
  /** A string is a text frame, bytes a binary frame. */
  data: string | Uint8Array;
  /** The `re` the reply must carry. */
  re: number | string | null;
  /** The reply must be this error code (a param that does not fit its schema is bad_request). */
  expectCode?: string;
}

/** Everything the generators draw ids from: the fuzzing user's world and some that are not theirs. */
export interface FuzzWorld {
  users: string[];
  channels: string[];
  messages: string[];
  media: string[];
  devices: string[];
  invites: string[];
  phones: string[];
}

// ---- value pools ------------------------------------------------------------------------------

const EMOJI_100K = "😀".repeat(100_000); // 200k UTF-16 units, 400 kB of UTF-8: under the 1 MiB frame
/** Unicode edge cases: lone and reversed surrogates, RTL overrides, zero-width, NUL, combining marks, BOM, huge. */
export const UNICODE_EDGES: string[] = [
  "\ud800",
  "k\udc00",
  "\udc00\ud800",
  "a\ud83d",
  "\u202eevil\u202c",
  "\u200f\u200e\u061c",
  "\u200b",
  "\u200d\u200c\u2060\ufeff",
  "\u0000",
  "a\u0000b",
  "e\u0301\u0301\u0301\u0301",
  "\uffff\ufffe",
  "😀",
  "👩‍👩‍👧‍👦",
  EMOJI_100K,
  "x".repeat(70_000),
  "\n\r\t",
  "",
  " ",
];
/** Ids a file system or a URL could read as a path. */
export const PATH_IDS: string[] = [
  "../../../etc/passwd",
  "..",
  ".",
  "/",
  "a/b",
  "..\\..\\windows",
  "%2e%2e%2f",
  "media/../admin.token",
  "~",
  "d_../x",
  "g_x/../../y",
  "x:1/../2",
  "con",
  "?token=x",
  "#frag",
  "a b",
];
const HUGE_NUMBERS = [
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  2 ** 64,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  -1,
  -0.5,
  0.5,
  1.5,
  -0,
  -Number.MAX_SAFE_INTEGER,
  1e21,
  0,
];

function deep(n: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Values of every JSON type, odd ones included: for a param of any kind. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, "", [], {}, [[]], { "": null }, { __proto__: { x: 1 } }, ["a", 1], deep(64)),
  fc.constantFrom(...HUGE_NUMBERS),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(...UNICODE_EDGES),
  fc.constantFrom(...PATH_IDS),
  fc.jsonValue({ maxDepth: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)), { maxLength: 8 }),
);

/** A value of the wrong type for `spec` (fits nothing a schema of that kind accepts). */
function wrongType(spec: FieldSpec): fc.Arbitrary<unknown> {
  const notString = fc.oneof(fc.constantFrom<unknown>(true, false, 0, -1, 1e308, [], {}, ["x"], { x: "y" }, deep(200)), fc.double(), fc.integer());
  switch (spec.kind) {
    case "string":
    case "enum":
      return notString;
    case "int":
      return fc.oneof(
        fc.constantFrom<unknown>("1", "", "0x10", "1e3", true, [], {}, [1], { n: 1 }, 0.5, -0.5, 1e308, -1e308, 2 ** 53, Number.MIN_VALUE),
        fc.double({ noInteger: true }),
        fc.string({ maxLength: 10 }),
      );
    case "ids":
      return fc.oneof(
        fc.constantFrom<unknown>("u", 1, true, {}, [1], [null], [[]], [{}], [""], ["x".repeat(201)], ["\ud800"], deep(100, "x")),
        fc.array(fc.integer(), { minLength: 1, maxLength: 5 }),
        fc.constant(Array.from({ length: 1001 }, (_, i) => `u${i}`)),
      );
  }
}

/** A plausible value for a param, drawn from the world (so ops run past validation) or hostile. */
function plausible(name: string, spec: FieldSpec, w: FuzzWorld): fc.Arbitrary<unknown> {
  const hostileString = fc.oneof(fc.constantFrom(...PATH_IDS), fc.constantFrom(...UNICODE_EDGES), fc.string({ maxLength: 30 }));
  const pool = (xs: string[]) => (xs.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...xs) }, { weight: 1, arbitrary: hostileString }) : hostileString);
  switch (spec.kind) {
    case "enum":
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...spec.values) }, { weight: 1, arbitrary: hostileString });
    case "int":
      return fc.oneof(
        fc.constantFrom(0, 1, 2, 3, 50, 200, 201, 1000, 60_000),
        fc.constantFrom(...HUGE_NUMBERS),
        fc.integer({ min: -5, max: 500 }),
        fc.double(),
      );
    case "ids":
      return fc.oneof(fc.array(pool(w.users), { maxLength: 6 }), fc.constant([] as string[]), fc.array(hostileString, { maxLength: 3 }));
    case "string": {
      if (/^(channel)$/.test(name)) return pool(w.channels);
      if (/^(to|user)$/.test(name)) return pool(w.users);
      if (/^(reply_to|message)$/.test(name)) return pool(w.messages);
      if (name === "media") return pool(w.media);
      if (name === "device") return pool(w.devices);
      if (name === "invite") return pool(w.invites);
      if (name === "phone") return pool(w.phones);
      if (name === "client_id") return fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom("k\ud800", "k\udc00", "x".repeat(129), ...PATH_IDS));
      return fc.oneof({ weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) }, { weight: 2, arbitrary: hostileString });
    }
  }
}

// ---- frame generators ---------------------------------------------------------------------------

let nextId = 1;
const idOf = () => nextId++;

/** A request frame for `op` with `params` (the id a fresh number unless `id` is given). */
function request(kind: string, op: unknown, params: Record<string, unknown>, id: unknown = idOf(), expectCode?: string): FuzzFrame {
  const frame = { ...params, id, op };
  const re = typeof id === "number" || typeof id === "string" ? id : null;
  return { kind, data: JSON.stringify(frame), re, expectCode };
}

type OpKey = (typeof OP_NAMES)[number];
const schemaOf = (op: OpKey) => OP_SCHEMAS[op] as Record<string, FieldSpec>;

/** Valid-looking params for `op`: every required field and some optional ones from the world. */
function paramsFor(op: OpKey, w: FuzzWorld): fc.Arbitrary<Record<string, unknown>> {
  const s = schemaOf(op);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, spec] of Object.entries(s)) fields[name] = plausible(name, spec, w);
  const required = Object.keys(s).filter((k) => !s[k]!.optional);
  return fc.record(fields, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Every (op, param) pair of the schema: the wrong-type generator covers each. */
export function opParamPairs(): Array<[OpKey, string]> {
  return OP_NAMES.flatMap((op) => Object.keys(schemaOf(op)).map((p) => [op, p] as [OpKey, string]));
}

function wrongTypeFrame(w: FuzzWorld): fc.Arbitrary<FuzzFrame> {
  const pairs = opParamPairs();
  return fc
    .constantFrom(...pairs)
    .chain(([op, p]) => fc.tuple(fc.constant(op), fc.constant(p), paramsFor(op, w), wrongType(schemaOf(op)[p]!)))
    .map(([op, p, params, drawn]) => {
      const spec = schemaOf(op)[p]!;
      // Judge the value the server sees: NaN and ±Infinity go on the wire as null.
      const bad: unknown = JSON.parse(JSON.stringify(drawn));
      // null is "absent" to the validator: fine for an optional field, bad_request for a required one.
      const fits = bad === null ? spec.optional === true : checkField(p, spec, bad) === null;
      return request(`wrong-type ${op}.${p}`, op, { ...params, [p]: bad }, idOf(), fits ? undefined : "bad_request");
    });
}

/** A valid-looking op, then mutated: a field dropped, replaced by any JSON, an unknown field added. */
function mutatedFrame(w: FuzzWorld): fc.Arbitrary<FuzzFrame> {
  return fc
    .constantFrom(...OP_NAMES)
    .chain((op) =>
      fc.tuple(
        fc.constant(op),
        paramsFor(op, w),
        fc.constantFrom("none", "drop", "replace", "extra", "proto"),
        fc.constantFrom(...Object.keys(schemaOf(op)), "x"),
        anyJson,
      ),
    )
    .map(([op, params, how, field, v]) => {
      const p: Record<string, unknown> = { ...params };
      if (how === "drop") delete p[field];
      if (how === "replace" || how === "extra") p[how === "extra" ? `extra_${field}` : field] = v;
      if (how === "proto") return { kind: `mutated ${op} proto`, data: `{"id":${idOf()},"op":${JSON.stringify(op)},"__proto__":{"channel":"x","admin":true},"constructor":{"prototype":{"polluted":1}}}`, re: nextId - 1 };
      return request(`mutated ${op} ${how}`, op, p);
    });
}

/** Frames that are not requests: binary, empty, not JSON, not objects, odd ids and ops, deep nesting. */
function oddFrame(): fc.Arbitrary<FuzzFrame> {
  const bad = (kind: string, data: string | Uint8Array): FuzzFrame => ({ kind, data, re: null, expectCode: "bad_request" });
  return fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => bad("binary", b)),
    fc.constant(bad("binary empty", new Uint8Array(0))),
    fc.constant(bad("binary json", new TextEncoder().encode(`{"id":1,"op":"ping"}`))),
    fc.constantFrom("", " ", "\n", "{", "}", "null", "[]", "0", "\"ping\"", "true", " {\"op\":\"ping\"}", "{\"op\":\"ping\"", "{}", "{\"id\":1}", "\u0000").map((s) =>
      bad(`text ${JSON.stringify(s).slice(0, 12)}`, s),
    ),
    fc.string({ maxLength: 60 }).filter((s) => !s.trimStart().startsWith("{")).map((s) => bad("text junk", s)),
    fc.integer({ min: 1000, max: 200_000 }).map((n) => bad(`nested ${n}`, "[".repeat(n) + "]".repeat(n))),
    fc.integer({ min: 1000, max: 200_000 }).map((n) => {
      const id = idOf();
      return { kind: `nested param ${n}`, data: `{"id":${id},"op":"ping","x":${"[".repeat(n)}${"]".repeat(n)}}`, re: null as number | null };
    }),
    fc.constantFrom<unknown>("toString", "__proto__", "constructor", "hasOwnProperty", "valueOf", "PING", "ping ", "", "getall", "\ud800", 7, null, [], {}, "../ping").map(
      // A frame whose op is not a string "has no op": its reply is re null (docs/protocol.md).
      (op) => ({ ...request(`op ${JSON.stringify(op)}`, op, {}, idOf(), "bad_request"), ...(typeof op === "string" ? {} : { re: null }) }),
    ),
    fc.constantFrom<unknown>(null, true, 1.5, -1, 2 ** 64, [], {}, "", "\ud800", "x".repeat(10_000), { a: 1 }).map((id) => request(`id ${JSON.stringify(id)?.slice(0, 10)}`, "ping", {}, id)),
    fc.constantFrom(...OP_NAMES).map((op) => ({ kind: `params array ${op}`, data: `{"id":${idOf()},"op":"${op}","channel":[],"0":1}`, re: nextId - 1 })),
  );
}

/** A frame of any kind, weighted towards ops that reach past validation. */
export function frameArb(w: FuzzWorld): fc.Arbitrary<FuzzFrame> {
  return fc.oneof({ weight: 4, arbitrary: wrongTypeFrame(w) }, { weight: 5, arbitrary: mutatedFrame(w) }, { weight: 2, arbitrary: oddFrame() });
}

// ---- checks -----------------------------------------------------------------------------------

/** Why `reply` is not an acceptable answer to `f` (null when it is). */
export function judge(f: FuzzFrame, reply: any, codes: Set<string>): string | null {
  if (reply === null || typeof reply !== "object" || !("re" in reply)) return `not a reply: ${JSON.stringify(reply)?.slice(0, 200)}`;
  // A nested "nested param" frame may parse (re = id) or not (re = null): either is fine.
  if (!f.kind.startsWith("nested param") && reply.re !== f.re) return `re ${JSON.stringify(reply.re)?.slice(0, 40)}, wanted ${JSON.stringify(f.re)?.slice(0, 40)}`;
  if (reply.ok === true) return f.expectCode ? `ok, wanted ${f.expectCode}` : null;
  if (reply.ok !== false) return `ok is ${JSON.stringify(reply.ok)}`;
  const e = reply.error;
  if (!e || typeof e.code !== "string" || typeof e.message !== "string") return `malformed error ${JSON.stringify(e)?.slice(0, 200)}`;
  if (e.code === "internal") return `internal (request ${e.request_id})`;
  if (!codes.has(e.code)) return `undocumented code ${e.code}`;
  if (/\bat \S+ \(|\/src\/|\.ts:\d|node_modules/.test(e.message)) return `stack or path in message: ${e.message.slice(0, 200)}`;
  if ((e.code === "rate_limited" || e.code === "unavailable") && !(Number.isFinite(e.retry_after_ms) && e.retry_after_ms > 0)) return `${e.code} without retry_after_ms`;
  if (f.expectCode && e.code !== f.expectCode) return `${e.code} (${e.message.slice(0, 120)}), wanted ${f.expectCode}`;
  return null;
}

/** A socket that pipelines a batch of frames and collects one reply per frame, in order. */
class FuzzSocket {
  private ws!: WebSocket;
  private queue: any[] = [];
  private wake: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  static async open(server: TestServer, token: string): Promise<FuzzSocket> {
    const s = new FuzzSocket();
    s.ws = new WebSocket(`${server.wsUrl}?token=${encodeURIComponent(token)}`);
    s.ws.binaryType = "arraybuffer";
    let hello!: () => void;
    const helloP = new Promise<void>((r) => (hello = r));
    s.ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if (f.ev === "hello") hello();
      if ("ev" in f) return;
      s.queue.push(f);
      s.wake?.();
    };
    s.ws.onclose = (e) => {
      s.closed = { code: e.code, reason: e.reason };
      s.wake?.();
      hello();
    };
    await helloP;
    if (s.closed) throw new Error(`fuzz socket closed before hello: ${JSON.stringify(s.closed)}`);
    return s;
  }

  /** Sends every frame pipelined; resolves with one reply per frame (or fewer if the socket closed). */
  async batch(frames: FuzzFrame[], timeoutMs = 60_000): Promise<any[]> {
    this.queue = [];
    for (const f of frames) this.ws.send(f.data);
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length < frames.length && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.queue.slice();
  }

  close() {
    this.ws.close();
  }
}

// ---- the run ----------------------------------------------------------------------------------

export interface FuzzOptions {
  server: TestServer;
  seed: number;
  /** fast-check runs; each run is one batch of 1-`batch` frames. */
  runs: number;
  batch?: number;
  log?: (line: string) => void;
}

export interface FuzzResult {
  seed: number;
  runs: number;
  frames: number;
  /** Replies by outcome: "ok" or the error code. */
  outcomes: Record<string, number>;
  /** Frames by generator kind (first word). */
  kinds: Record<string, number>;
  canarySent: number;
  violations: string[];
}

/** Fuzzes `server` (started with high --rate-burst / --rate-per-sec) and returns counts and broken rules. */
export async function runProtocolFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const { server, seed, runs } = o;
  const log = o.log ?? (() => {});
  const codes = documentedErrorCodes();
  const violations: string[] = [];
  const outcomes: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  let frames = 0;

  // The fuzzer's world: a group it administers, a direct chat, a message, a media, a spare device.
  const [fz, other, canA, canB] = await Promise.all(["Fuzzer", "Other", "CanaryA", "CanaryB"].map((n) => makeUser(server, n)));
  const spare = await makeUser(server, "Spare"); // a user whose device ids are someone else's
  const group = await api(server, fz.token, "createGroup", { name: "fuzz", members: [other.user.id] });
  const dm = await api(server, fz.token, "sendMessage", { to: other.user.id, client_id: "seed-dm", type: "text", content: "hi" });
  const gm = await api(server, fz.token, "sendMessage", { channel: group.body.channel.id, client_id: "seed-g", type: "text", content: "hi" });
  const up = await fetch(`${server.url}/api/media`, { method: "POST", headers: { authorization: `Bearer ${fz.token}` }, body: new Uint8Array([1, 2, 3, 4]) });
  const media = ((await up.json()) as any).media;
  const inv = await api(server, fz.token, "createInvite", { channel: group.body.channel.id });
  const phones = await Promise.all([fz, other, canA].map(async (u) => ((await (await adminFetch(server, "GET", `/admin/users/${u.user.id}`)).json()) as any).user.phone));
  for (const r of [group, dm, gm, inv]) if (r.status !== 200) throw new Error(`fuzz setup failed: ${JSON.stringify(r.body)}`);
  const world: FuzzWorld = {
    users: [fz, other, canA, canB, spare].map((u) => u.user.id).concat("u_nobody"),
    channels: [group.body.channel.id, dm.body.message.channel, "g_nothere"],
    messages: [gm.body.message.id, dm.body.message.id, `${group.body.channel.id}:999`],
    media: [media.id, "m_nothere"],
    // The fuzzer's own (current) device is left out: revoking it closes the socket, by design.
    devices: [spare.deviceId, other.deviceId, "dv_nothere"],
    invites: [inv.body.invite, "nope"],
    phones: [...phones, "+1 555", "0044 20 7946 0958"],
  };

  // The canary: A sends to B one acknowledged message at a time while the fuzz runs.
  const [ca, cb] = await Promise.all([WsClient.connect(server, canA.token), WsClient.connect(server, canB.token)]);
  let canarySent = 0;
  let canaryChannel = "";
  let fuzzing = true;
  const canary = (async () => {
    while (fuzzing) {
      const r = await ca.request("sendMessage", { ...(canaryChannel ? { channel: canaryChannel } : { to: canB.user.id }), client_id: `c${canarySent}`, type: "text", content: `canary ${canarySent}` });
      if (!r.ok) {
        violations.push(`canary send ${canarySent}: ${JSON.stringify(r.error)}`);
        return;
      }
      canaryChannel = r.message.channel;
      canarySent++;
      await Bun.sleep(5);
    }
  })();

  let sock = await FuzzSocket.open(server, fz.token);
  const check = async (batch: FuzzFrame[]): Promise<boolean> => {
    const replies = await sock.batch(batch);
    frames += batch.length;
    for (const f of batch) kinds[f.kind.split(" ")[0]!] = (kinds[f.kind.split(" ")[0]!] ?? 0) + 1;
    let ok = true;
    batch.forEach((f, i) => {
      const r = replies[i];
      const key = r === undefined ? "none" : r.ok ? "ok" : String(r.error?.code);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      const why = r === undefined ? "no reply" : judge(f, r, codes);
      if (why) {
        ok = false;
        const shown = typeof f.data === "string" ? f.data.slice(0, 300) : `<binary ${f.data.length} bytes>`;
        violations.push(`${f.kind}: ${why}; frame ${shown}`);
      }
    });
    if (sock.closed) {
      ok = false;
      violations.push(`the fuzz socket closed (${JSON.stringify(sock.closed)}) after a batch of ${batch.map((f) => f.kind).join(", ")}`);
      sock = await FuzzSocket.open(server, fz.token);
    }
    return ok;
  };

  const t0 = Date.now();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb(world), { minLength: 1, maxLength: o.batch ?? 12 }), async (batch) => check(batch)),
      { seed, numRuns: runs, endOnFailure: true, verbose: 0 },
    );
  } catch (e) {
    // The violations list holds each broken rule; fast-check's report names the seed and path.
    violations.push(`fast-check: ${String((e as Error).message).split("\n").slice(0, 3).join(" | ")}`);
  }
  log(`${frames} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s, outcomes ${JSON.stringify(outcomes)}`);

  // The canary: stop, then B must have every message once, in order, as events and as history.
  fuzzing = false;
  await canary;
  if (canarySent > 0) {
    try {
      await cb.until(() => cb.events.filter((e: any) => e.ev === "message" && e.message.channel === canaryChannel).length >= canarySent, 20_000, "canary events");
    } catch {}
    const got = cb.events.filter((e: any) => e.ev === "message" && e.message.channel === canaryChannel).map((e: any) => e.message.content);
    const want = Array.from({ length: canarySent }, (_, i) => `canary ${i}`);
    if (JSON.stringify(got) !== JSON.stringify(want)) violations.push(`canary events: got ${got.length} of ${canarySent}, first difference at ${got.findIndex((c, i) => c !== want[i])}`);
    const hist: string[] = [];
    for (let after = 0; ; ) {
      const r = await cb.call("getMessages", { channel: canaryChannel, after_seq: after, limit: 200 });
      hist.push(...r.messages.map((m: any) => m.content));
      if (!r.has_more || r.messages.length === 0) break;
      after = r.messages.at(-1).seq;
    }
    if (JSON.stringify(hist) !== JSON.stringify(want)) violations.push(`canary history: ${hist.length} messages, wanted ${canarySent} in order`);
  } else violations.push("the canary sent nothing");

  // The server and the fuzzing socket are still up.
  const health = await fetch(`${server.url}/healthz`).then((r) => r.status).catch(() => 0);
  if (health !== 200) violations.push(`/healthz answered ${health}`);
  const ping = await sock.batch([request("ping", "ping", {})]);
  if (ping[0]?.ok !== true) violations.push(`ping after the fuzz: ${JSON.stringify(ping[0])}`);
  if (server.proc.exitCode !== null) violations.push(`the server exited with ${server.proc.exitCode}`);
  sock.close();
  ca.close();
  cb.close();
  return { seed, runs, frames, outcomes, kinds, canarySent, violations };
}
