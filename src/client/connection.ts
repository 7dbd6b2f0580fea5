// One websocket at a time to the server: connects, reconnects with
// full-jitter backoff until stopped, matches replies to requests, and treats
// a silent connection (no frame for 2x heartbeat_ms) as dead. It knows
// nothing of messages or channels; the client layers that on top.
// A server that refuses with a retry-after is waited out, even past the cap.
// With several server URLs (servers.ts) each new attempt goes to the next
// one; a close with 4503 (node unavailable) or repeated `unavailable`
// answers move the client on too.
import { NatterError, type HelloEvent, type OpName, type OpParams, type OpResults, type Reply, type ServerEvent } from "../protocol/index.ts";
import { fullJitterDelay, type BackoffOptions } from "./backoff.ts";
import { wsUrl } from "./http.ts";
import type { ServerRotation } from "./servers.ts";

/** Close code of a node that is not serving (not in a quorum): reconnect to another node. */
export const CLOSE_NODE_UNAVAILABLE = 4503;
/** Consecutive `unavailable` answers after which a client with several servers moves to the next. */
export const UNAVAILABLE_MOVE_AFTER = 2;

export interface ConnectionHandler {
  /** A socket is being opened (first time or again) to `server`. */
  connecting(server: string): void;
  /** The server said hello: requests may be sent. */
  hello(h: HelloEvent): void;
  /** Any event frame after hello (hello itself included first). */
  event(e: ServerEvent): void;
  /** The socket is gone; the next attempt is at `retryAt`. */
  down(retryAt: number): void;
  /** The token was refused (HTTP 401 or close 4401): no more attempts. */
  unauthorized(err: NatterError): void;
}

export interface ConnectionOptions {
  /** The server URLs, and which one is in use. */
  servers: ServerRotation;
  token: string;
  backoff?: BackoffOptions;
  /** Limit for opening a socket and receiving hello. */
  connectTimeoutMs: number;
}

