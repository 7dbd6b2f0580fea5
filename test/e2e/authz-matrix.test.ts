// The authorization matrix of docs/security.md, run cell by cell against a live server (and its
// cluster rows against a one-node cluster). The table is the spec: this file parses it, fails
// when an op of the schema or a route of the server has no row, and calls each row through
// CALLS (routes, and ops whose params cannot be made by name) or a default built from the op's
// schema. Adding a row: the row in the doc, plus at most one CALLS entry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OP_NAMES, OP_SCHEMAS, type FieldSpec } from "../../src/protocol/schema.ts";
import { ERROR_STATUS } from "../../src/protocol/types.ts";
import { mediaRoutes } from "../../src/server/media/routes.ts";
import { adminRoutes, apiRoutes } from "../../src/server/transport/http.ts";
import { adminFetch, api, login, makeUser, ROOT, startServer, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { freshCode, upgradeStatus } from "./server-helpers.ts";

// ---- the table --------------------------------------------------------------------------------

const COLUMNS = ["member", "group admin", "non-member", "removed member", "left member", "revoked device", "deleted user", "no token", "forged token", "admin token"] as const;
type Column = (typeof COLUMNS)[number];
/** Callers that are users of the fixture's group, and the columns that are only a token. */
const MEMBERSHIP: Column[] = ["member", "group admin", "non-member", "removed member", "left member"];

interface Row {
  /** The first cell without backticks: the CALLS key. */
  key: string;
  /** The first backticked span: an op name or "METHOD /path". */
  subject: string;
  cells: Record<Column, string>;
}

/** The rows of docs/security.md's "Authorization matrix" table (section headings skipped). */
function matrixRows(): Row[] {
  const doc = readFileSync(join(ROOT, "docs/security.md"), "utf8");
  const at = doc.indexOf("## Authorization matrix");
  if (at < 0) throw new Error("docs/security.md has no Authorization matrix section");
  const lines = doc.slice(at).split("\n");
  const start = lines.findIndex((l) => l.startsWith("| op or route |"));
  const header = lines[start]!.split("|").slice(2, -1).map((c) => c.trim());
  expect(header).toEqual([...COLUMNS]);
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells[0]!.startsWith("**")) continue; // a section heading
    const subject = /`([^`]+)`/.exec(cells[0]!)?.[1];
    if (!subject) throw new Error(`row without a backticked op or route: ${line}`);
    if (cells.length !== COLUMNS.length + 1) throw new Error(`row ${cells[0]} has ${cells.length - 1} cells, wanted ${COLUMNS.length}`);
    rows.push({ key: cells[0]!.replaceAll("`", ""), subject, cells: Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i + 1]!])) as Record<Column, string> });
  }
  return rows;
}

/** Every HTTP route the server serves: the Elysia route sets, the native /ws route, and /cluster/* (node.ts's switch). */
function serverRoutes(): string[] {
  const stub = { metricsTokens: [], adminToken: "x" } as any;
  const apps: any[] = [apiRoutes(stub), adminRoutes(stub), mediaRoutes(stub, stub, stub)];
  const routes = apps.flatMap((a) => a.routes.map((r: any) => `${r.method} ${r.path}`));
  const node = readFileSync(join(ROOT, "src/server/cluster/node.ts"), "utf8");
  const handle = node.slice(node.indexOf("async handle(req: Request)"));
  for (const m of handle.matchAll(/case "(\/cluster\/[a-z-]+)"/g)) routes.push(`POST ${m[1]}`);
  for (const m of handle.matchAll(/startsWith\("(\/cluster\/[a-z-]+\/)"\)/g)) routes.push(`GET ${m[1]}:sha256`);
  return ["GET /ws", ...routes];
}
const norm = (route: string) => route.replace(/:\w+/g, ":");

// ---- calling ----------------------------------------------------------------------------------

interface Fixture {
  group: string;
  before: { id: string; seq: number };
  after: { id: string; seq: number };
  invite: string;
  mediaBefore?: string;
  mediaAfter?: string;
}

interface Ctx {
  server: TestServer;
  fx: Fixture;
  column: Column;
  /** A fresh device of the member (for revokeDevice and DELETE /admin/devices/:id). */
  spareDevice(): Promise<string>;
  /** A fresh user in no group (for DELETE /admin/users/:id). */
  throwawayUser(): Promise<string>;
  unique(): string;
}

