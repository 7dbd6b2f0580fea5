// HTTP routes: login, the op mirror (POST /api/OP), convenience routes,
// health, metrics, and the admin surface (admin token only).

import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { NatterError } from "../../protocol/index.ts";
import { sha256 } from "../ids.ts";
import type { ServerContext } from "./context.ts";
import { bearer, errorResponse, json, readJson, toNatterError } from "./errors.ts";

type Handler = (req: Request, params: Record<string, string>) => Promise<Response>;

/** Wraps a handler so every failure becomes a protocol error response. */
function guarded(ctx: ServerContext, where: string, h: Handler) {
  return async ({ request, params }: { request: Request; params: Record<string, string> }) => {
    try {
      return await h(request, params ?? {});
    } catch (e) {
      const err = toNatterError(e, ctx.log, where);
      ctx.metrics.errors.inc({ code: err.code });
      return errorResponse(err);
    }
  };
}

function opResponse(outcome: { ok: boolean } & Record<string, unknown>): Response {
  if (outcome.ok) return json(outcome);
  const err = NatterError.fromWire((outcome as unknown as { error: Parameters<typeof NatterError.fromWire>[0] }).error);
  return errorResponse(err);
}

/** Optional parts other modules add to /healthz and /admin (replication). */
export interface RouteExtras {
  /** Merged into the /healthz body. */
  health?: () => Record<string, unknown>;
  /** GET /admin/backup: replication status. */
  backupStatus?: () => unknown;
}

export function apiRoutes(ctx: ServerContext, extras: RouteExtras = {}) {
  const { accounts } = ctx;
  const op = async (req: Request, name: string, params: unknown) => {
    const caller = await accounts.authenticate(bearer(req));
    const outcome = await ctx.run(caller, name, params);
    // HTTP counts run's errors itself only when they are thrown before run.
    return opResponse(outcome);
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
    .get("/healthz", () =>
      json({ ok: true, version: 1, uptime_ms: Date.now() - ctx.startedAt, connections: ctx.hub.size, draining: ctx.draining, ...extras.health?.() }),
    )
    .get("/metrics", () => new Response(ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }))
    .post(
      "/api/login",
      guarded(ctx, "login", async (req) => {
        const b = await readJson(req);
        if (typeof b.code !== "string" || b.code.length === 0 || b.code.length > 100) throw new NatterError("bad_request", "code is required");
        const device = typeof b.device === "string" ? b.device : "device";
        return json(await accounts.login(b.code, device));
      }),
    )
    .get("/api/chats", guarded(ctx, "chats", (req) => op(req, "getAll", {})))
    .get("/api/channels/:id/messages", guarded(ctx, "history", (req, p) => op(req, "getMessages", { ...query(req), channel: p.id })))
    .post(
      "/api/channels/:id/messages",
      guarded(ctx, "send", async (req, p) => op(req, "sendMessage", { ...(await readJson(req)), channel: p.id })),
    )
    .post("/api/:op", guarded(ctx, "op", async (req, p) => op(req, p.op!, await readJson(req))));
}

