// The /ws endpoint on Bun's websocket server directly (not Elysia's ws layer,
// which keeps a whole request context per socket): authenticate at the upgrade
// (401 / 503 before any hello), then request/reply frames per PROTOCOL.md and
// pushed events. Each socket's data is only its caller, then its Conn.

import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { NatterError, PROTOCOL_VERSION, type HelloEvent } from "../../protocol/index.ts";
import type { ServerConfig } from "../config.ts";
import type { Accounts } from "../domain/accounts.ts";
import type { Presence } from "../domain/presence.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Edge } from "./edge.ts";
import type { Conn, Hub } from "./hub.ts";
import { bearer, toNatterError } from "./errors.ts";
import type { AuthThrottle } from "./throttle.ts";

/** What the /ws endpoint uses. */
export interface WsDeps {
  edge: Edge;
  hub: Hub;
  accounts: Pick<Accounts, "authenticate" | "getUser" | "device">;
  presence: Pick<Presence, "online" | "offline" | "snapshot">;
  metrics: Metrics;
  log: Logger;
  limits: Pick<ServerConfig, "maxConnections" | "maxConnectionsPerUser" | "heartbeatMs" | "maxFrameBytes" | "sendBufferBytes" | "sendBufferMaxBytes">;
  /** A cluster's node URLs, sent in hello. */
  nodes?: string[];
  /** Bad tokens at the upgrade count against the client's address. */
  throttle?: AuthThrottle;
}

/** Per-socket data: who authenticated at the upgrade, then the hub's Conn once open. */
export interface WsData {
  user: string;
  device: string;
  conn: Conn | null;
  /** While a frame is unfinished: resolves when the last frame's op has handed over (or finished). */
  started?: Promise<void> | null;
  /** While a frame is unfinished: resolves when the last frame's reply has been sent. */
  answered?: Promise<void> | null;
}

type Ws = ServerWebSocket<WsData>;
type Order = { started?: Promise<void> | null; answered?: Promise<void> | null };

function reply(ws: Ws, frame: unknown, hub?: Hub): void {
  if (ws.send(JSON.stringify(frame)) === 0 && ws.data.conn) hub?.closeSlow([ws.data.conn]);
}

/** True for a request the /ws endpoint upgrades: GET /ws or /ws/ with `Upgrade: websocket` (exactly, as Elysia matched it). */
export function isWsUpgrade(req: Request): boolean {
  if (req.method !== "GET" || req.headers.get("upgrade") !== "websocket") return false;
  const path = new URL(req.url).pathname;
  return path === "/ws" || path === "/ws/";
}

/**
 * Answers an upgrade request to /ws: refuses while draining or at capacity
 * (503 with Retry-After) and without a valid token (401), as JSON errors;
 * otherwise upgrades with the caller as the socket's data.
 */
export function websocketUpgrade({ edge, hub, accounts, metrics, limits, throttle }: WsDeps) {
  const admit = async (req: Request): Promise<WsData> => {
    edge.admitConnection(hub.size, limits.maxConnections);
    // The last ?token wins, as it did under Elysia's query parser.
    const token = new URL(req.url).searchParams.getAll("token").pop() ?? bearer(req);
    let caller: Awaited<ReturnType<typeof accounts.authenticate>>;
    try {
      caller = throttle ? await throttle.guard(req, undefined, () => accounts.authenticate(token)) : await accounts.authenticate(token);
    } catch (e) {
      metrics.refused.inc({ reason: e instanceof NatterError && e.code === "rate_limited" ? "rate_limited" : "unauthorized" });
      throw e;
    }
    if (hub.countOf(caller.user) >= limits.maxConnectionsPerUser) {
      metrics.refused.inc({ reason: "max_connections_per_user" });
      throw new NatterError("rate_limited", `this user has ${limits.maxConnectionsPerUser} connections open already`, edge.retryAfterMs());
    }
    return { user: caller.user, device: caller.device, conn: null };
  };
  return async (req: Request, server: Server<WsData>): Promise<Response | undefined> => {
    let data: WsData;
    try {
      data = await admit(req);
    } catch (e) {
      return edge.response(e, "http");
    }
    if (server.upgrade(req, { data })) return undefined;
    return new Response("Expected a websocket connection", { status: 400 });
  };
}