interface HttpCall {
  method: string;
  path: string;
  body?: unknown;
  raw?: Uint8Array;
}

/** How to call a row: an op with params, or an HTTP request. */
interface Call {
  op?: string;
  params?: (c: Ctx) => Record<string, unknown> | Promise<Record<string, unknown>>;
  http?: (c: Ctx) => HttpCall | Promise<HttpCall>;
  /** Its fixture needs files sent before and after the removal. */
  media?: boolean;
  /** Runs against the one-node cluster. */
  cluster?: boolean;
  /** Extra checks of an ok answer (the reply or the HTTP body). */
  check?: (c: Ctx, result: any, via: "ws" | "http") => Promise<void> | void;
}

let server: TestServer;
let cluster: Cluster | null = null;
const users: Record<"admin" | "member" | "non" | "removed" | "left" | "plain" | "outsider" | "deleted", TestUser> = {} as any;
let phoneOfMember = "";
const sockets: Partial<Record<Column, WsClient>> = {};
let counter = 0;

/** getMessages: a former member reads up to the removal or leave, and gets no event of the group after it; the others read on. */
async function historyStops(c: Ctx, result: any, via: "ws" | "http"): Promise<void> {
  const seqs: number[] = result.messages.map((m: any) => m.seq);
  expect(seqs).toContain(c.fx.before.seq);
  const former = c.column === "removed member" || c.column === "left member";
  if (former) expect(seqs.filter((s) => s >= c.fx.after.seq)).toEqual([]);
  else expect(seqs).toContain(c.fx.after.seq);
  const ws = sockets[c.column];
  if (via === "ws" && ws) {
    const got = () => ws.events.some((e: any) => e.ev === "message" && e.message.id === c.fx.after.id);
    if (former) {
      // The member's event of the same message has arrived: a former member's would have by now too.
      await sockets.member!.until(() => sockets.member!.events.some((e: any) => e.ev === "message" && e.message.id === c.fx.after.id), 10_000, "member's event");
      await Bun.sleep(200);
      expect(got()).toBe(false);
    } else await ws.until(got, 10_000, "the later message's event");
  }
}

const groupOf = (c: Ctx) => c.fx.group;
const adminHttp = (method: string, path: (c: Ctx) => string | Promise<string>, body?: (c: Ctx) => unknown): Call => ({
  http: async (c) => ({ method, path: await path(c), body: body?.(c) }),
});
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