export function adminRoutes(ctx: ServerContext, adminToken: string, extras: RouteExtras = {}) {
  const { accounts, chat, store, hub } = ctx;
  const expected = Buffer.from(sha256(adminToken));
  const admin = (where: string, h: Handler) =>
    guarded(ctx, where, async (req, params) => {
      const t = bearer(req);
      if (!t || !timingSafeEqual(Buffer.from(sha256(t)), expected)) throw new NatterError("unauthorized", "admin token required");
      return h(req, params);
    });
  const str = (b: Record<string, unknown>, k: string, required = true): string | undefined => {
    const v = b[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || v.length === 0) throw new NatterError("bad_request", `${k} is required`);
    return v;
  };
  const ids = (b: Record<string, unknown>, k: string): string[] => {
    const v = b[k] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new NatterError("bad_request", `${k} must be a list of user ids`);
    return v as string[];
  };
  const groupView = async (id: string) => {
    const s = await chat.channel(id);
    const v = await chat.view(s, "");
    return { ...v, last_seq: s.channel.last_seq, created_by: s.channel.created_by };
  };
  return new Elysia({ prefix: "/admin" })
    .post(
      "/users",
      admin("admin.users.add", async (req) => {
        const b = await readJson(req);
        return json(await accounts.createUser(str(b, "name")!, str(b, "phone")!), 201);
      }),
    )
    .get("/users", admin("admin.users.list", async () => json({ users: await accounts.listUsers() })))
    .get(
      "/users/:id",
      admin("admin.users.show", async (_r, p) => {
        const user = await accounts.getUser(p.id!);
        return json({ user, devices: await accounts.listDevices(p.id!), channels: await store.userChannels(p.id!), online: hub.isOnline(p.id!) });
      }),
    )
    .delete(
      "/users/:id",
      admin("admin.users.remove", async (_r, p) => {
        const user = await accounts.getUser(p.id!);
        for (const c of await store.userChannels(user.id)) {
          const s = await store.getChannel(c);
          if (s?.channel.kind === "group" && s.members.some((m) => m.user_id === user.id && m.left_seq === null))
            await chat.removeMember({ admin: true }, c, user.id);
        }
        await store.deleteUser(user.id);
        hub.closeUser(user.id, 4401, "user removed");
        return json({ ok: true });
      }),
    )
    .post("/users/:id/code", admin("admin.users.code", async (_r, p) => json({ code: await accounts.newCode(p.id!) })))
    .get("/users/:id/devices", admin("admin.devices.list", async (_r, p) => json({ devices: await accounts.listDevices(p.id!) })))
    .delete(
      "/devices/:id",
      admin("admin.devices.revoke", async (_r, p) => {
        await accounts.revokeDevice(p.id!);
        return json({ ok: true });
      }),
    )
    .post(
      "/groups",
      admin("admin.groups.create", async (req) => {
        const b = await readJson(req);
        const owner = str(b, "owner")!;
        const join = b.join === undefined ? undefined : b.join === "open" || b.join === "invite" ? b.join : null;
        if (join === null) throw new NatterError("bad_request", "join must be invite or open");
        const ch = await chat.createGroup(owner, {
          name: str(b, "name")!,
          description: str(b, "description", false),
          members: ids(b, "members"),
          join,
        });
        return json({ group: await groupView(ch.id) }, 201);
      }),
    )
    .get(
      "/groups",
      admin("admin.groups.list", async () => {
        const rows = (await store.listChannels()).filter((c) => c.kind === "group");
        const groups = [];
        for (const r of rows) groups.push(await groupView(r.id));
        return json({ groups });
      }),
    )
    .get("/groups/:id", admin("admin.groups.show", async (_r, p) => json({ group: await groupView(p.id!) })))
    .post(
      "/groups/:id/members",
      admin("admin.groups.add", async (req, p) => {
        await chat.addMembers({ admin: true }, p.id!, ids(await readJson(req), "members"));
        return json({ group: await groupView(p.id!) });
      }),
    )
    .delete(
      "/groups/:id/members/:user",
      admin("admin.groups.remove", async (_r, p) => {
        await chat.removeMember({ admin: true }, p.id!, p.user!);
        return json({ group: await groupView(p.id!) });
      }),
    )
    .post("/groups/:id/invite", admin("admin.groups.invite", async (_r, p) => json({ invite: await chat.createInvite({ admin: true }, p.id!) })))
    .get("/backup", admin("admin.backup", async () => json(extras.backupStatus?.() ?? { enabled: false })))
    .get(
      "/stats",
      admin("admin.stats", async () =>
        json({
          ...(await store.stats()),
          connections: hub.size,
          uptime_ms: Date.now() - ctx.startedAt,
          rss_bytes: process.memoryUsage().rss,
        }),
      ),
    );
}
