// HTTP routes: login, the op mirror (POST /api/OP), convenience routes,
// health, metrics, and the admin surface (admin token only). Each route reads
// its request (validated against its schema in src/protocol) and calls the
// domain; the edge admits requests and maps errors.

import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { ADMIN_SCHEMAS, LOGIN_SCHEMA, NatterError, type BackupStatus, type LoginResult } from "../../protocol/index.ts";
import type { Admin } from "../domain/admin.ts";
import { sha256 } from "../ids.ts";
import type { Metrics } from "../metrics.ts";
import type { Edge, OpOutcome } from "./edge.ts";
import { bearer, errorResponse, json, readBody, readJson } from "./errors.ts";
import type { AuthThrottle } from "./throttle.ts";

type Handler = (req: Request, params: Record<string, string>) => Promise<Response>;

/** Wraps a handler so every failure becomes a protocol error response. */
function guarded(edge: Edge, where: string, h: Handler) {
  return async ({ request, params }: { request: Request; params: Record<string, string> }) => {
    try {
      return await h(request, params ?? {});
    } catch (e) {
      return edge.response(e, where);
    }
  };
}

/** A check of a bearer token against `secrets`, in constant time (equal-length SHA-256 digests, every secret compared). */
export function tokenMatcher(secrets: readonly string[]): (token: string | null) => boolean {
  const digests = secrets.filter((s) => s !== "").map((s) => Buffer.from(sha256(s)));
  return (token) => {
    if (!token) return false;
    const d = Buffer.from(sha256(token));
    let ok = false;
    for (const e of digests) ok = timingSafeEqual(d, e) || ok;
    return ok;
  };
}

function opResponse(outcome: OpOutcome): Response {
  return outcome.ok ? json(outcome) : errorResponse(NatterError.fromWire(outcome.error), outcome.error.request_id);
}

export interface ApiDeps {
  edge: Edge;
  /** Exchanges a login code for a device and its token. */
  login(code: string, device: string): Promise<LoginResult>;
  metrics: Metrics;
  /** Open websockets, for /healthz. */
  connections(): number;
  /** Merged into the /healthz body (replication). */
  health?: () => Record<string, unknown>;
  /** False makes /healthz 503 (a cluster node out of its quorum, or not yet serving its shards). */
  ready?: () => boolean;
  /** Bearer tokens that may read /metrics (the admin token, the metrics token). */
  metricsTokens: readonly string[];
  /** Failed logins and bad tokens, per address and code prefix. */
  throttle: AuthThrottle;
}

export function apiRoutes({ edge, login, metrics, connections, health, ready, metricsTokens, throttle }: ApiDeps) {
  const metricsAllowed = tokenMatcher(metricsTokens);
  const op = async (req: Request, name: string, params: unknown) => {
    const caller = await edge.authenticate(req);
    // edge.op admits, runs and counts its own errors; a failed authentication is counted by guarded.
    return opResponse(await edge.op(caller, name, params));
  };
  const query = (req: Request) => {
    const q = new URL(req.url).searchParams;
    const out: Record<string, unknown> = {};
    for (const k of ["before_seq", "after_seq", "limit"]) {
      const v = q.get(k);
      if (v !== null && v !== "") out[k] = /^-?\d+$/.test(v) ? Number(v) : v;
    }
    return out;
  };
  return new Elysia()
    .get("/healthz", () => {
      const ok = ready ? ready() : true;
      return json({ ok, version: 1, uptime_ms: Date.now() - edge.startedAt, connections: connections(), draining: edge.draining, ...health?.() }, ok ? 200 : 503);
    })
    .get(
      "/metrics",
      guarded(edge, "metrics", (req) =>
        throttle.guard(req, undefined, async () => {
          const t = bearer(req);
          if (!metricsAllowed(t)) throw new NatterError("unauthorized", t ? "metrics token not accepted" : "metrics need a bearer token (admin or --metrics-token)");
          return new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });
        }),
      ),
    )
    .post(
      "/api/login",
      guarded(edge, "login", async (req) => {
        const p = await readBody(req, LOGIN_SCHEMA);
        return json(await throttle.guard(req, p.code, () => login(p.code, p.device ?? "device")));
      }),
    )
    .get("/api/chats", guarded(edge, "chats", (req) => op(req, "getAll", {})))
    .get("/api/channels/:id/messages", guarded(edge, "history", (req, p) => op(req, "getMessages", { ...query(req), channel: p.id })))
    .post(
      "/api/channels/:id/messages",
      guarded(edge, "send", async (req, p) => op(req, "sendMessage", { ...(await readJson(req)), channel: p.id })),
    )
    .post("/api/:op", guarded(edge, "op", async (req, p) => op(req, p.op!, await readJson(req))));
}