/** Rows that are not an op called with params made by name. Keyed by the row's first cell without backticks. */
const CALLS: Record<string, Call> = {
  getMessages: { op: "getMessages", check: historyStops },
  // Sets the default again, so later cells (findUser, addMembers) see what they saw before.
  setPrivacy: { op: "setPrivacy", params: () => ({ find_by_phone: "everyone", add_to_groups: "everyone" }) },
  "editMessage of the group admin's message": { op: "editMessage" },
  "deleteMessage of the group admin's message (for everyone)": { op: "deleteMessage" },
  react: { op: "react", params: (c) => ({ channel: c.fx.group, seq: c.fx.before.seq, emoji: "👍" }) },
  "joinGroup with an invite made before the removal": { op: "joinGroup", params: (c) => ({ channel: c.fx.group, invite: c.fx.invite }) },
  "GET /ws (the upgrade; a refusal is HTTP 401 before any hello)": { http: () => ({ method: "WS", path: "/ws" }) },
  "POST /api/:op (here ping; every op row runs through it too)": { http: () => ({ method: "POST", path: "/api/ping", body: {} }) },
  "GET /api/chats": { http: () => ({ method: "GET", path: "/api/chats" }) },
  "GET /api/channels/:id/messages": { http: (c) => ({ method: "GET", path: `/api/channels/${groupOf(c)}/messages` }), check: historyStops },
  "POST /api/channels/:id/messages": {
    http: (c) => ({ method: "POST", path: `/api/channels/${groupOf(c)}/messages`, body: { client_id: c.unique(), type: "text", content: "authz" } }),
  },
  "POST /api/login with a fresh code (any Authorization is ignored)": {
    http: async (c) => ({ method: "POST", path: "/api/login", body: { code: await freshCode(c.server, users.member.user.id), device: "authz" } }),
  },
  "POST /api/login with a used code": {
    http: async (c) => {
      const code = await freshCode(c.server, users.member.user.id);
      await login(c.server, code, "authz");
      return { method: "POST", path: "/api/login", body: { code, device: "authz" } };
    },
  },
  "POST /api/media": { http: () => ({ method: "POST", path: "/api/media", raw: png }) },
  "GET /api/media/:id sent to the group before the removal": { media: true, http: (c) => ({ method: "GET", path: `/api/media/${c.fx.mediaBefore}` }) },
  "GET /api/media/:id sent after the removal": { media: true, http: (c) => ({ method: "GET", path: `/api/media/${c.fx.mediaAfter}` }) },
  "HEAD /api/media/:id": { media: true, http: (c) => ({ method: "HEAD", path: `/api/media/${c.fx.mediaBefore}` }) },
  "GET /api/media/:id/info": { media: true, http: (c) => ({ method: "GET", path: `/api/media/${c.fx.mediaBefore}/info` }) },
  "GET /healthz": { http: () => ({ method: "GET", path: "/healthz" }) },
  "GET /metrics": { http: () => ({ method: "GET", path: "/metrics" }) },
  "POST /admin/users": adminHttp("POST", () => "/admin/users", (c) => ({ name: "authz", phone: `+1444777${String(++counter).padStart(4, "0")}` })),
  "GET /admin/users": adminHttp("GET", () => "/admin/users"),
  "GET /admin/users/:id": adminHttp("GET", () => `/admin/users/${users.member.user.id}`),
  "DELETE /admin/users/:id": adminHttp("DELETE", async (c) => `/admin/users/${await c.throwawayUser()}`),
  "POST /admin/users/:id/code": adminHttp("POST", () => `/admin/users/${users.member.user.id}/code`),
  "GET /admin/users/:id/devices": adminHttp("GET", () => `/admin/users/${users.member.user.id}/devices`),
  "DELETE /admin/devices/:id": adminHttp("DELETE", async (c) => `/admin/devices/${await c.spareDevice()}`),
  "POST /admin/groups": adminHttp("POST", () => "/admin/groups", () => ({ name: "authz", owner: users.admin.user.id, members: [] })),
  "GET /admin/groups": adminHttp("GET", () => "/admin/groups"),
  "GET /admin/groups/:id": adminHttp("GET", (c) => `/admin/groups/${groupOf(c)}`),
  "POST /admin/groups/:id/members": adminHttp("POST", (c) => `/admin/groups/${groupOf(c)}/members`, () => ({ members: [users.outsider.user.id] })),
  "DELETE /admin/groups/:id/members/:user": adminHttp("DELETE", (c) => `/admin/groups/${groupOf(c)}/members/${users.plain.user.id}`),
  "POST /admin/groups/:id/invite": adminHttp("POST", (c) => `/admin/groups/${groupOf(c)}/invite`, () => ({})),
  "GET /admin/groups/:id/invites": adminHttp("GET", (c) => `/admin/groups/${groupOf(c)}/invites`),
  "DELETE /admin/groups/:id/invites/:code": adminHttp("DELETE", (c) => `/admin/groups/${groupOf(c)}/invites/${encodeURIComponent(c.fx.invite)}`),
  "GET /admin/backup": adminHttp("GET", () => "/admin/backup"),
  "GET /admin/stats": adminHttp("GET", () => "/admin/stats"),
  "GET /admin/cluster on a single node": adminHttp("GET", () => "/admin/cluster"),
  "GET /admin/cluster on a cluster node": { cluster: true, ...adminHttp("GET", () => "/admin/cluster") },
  "POST /cluster/heartbeat": { cluster: true, ...adminHttp("POST", () => "/cluster/heartbeat", () => ({})) },
  "POST /cluster/call": { cluster: true, ...adminHttp("POST", () => "/cluster/call", () => ({ calls: [] })) },
  "POST /cluster/events": { cluster: true, ...adminHttp("POST", () => "/cluster/events", () => ({ events: [] })) },
  "GET /cluster/blob/:sha256": { cluster: true, ...adminHttp("GET", () => `/cluster/blob/${"0".repeat(64)}`) },
};