/** The error of every request in flight when the socket goes away (code unavailable). */
export class ConnectionLost extends NatterError {
  constructor() {
    super("unavailable", "connection to the server was lost");
  }
}
const connectionLost = () => new ConnectionLost();

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: NatterError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Connection {
  private ws: WebSocket | null = null;
  private running = false;
  private attempt = 0;
  private helloed = false;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private pingOutstanding = false;
  /** `unavailable` answers in a row on this socket. */
  private unavailableStreak = 0;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly handler: ConnectionHandler,
  ) {}

  /** True between hello and the socket closing. */
  get up(): boolean {
    return this.helloed && this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.open();
  }

  /** Stops for good: closes the socket, cancels retries, rejects requests in flight with `reason`. */
  stop(reason: NatterError = new NatterError("unavailable", "client closed")): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown(reason);
  }

  /** Sends a request on the live socket; rejects with unavailable if there is none, or after `timeoutMs`. */
  send<K extends OpName>(op: K, params: OpParams[K], timeoutMs: number): Promise<OpResults[K]> {
    const ws = this.ws;
    if (!ws || !this.up) return Promise.reject(connectionLost());
    const id = this.nextId++;
    return new Promise<OpResults[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NatterError("unavailable", `${op}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (v) => resolve(v as unknown as OpResults[K]), reject, timer });
      try {
        ws.send(JSON.stringify({ ...params, id, op }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(connectionLost());
      }
    });
  }

  private open(): void {
    if (!this.running) return;
    const server = this.opts.servers.current;
    this.handler.connecting(server);
    this.helloed = false;
    this.unavailableStreak = 0;
    let ws: WebSocket;
    try {
      ws = new WebSocket(wsUrl(server, this.opts.token));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && !this.helloed) this.drop(ws);
    }, this.opts.connectTimeoutMs);
    let refusedStatus = 0;
    ws.onerror = (e) => {
      // Bun reports a refused upgrade as "Expected 101 status code: 401", and nothing more of the answer.
      const m = /status code: (\d{3})/.exec(String((e as ErrorEvent).message ?? ""));
      if (m) refusedStatus = Number(m[1]);
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this.pingOutstanding = false;
      this.frame(String(e.data));
    };
    ws.addEventListener("ping", () => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this.pingOutstanding = false;
    });
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      if (refusedStatus === 401 || e.code === 4401) {
        this.running = false;
        const err = new NatterError("unauthorized", "the server refused this device's token (revoked or invalid)");
        this.teardown(err);
        this.handler.unauthorized(err);
        return;
      }
      this.teardown(connectionLost());
      // 503: the server is busy or going down. Its Retry-After (1-5 s, jittered) cannot be read
      // here, so the next attempt there is spread over the whole capped window instead.
      // 4503: the node is not serving; the same holds for it.
      this.scheduleRetry(0, refusedStatus === 503 || e.code === CLOSE_NODE_UNAVAILABLE);
    };
  }

  private frame(text: string): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(text);
    } catch {
      return; // not ours to interpret; the protocol only sends JSON
    }
    if (typeof f.ev === "string") {
      const ev = f as unknown as ServerEvent;
      if (ev.ev === "hello") {
        this.helloed = true;
        if (this.connectTimer) clearTimeout(this.connectTimer);
        this.startWatchdog(ev.heartbeat_ms);
        this.handler.hello(ev);
      }
      this.handler.event(ev);
      return;
    }
    if ("re" in f) {
      const r = f as unknown as Reply;
      const p = typeof r.re === "number" ? this.pending.get(r.re) : undefined;
      if (!p) return;
      this.pending.delete(r.re as number);
      clearTimeout(p.timer);
      if (r.ok) {
        this.unavailableStreak = 0;
        const { re: _re, ok: _ok, ...result } = r;
        p.resolve(result);
        return;
      }
      const err = NatterError.fromWire(r.error);
      p.reject(err);
      if (err.code !== "unavailable") this.unavailableStreak = 0;
      else if (++this.unavailableStreak >= UNAVAILABLE_MOVE_AFTER && this.opts.servers.size > 1 && this.ws) {
        // This node keeps refusing: try another; the outbox resends there (same client_id).
        this.opts.servers.defer(this.opts.servers.current, Date.now() + (err.retryAfterMs ?? 0));
        this.drop(this.ws);
      }
    }
  }

  /** No frame for heartbeat_ms: ask with a ping op; none for 2x: the socket is dead. */
  private startWatchdog(heartbeatMs: number): void {
    const hb = heartbeatMs > 0 ? heartbeatMs : 25_000;
    this.lastFrameAt = Date.now();
    this.pingOutstanding = false;
    const ws = this.ws!;
    this.watchdog = setInterval(() => {
      if (this.ws !== ws) return;
      const idle = Date.now() - this.lastFrameAt;
      if (idle >= 2 * hb) this.drop(ws);
      else if (idle >= hb && !this.pingOutstanding) {
        this.pingOutstanding = true;
        this.send("ping", {}, hb).catch(() => {});
      }
    }, Math.max(10, Math.floor(hb / 4)));
  }

  /** The connection proved healthy: the next drop retries from the base delay again. */
  resetBackoff(): void {
    this.attempt = 0;
  }

  /** Drops the current socket (if any) and reconnects with backoff, not before `notBeforeMs` (a server's retry-after). */
  reconnect(notBeforeMs = 0): void {
    if (this.ws) this.drop(this.ws, notBeforeMs);
  }

  /** Connects at once instead of waiting out the backoff (a person asked); false when no retry is waiting. The attempt count stays. */
  retryNow(): boolean {
    if (!this.running || !this.retryTimer) return false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
    return true;
  }

  /** Abandons a socket that is stuck, and reconnects. */
  private drop(ws: WebSocket, notBeforeMs = 0): void {
    if (this.ws !== ws) return;
    this.teardown(connectionLost());
    try {
      ws.terminate();
    } catch {
      ws.close();
    }
    this.scheduleRetry(notBeforeMs);
  }

  private teardown(reason: NatterError): void {
    const ws = this.ws;
    this.ws = null;
    this.helloed = false;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.connectTimer = null;
    this.watchdog = null;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) {
      try {
        ws.close(1000);
      } catch {
        ws.terminate();
      }
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
  }

  /**
   * Moves to the next server and waits the next backoff delay, and at least
   * what is left of that server's deferral. The server just left is deferred
   * by `notBeforeMs`, or over the whole capped window when `wholeWindow`
   * (with one server: that is the wait).
   */
  private scheduleRetry(notBeforeMs = 0, wholeWindow = false): void {
    if (!this.running) return;
    const attempt = this.attempt++;
    const servers = this.opts.servers;
    const now = Date.now();
    if (notBeforeMs > 0) servers.defer(servers.current, now + notBeforeMs);
    if (wholeWindow) servers.defer(servers.current, now + fullJitterDelay(Infinity, this.opts.backoff));
    const next = servers.advance();
    const delay = Math.max(servers.waitFor(next, now), fullJitterDelay(attempt, this.opts.backoff));
    const at = Date.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
    this.handler.down(at);
  }
}