/** Bun websocket handlers and options for /ws. */
export function websocketHandlers({ edge, hub, accounts, presence, log, limits, nodes }: WsDeps): WebSocketHandler<WsData> {
  const badFrame = (message: string) => ({ re: null, ok: false, error: edge.error(new NatterError("bad_request", message), "ws").toWire() });
  /** One frame's reply: the frame parsed and run as the connection's caller. Never throws (edge.op does not). */
  const outcome = async (conn: Conn, raw: string | Buffer): Promise<object> => {
    const msg = parseFrame(raw);
    if (msg === null) return badFrame("frame must be a JSON object with an op");
    const { id, op, ...params } = msg;
    const re = typeof id === "number" || typeof id === "string" ? id : null;
    if (typeof op !== "string") return badFrame("frame has no op");
    return { re, ...(await edge.op(conn.caller, op, params)) };
  };
  /** One frame in its socket's order: starts after the previous op handed over, answers after its reply. */
  const handle = async (ws: Ws, conn: Conn, raw: string | Buffer, before: Order, go: () => void, done: () => void): Promise<void> => {
    if (before.started) await before.started;
    conn.handedOver = go;
    let frame: object;
    try {
      frame = await outcome(conn, raw);
    } finally {
      if (conn.handedOver === go) conn.handedOver = undefined;
      go();
    }
    try {
      if (before.answered) await before.answered;
      if (ws.readyState === 1) reply(ws, frame, hub);
    } finally {
      done();
    }
  };
  return {
    maxPayloadLength: limits.maxFrameBytes,
    backpressureLimit: Math.max(limits.sendBufferBytes, limits.sendBufferMaxBytes), // the hard bound; the stall rule is the hub's
    closeOnBackpressureLimit: true,
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: false,

    async open(ws) {
      const { user: userId, device: deviceId } = ws.data;
      const { conn, first } = hub.add(ws, userId, deviceId);
      ws.data.conn = conn;
      try {
        const [user, device] = await Promise.all([accounts.getUser(userId), accounts.device(userId, deviceId)]);
        const hello: HelloEvent = { ev: "hello", user, device, heartbeat_ms: limits.heartbeatMs, protocol: PROTOCOL_VERSION };
        if (nodes) hello.nodes = nodes;
        ws.send(JSON.stringify(hello));
        for (const p of await presence.snapshot(userId)) ws.send(JSON.stringify(p));
        if (first) await presence.online(userId);
      } catch (e) {
        // The user or device vanished between upgrade and open (deleted / revoked).
        const err = toNatterError(e, log, "ws.open");
        ws.close(err.code === "not_found" ? 4401 : 1011, err.message);
      }
    },

    // Frames of one socket take effect and are answered in arrival order, whatever each op
    // awaits: an op starts once the previous one has handed over (its last write is queued in
    // its shard's writer, which keeps that order; see Caller.handedOver) or finished, and its
    // reply leaves after the previous one's. Sockets run concurrently.
    message(ws, raw) {
      const conn = ws.data.conn;
      if (!conn) return;
      conn.alive = true;
      const d = ws.data;
      const before = { started: d.started, answered: d.answered };
      let go!: () => void;
      let done!: () => void;
      const started = new Promise<void>((r) => (go = r));
      const answered = new Promise<void>((r) => (done = r));
      d.started = started;
      d.answered = answered;
      void handle(ws, conn, raw, before, go, done).then(() => {
        if (d.answered === answered) d.started = d.answered = null;
      });
    },

    drain(ws) {
      if (ws.data.conn) hub.drained(ws.data.conn);
    },

    pong(ws) {
      const conn = ws.data.conn;
      if (conn) conn.alive = true;
    },

    async close(ws) {
      const conn = ws.data.conn;
      if (!conn) return;
      ws.data.conn = null;
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

/**
 * A text frame holding a JSON object, or null for anything else (binary,
 * invalid JSON, arrays, scalars). Only text starting with "{" is parsed, so
 * leading whitespace is refused as before.
 */
function parseFrame(raw: string | Buffer): Record<string, unknown> | null {
  if (typeof raw !== "string" || raw.charCodeAt(0) !== 123) return null;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return null;
  }
}