/** Params of an op made from the fixture by param name: every required param, and `channel` and `content`. */
function paramsByName(op: string, c: Ctx): Promise<Record<string, unknown>> | Record<string, unknown> {
  const schema = OP_SCHEMAS[op as keyof typeof OP_SCHEMAS] as Record<string, FieldSpec>;
  const out: Record<string, unknown> = {};
  const later: Array<Promise<void>> = [];
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.optional && name !== "channel" && name !== "content") continue;
    const byName: Record<string, () => unknown> = {
      channel: () => c.fx.group,
      seq: () => c.fx.before.seq,
      to: () => users.plain.user.id,
      user: () => users.plain.user.id,
      members: () => [users.outsider.user.id],
      ids: () => [users.member.user.id],
      message: () => c.fx.before.id,
      reply_to: () => c.fx.before.id,
      media: () => c.fx.mediaBefore,
      invite: () => c.fx.invite,
      phone: () => phoneOfMember,
      client_id: () => c.unique(),
      content: () => "authz",
      name: () => "authz",
    };
    if (name === "device") later.push(c.spareDevice().then((d) => void (out.device = d)));
    else if (byName[name]) out[name] = byName[name]!();
    else if (spec.kind === "enum") out[name] = spec.values[0];
    else if (spec.kind === "int") out[name] = 1;
    else if (spec.kind === "ids") out[name] = [users.member.user.id];
    else out[name] = "authz";
  }
  return later.length ? Promise.all(later).then(() => out) : out;
}

/** The op a row calls (its subject if it is an op name), or null for a route row. */
const opOf = (row: Row): string | null => CALLS[row.key]?.op ?? ((OP_NAMES as readonly string[]).includes(row.subject) ? row.subject : null);

/** The token a column calls with (null: none). */
function tokenOf(column: Column, revoked: string, target: { adminToken: string }): string | null {
  switch (column) {
    case "member":
      return users.member.token;
    case "group admin":
      return users.admin.token;
    case "non-member":
      return users.non.token;
    case "removed member":
      return users.removed.token;
    case "left member":
      return users.left.token;
    case "revoked device":
      return revoked;
    case "deleted user":
      return users.deleted.token;
    case "no token":
      return null;
    case "forged token":
      return "nt_" + Array.from(crypto.getRandomValues(new Uint8Array(40)), (b) => "abcdefghijklmnopqrstuvwxyz234567"[b % 32]).join("");
    case "admin token":
      return target.adminToken;
  }
}

const STATUS_CODE = Object.fromEntries(Object.entries(ERROR_STATUS).map(([code, status]) => [status, code]));

