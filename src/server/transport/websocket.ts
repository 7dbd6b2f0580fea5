// The /ws endpoint: authenticate at the upgrade (401 / 503 before any hello),
// then request/reply frames per PROTOCOL.md and pushed events.

import type { ServerWebSocket } from "bun";
import { NatterError, PROTOCOL_VERSION, type HelloEvent } from "../../protocol/index.ts";
import type { Conn } from "./hub.ts";
import type { ServerContext } from "./context.ts";
import { bearer, toNatterError } from "./errors.ts";

interface WsData {
  caller?: { user: string; device: string; deviceName: string };
}

const conns = new WeakMap<ServerWebSocket<unknown>, Conn>();

function reply(raw: ServerWebSocket<unknown>, frame: unknown): void {
  raw.send(JSON.stringify(frame));
}

/** Elysia ws route options for /ws. */
export function websocketRoute(ctx: ServerContext) {
  const { hub, accounts, chat, presence, log, metrics, config } = ctx;
  return {
    async beforeHandle(c: { request: Request; query: Record<string, string | undefined> } & WsData) {
      if (ctx.draining) throw new NatterError("unavailable", "server is shutting down", ctx.retryAfterMs());
      if (hub.size >= config.maxConnections) {
        metrics.refused.inc({ reason: "max_connections" });
        throw new NatterError("unavailable", "server is at its connection limit", ctx.retryAfterMs());
      }
      if (ctx.overloaded()) {
        metrics.refused.inc({ reason: "overload" });
        throw new NatterError("unavailable", "server is overloaded", ctx.retryAfterMs());
      }
      const token = c.query.token ?? bearer(c.request);
      try {
        c.caller = await accounts.authenticate(token);
      } catch (e) {
        metrics.refused.inc({ reason: "unauthorized" });
        throw e;
      }
    },

    async open(ws: { raw: ServerWebSocket<unknown>; data: WsData }) {
      const caller = ws.data.caller!;
      const { conn, first } = hub.add(ws.raw, caller.user, caller.device);
      conns.set(ws.raw, conn);
      try {
        const [user, device] = await Promise.all([accounts.getUser(caller.user), accounts.device(caller.user, caller.device)]);
        const hello: HelloEvent = { ev: "hello", user, device, heartbeat_ms: config.heartbeatMs, protocol: PROTOCOL_VERSION };
        ws.raw.send(JSON.stringify(hello));
        for (const p of await presence.snapshot(caller.user)) ws.raw.send(JSON.stringify(p));
        if (first) await presence.online(caller.user);
      } catch (e) {
        // The user or device vanished between upgrade and open (deleted / revoked).
        const err = toNatterError(e, log, "ws.open");
        ws.raw.close(err.code === "not_found" ? 4401 : 1011, err.message);
      }
    },

    async message(ws: { raw: ServerWebSocket<unknown> }, msg: unknown) {
      const conn = conns.get(ws.raw);
      if (!conn) return;
      conn.alive = true;
      if (msg === null || typeof msg !== "object" || Array.isArray(msg) || Buffer.isBuffer(msg)) {
        metrics.errors.inc({ code: "bad_request" });
        return reply(ws.raw, { re: null, ok: false, error: { code: "bad_request", message: "frame must be a JSON object with an op" } });
      }
      const { id, op, ...params } = msg as Record<string, unknown>;
      const re = typeof id === "number" || typeof id === "string" ? id : null;
      if (typeof op !== "string") {
        metrics.errors.inc({ code: "bad_request" });
        return reply(ws.raw, { re: null, ok: false, error: { code: "bad_request", message: "frame has no op" } });
      }
      const result = await ctx.run(conn.caller, op, params);
      if (ws.raw.readyState === 1) reply(ws.raw, { re, ...result });
    },

    // Elysia hands ping/pong handlers Bun's socket itself, not its wrapper.
    pong(ws: ServerWebSocket<unknown>) {
      const conn = conns.get(ws);
      if (conn) conn.alive = true;
    },

    async close(ws: { raw: ServerWebSocket<unknown> }) {
      const conn = conns.get(ws.raw);
      if (!conn) return;
      conns.delete(ws.raw);
      if (ws.raw.getBufferedAmount() >= config.sendBufferBytes) metrics.slowConsumers.inc();
      if (hub.remove(conn)) {
        try {
          await presence.offline(conn.user);
        } catch (e) {
          toNatterError(e, log, "ws.close");
        }
      }
    },
  };
}