export interface AdminDeps {
  edge: Edge;
  admin: Admin;
  adminToken: string;
  /** GET /admin/backup: replication status. */
  backupStatus?: () => BackupStatus;
  /** GET /admin/cluster: the cluster's view from this node (404 on a single node). */
  clusterStatus?: () => unknown;
  /** Bad admin tokens count as failed authentications of their address. */
  throttle: AuthThrottle;
}

export function adminRoutes({ edge, admin: ops, adminToken, backupStatus, clusterStatus, throttle }: AdminDeps) {
  const isAdmin = tokenMatcher([adminToken]);
  const admin = (where: string, h: Handler) =>
    guarded(edge, where, async (req, params) => {
      await throttle.guard(req, undefined, async () => {
        const t = bearer(req);
        if (!isAdmin(t)) throw new NatterError("unauthorized", t ? "admin token not accepted" : "admin token required");
      });
      return h(req, params);
    });
  return new Elysia({ prefix: "/admin" })
    .post("/users", admin("admin.users.add", async (req) => json(await ops.createUser(await readBody(req, ADMIN_SCHEMAS.createUser)), 201)))
    .get("/users", admin("admin.users.list", async () => json(await ops.listUsers())))
    .get("/users/:id", admin("admin.users.show", async (_r, p) => json(await ops.showUser(p.id!))))
    .delete("/users/:id", admin("admin.users.remove", async (_r, p) => json(await ops.deleteUser(p.id!))))
    .post("/users/:id/code", admin("admin.users.code", async (_r, p) => json(await ops.loginCode(p.id!))))
    .get("/users/:id/devices", admin("admin.devices.list", async (_r, p) => json(await ops.listDevices(p.id!))))
    .delete("/devices/:id", admin("admin.devices.revoke", async (_r, p) => json(await ops.revokeDevice(p.id!))))
    .post("/groups", admin("admin.groups.create", async (req) => json(await ops.createGroup(await readBody(req, ADMIN_SCHEMAS.createGroup)), 201)))
    .get("/groups", admin("admin.groups.list", async () => json(await ops.listGroups())))
    .get("/groups/:id", admin("admin.groups.show", async (_r, p) => json(await ops.showGroup(p.id!))))
    .post(
      "/groups/:id/members",
      admin("admin.groups.add", async (req, p) => json(await ops.addMembers(p.id!, await readBody(req, ADMIN_SCHEMAS.addMembers)))),
    )
    .delete("/groups/:id/members/:user", admin("admin.groups.remove", async (_r, p) => json(await ops.removeMember(p.id!, p.user!))))
    .post("/groups/:id/invite", admin("admin.groups.invite", async (req, p) => json(await ops.createInvite(p.id!, await readBody(req, ADMIN_SCHEMAS.createInvite)))))
    .get("/groups/:id/invites", admin("admin.groups.invites", async (_r, p) => json(await ops.listInvites(p.id!))))
    .delete("/groups/:id/invites/:code", admin("admin.groups.invite-revoke", async (_r, p) => json(await ops.revokeInvite(p.id!, p.code!))))
    .get("/backup", admin("admin.backup", async () => json(backupStatus?.() ?? { enabled: false })))
    .get("/stats", admin("admin.stats", async () => json(await ops.stats())))
    .get(
      "/cluster",
      admin("admin.cluster", async () => {
        if (!clusterStatus) throw new NatterError("not_found", "this server is a single node (no --node-id)");
        return json(clusterStatus());
      }),
    );
}