/** An HTTP call's outcome: "ok" for 2xx, else its error code, with the error shape checked. */
async function httpOutcome(base: string, token: string | null, call: HttpCall): Promise<{ outcome: string; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  if (call.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + call.path, { method: call.method, headers, body });
  // Every HTTP response has the security headers (docs/security.md), whichever route answered.
  expect(`${call.method} ${call.path}: ${res.headers.get("x-content-type-options")}`).toEndWith(": nosniff");
  if (res.status >= 200 && res.status < 300) {
    const text = await res.text();
    return { outcome: "ok", body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
  }
  if (call.method === "HEAD") return { outcome: STATUS_CODE[res.status] ?? String(res.status), body: null };
  const b = (await res.json()) as any;
  const code = b?.error?.code;
  // Every HTTP refusal has the protocol's error shape.
  expect({ ok: b?.ok, message: typeof b?.error?.message, request_id: b?.error?.request_id, status: res.status }).toEqual({
    ok: false,
    message: "string",
    request_id: res.headers.get("x-request-id"),
    status: ERROR_STATUS[code as keyof typeof ERROR_STATUS],
  });
  return { outcome: code, body: b };
}

async function makeFixture(withMedia: boolean): Promise<Fixture> {
  const a = users.admin;
  const res = await adminFetch(server, "POST", "/admin/groups", {
    name: "authz",
    owner: a.user.id,
    members: [users.member.user.id, users.removed.user.id, users.left.user.id, users.plain.user.id],
  });
  if (res.status !== 201) throw new Error(`fixture group: ${res.status} ${await res.text()}`);
  const group = ((await res.json()) as any).group.id as string;
  const must = async (r: Promise<{ status: number; body: any }>) => {
    const x = await r;
    if (x.status !== 200) throw new Error(`fixture: ${JSON.stringify(x.body)}`);
    return x.body;
  };
  const send = async (extra: Record<string, unknown>) =>
    (await must(api(server, a.token, "sendMessage", { channel: group, client_id: `fx${++counter}`, ...extra }))).message;
  const upload = async () => {
    const r = await fetch(`${server.url}/api/media`, { method: "POST", headers: { authorization: `Bearer ${a.token}` }, body: png });
    return ((await r.json()) as any).media.id as string;
  };
  const before = await send({ type: "text", content: "before" });
  const mediaBefore = withMedia ? await upload() : undefined;
  if (mediaBefore) await send({ type: "file", media: mediaBefore });
  const invite = (await must(api(server, a.token, "createInvite", { channel: group }))).invite;
  await must(api(server, a.token, "removeMember", { channel: group, user: users.removed.user.id }));
  await must(api(server, users.left.token, "leaveGroup", { channel: group }));
  const after = await send({ type: "text", content: "after" });
  const mediaAfter = withMedia ? await upload() : undefined;
  if (mediaAfter) await send({ type: "file", media: mediaAfter });
  return { group, before: { id: before.id, seq: before.seq }, after: { id: after.id, seq: after.seq }, invite, mediaBefore, mediaAfter };
}

function ctxFor(fx: Fixture, column: Column): Ctx {
  return {
    server,
    fx,
    column,
    spareDevice: async () => (await login(server, await freshCode(server, users.member.user.id), "spare")).device.id,
    throwawayUser: async () => (await makeUser(server, "Throwaway")).user.id,
    unique: () => `authz-${++counter}`,
  };
}

/** A device of the member, its websocket open, revoked by the operator: the socket must close with 4401. */
async function revokedDevice(): Promise<string> {
  const d = await login(server, await freshCode(server, users.member.user.id), "to-revoke");
  const ws = await WsClient.connect(server, d.token);
  const r = await adminFetch(server, "DELETE", `/admin/devices/${d.device.id}`);
  expect(r.status).toBe(200);
  expect((await ws.waitClosed(10_000)).code).toBe(4401);
  return d.token;
}

/** Runs one cell; returns the outcome ("ok" or a code), or a list of them when a cell runs twice (ws and HTTP). */
async function runCell(row: Row, column: Column): Promise<string[]> {
  const call = CALLS[row.key];
  const op = opOf(row);
  if (!op && !call?.http) throw new Error(`no way to call row "${row.key}": add it to CALLS in test/e2e/authz-matrix.test.ts`);
  const target = call?.cluster ? { url: cluster!.node("n1").url, adminToken: cluster!.adminToken } : { url: server.url, adminToken: server.adminToken };
  const revoked = column === "revoked device" && !call?.cluster ? await revokedDevice() : column === "revoked device" ? clusterRevoked : "";
  const token = call?.cluster && MEMBERSHIP.includes(column) ? clusterUser.token : call?.cluster && column === "deleted user" ? clusterDeleted : tokenOf(column, revoked, target);
  const outcomes: string[] = [];
  const viaList: Array<"ws" | "http"> = op && MEMBERSHIP.includes(column) ? ["ws", "http"] : ["http"];
  for (const via of viaList) {
    const c = ctxFor(call?.cluster ? ({} as Fixture) : await makeFixture(call?.media === true), column);
    let outcome: string;
    let result: any;
    if (op) {
      const params = await (call?.params ?? ((x: Ctx) => paramsByName(op, x)))(c);
      if (via === "ws") {
        const r = await sockets[column]!.request(op, params);
        outcome = r.ok ? "ok" : r.error.code;
        result = r;
      } else ({ outcome, body: result } = await httpOutcome(target.url, token, { method: "POST", path: `/api/${op}`, body: params }));
    } else {
      const h = await call!.http!(c);
      if (h.method === "WS") {
        const raw = await upgradeStatus(server, token === null ? "/ws" : `/ws?token=${encodeURIComponent(token)}`);
        const status = raw.response?.status ?? 0;
        if (status !== 101) expect(`GET /ws ${status}: ${raw.response?.headers["x-content-type-options"]}`).toEndWith(": nosniff");
        raw.destroy();
        outcome = status === 101 ? "ok" : (STATUS_CODE[status] ?? String(status));
      } else ({ outcome, body: result } = await httpOutcome(target.url, token, h));
    }
    if (outcome === "ok" && call?.check) await call.check(c, result, via);
    outcomes.push(outcome);
  }
  return outcomes;
}

let clusterUser: TestUser;
let clusterRevoked = "";
let clusterDeleted = "";

beforeAll(async () => {
  server = await startServer({ args: ["--rate-burst", "1000000", "--rate-per-sec", "1000000", "--sync", "normal"] });
  const made = await Promise.all(["Admin", "Member", "Non", "Removed", "Left", "Plain", "Outsider", "Deleted"].map((n) => makeUser(server, n)));
  [users.admin, users.member, users.non, users.removed, users.left, users.plain, users.outsider, users.deleted] = made;
  phoneOfMember = users.member.user.phone;
  const del = await adminFetch(server, "DELETE", `/admin/users/${users.deleted.user.id}`);
  expect(del.status).toBe(200);
  const byColumn: Array<[Column, TestUser]> = [
    ["member", users.member],
    ["group admin", users.admin],
    ["non-member", users.non],
    ["removed member", users.removed],
    ["left member", users.left],
  ];
  for (const [col, u] of byColumn) sockets[col] = await WsClient.connect(server, u.token);
  // The cluster rows: a one-node cluster, with a user, a revoked device and a deleted user of its own.
  cluster = await startCluster({ nodes: 1, cluster: true });
  await cluster.waitHealthy();
  const n1 = { url: cluster.node("n1").url, adminToken: cluster.adminToken, port: cluster.node("n1").port } as unknown as TestServer;
  const cu = await makeUser(n1, "ClusterUser");
  clusterUser = cu;
  const rev = await login(n1, await freshCode(n1, cu.user.id), "to-revoke");
  await adminFetch(n1, "DELETE", `/admin/devices/${rev.device.id}`);
  clusterRevoked = rev.token;
  const gone = await makeUser(n1, "ClusterGone");
  await adminFetch(n1, "DELETE", `/admin/users/${gone.user.id}`);
  clusterDeleted = gone.token;
}, 60_000);

afterAll(async () => {
  for (const s of Object.values(sockets)) s?.close();
  await server?.cleanup();
  await cluster?.stop();
});

describe("authorization matrix (docs/security.md)", () => {
  test("every op of the schema and every route of the server has a row; every row can be called", () => {
    const rows = matrixRows();
    const subjects = new Set(rows.map((r) => r.subject));
    expect(OP_NAMES.filter((op) => !subjects.has(op))).toEqual([]);
    const routeRows = new Set(rows.map((r) => norm(r.subject)));
    // POST /api/:op is every op's mirror; its own row calls ping.
    expect(serverRoutes().filter((r) => !routeRows.has(norm(r)))).toEqual([]);
    expect(rows.filter((r) => !opOf(r) && !CALLS[r.key]?.http).map((r) => r.key)).toEqual([]);
    expect(Object.keys(CALLS).filter((k) => !rows.some((r) => r.key === k))).toEqual([]);
    for (const r of rows) for (const c of COLUMNS) expect(`${r.key} / ${c}: ${r.cells[c]}`).toMatch(/: (ok|[a-z_]+)( \(.*\))?$/);
  });

  test("the route list sees the server's routes (a route added to an Elysia set or to /cluster/* appears)", () => {
    const routes = serverRoutes();
    expect(routes).toContain("GET /api/media/:id");
    expect(routes).toContain("DELETE /admin/groups/:id/invites/:code");
    expect(routes).toContain("POST /cluster/heartbeat");
    expect(routes).toContain("GET /cluster/blob/:sha256");
    expect(routes.length).toBeGreaterThan(30);
  });

  test(
    "every cell gives its answer",
    async () => {
      const wrong: string[] = [];
      let cells = 0;
      for (const row of matrixRows()) {
        for (const column of COLUMNS) {
          const want = row.cells[column].split(" ")[0]!;
          let got: string[];
          try {
            got = await runCell(row, column);
          } catch (e) {
            got = [`threw ${(e as Error).message.split("\n")[0]}`];
          }
          cells++;
          if (got.some((g) => g !== want)) wrong.push(`${row.key} / ${column}: ${got.join(", ")} (table: ${want})`);
        }
      }
      console.log(`[authz] ${matrixRows().length} rows, ${cells} cells, ${wrong.length} wrong`);
      expect(wrong).toEqual([]);
    },
    240_000,
  );
});
