// Test harness: starts the real server (bin/natter serve) as a child process on
// a free loopback port with a temporary data dir, and talks to it the way any
// client does: admin CLI, HTTP and websockets. No server internals imported.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import type { LoginResult, ServerEvent, User } from "../src/protocol/index.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const NATTER = join(ROOT, "bin/natter");

export interface ServerOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Command to run instead of bin/natter (e.g. the compiled binary). */
  bin?: string;
}

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  dataDir: string;
  adminToken: string;
  proc: Subprocess;
  /** Everything the server printed so far (stdout + stderr). */
  output(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Stop (if running) and remove the data dir. */
  cleanup(): Promise<void>;
}

export function tempDir(prefix = "natter-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts `natter serve` on 127.0.0.1 with port 0 and waits until it listens. */
export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const cmd = [opts.bin ?? NATTER, "serve", "--host", "127.0.0.1", "--port", "0", "--data", dataDir, ...(opts.args ?? [])];
  const proc = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    // Test files make many deliberate auth failures from 127.0.0.1: the failure throttle is
    // proved at its defaults in server-login-throttle.test.ts, which overrides this.
    env: { ...process.env, NATTER_LOG_LEVEL: "info", NATTER_LOGIN_FAILURE_BURST: "1000000", ...opts.env },
  });
  let out = "";
  let resolveUrl: (u: string) => void;
  const urlP = new Promise<string>((r) => (resolveUrl = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) {
      out += dec.decode(chunk, { stream: true });
      const m = out.match(/"msg":"listening"[^\n]*"url":"(http:\/\/[^"]+)"/);
      if (m) resolveUrl(m[1]!);
    }
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const timeout = new Promise<never>((_, rej) =>
    setTimeout(() => rej(new Error(`server did not start within 20s; output:\n${out}`)), 20_000),
  );
  const exited = proc.exited.then((code) => {
    throw new Error(`server exited with ${code} before listening; output:\n${out}`);
  });
  const url = await Promise.race([urlP, timeout, exited]);
  const port = Number(new URL(url).port);
  const adminToken = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  let stopped = false;
  const server: TestServer = {
    url,
    wsUrl: url.replace(/^http/, "ws") + "/ws",
    port,
    dataDir,
    adminToken,
    proc,
    output: () => out,
    async stop() {
      if (!stopped) proc.kill("SIGTERM");
      stopped = true;
      return await proc.exited;
    },
    async kill() {
      if (!stopped) proc.kill("SIGKILL");
      stopped = true;
      await proc.exited;
    },
    async cleanup() {
      if (!stopped) await server.kill();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Polls `f` (every 20 ms) until it returns something truthy, and returns that; throws after `ms`. */
export async function until<V>(f: () => V | undefined | null | false | Promise<V | undefined | null | false>, ms = 10_000, what = "condition"): Promise<V> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Runs the CLI (bin/natter or another binary) and collects its output. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; bin?: string; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([opts.bin ?? NATTER, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    env: { ...process.env, ...opts.env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** `natter admin users add ... --json` through the real CLI. */
export async function addUser(server: TestServer, name: string, phone: string): Promise<{ user: User; code: string }> {
  const r = await runCli(["admin", "--server", server.url, "--data", server.dataDir, "users", "add", "--name", name, "--phone", phone, "--json"]);
  if (r.code !== 0) throw new Error(`users add failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

/** Admin HTTP call with the admin token. */
export async function adminFetch(server: TestServer, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function login(server: TestServer, code: string, device = "test"): Promise<LoginResult> {
  const res = await fetch(server.url + "/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, device }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as LoginResult;
}

/** A user with one logged-in device. */
export interface TestUser {
  user: User;
  token: string;
  deviceId: string;
}

let phoneCounter = 0;
/** Creates a user through the admin HTTP API (fast) and logs one device in. */
export async function makeUser(server: TestServer, name: string, device = "dev1"): Promise<TestUser> {
  const phone = `+1555${String(process.pid % 1000).padStart(3, "0")}${String(++phoneCounter).padStart(4, "0")}`;
  const res = await adminFetch(server, "POST", "/admin/users", { name, phone });
  if (res.status !== 200 && res.status !== 201) throw new Error(`create user failed: ${res.status} ${await res.text()}`);
  const { code } = (await res.json()) as { user: User; code: string };
  const l = await login(server, code, device);
  return { user: l.user, token: l.token, deviceId: l.device.id };
}

/** Another device for an existing user (fresh login code via admin). */
export async function addDevice(server: TestServer, userId: string, device: string): Promise<TestUser> {
  const res = await adminFetch(server, "POST", `/admin/users/${userId}/code`);
  const { code } = (await res.json()) as { code: string };
  const l = await login(server, code, device);
  return { user: l.user, token: l.token, deviceId: l.device.id };
}

export async function api(server: TestServer, token: string, op: string, params: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/api/${op}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: await res.json() };
}

/** A raw protocol websocket client: request/reply by id, and an event inbox. */
export class WsClient {
  readonly ws: WebSocket;
  readonly events: ServerEvent[] = [];
  readonly replies = new Map<number | string | null, any>();
  closed: { code: number; reason: string } | null = null;
  private nextId = 1;
  private waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if ("ev" in f) this.events.push(f);
      else this.replies.set(f.re, f);
      this.wake();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    };
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds, re-checking after every frame. */
  async until<T>(pred: () => T | undefined | false | null, timeoutMs = 10_000, what = "condition"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /**
   * Opens /ws with `?token=` (or, with `opts.header`, an `Authorization: Bearer`
   * header) and waits for `hello` unless `waitHello` is false.
   */
  static async connect(
    server: TestServer,
    token: string | null,
    opts: { waitHello?: boolean; header?: boolean } = {},
  ): Promise<WsClient> {
    const viaHeader = opts.header === true && token !== null;
    const url = token === null || viaHeader ? server.wsUrl : `${server.wsUrl}?token=${encodeURIComponent(token)}`;
    const ws = viaHeader
      ? new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as any)
      : new WebSocket(url);
    const c = new WsClient(ws);
    await new Promise<void>((res, rej) => {
      c.ws.onopen = () => res();
      c.ws.onerror = () => rej(new Error("websocket failed to open"));
    });
    if (opts.waitHello !== false) await c.until(() => c.events.find((e) => e.ev === "hello"), 10_000, "hello");
    return c;
  }

  /** Sends a request frame and returns its id without waiting. */
  send(op: string, params: Record<string, unknown> = {}): number {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, op, ...params }));
    return id;
  }

  reply(id: number | string | null, timeoutMs = 10_000): Promise<any> {
    return this.until(() => this.replies.get(id), timeoutMs, `reply ${id}`);
  }

  /** Sends a request and waits for its reply (ok or not). */
  async request(op: string, params: Record<string, unknown> = {}): Promise<any> {
    return this.reply(this.send(op, params));
  }

  /** Like request, but throws unless ok. */
  async call(op: string, params: Record<string, unknown> = {}): Promise<any> {
    const r = await this.request(op, params);
    if (!r.ok) throw new Error(`${op} failed: ${JSON.stringify(r.error)}`);
    return r;
  }

  /** Waits for an event matching `pred` (only among events from index `since` on). */
  event<E extends ServerEvent>(pred: (e: ServerEvent) => boolean, timeoutMs = 10_000, what = "event", since = 0): Promise<E> {
    return this.until(() => this.events.slice(since).find(pred) as E | undefined, timeoutMs, what);
  }

  /** The current length of the event inbox, to look only at later events. */
  mark(): number {
    return this.events.length;
  }

  /** Events received since `mark` (an index from `mark()`) that match `pred`. */
  eventsSince(mark: number, pred: (e: ServerEvent) => boolean = () => true): ServerEvent[] {
    return this.events.slice(mark).filter(pred);
  }

  /** Waits until the server closes the socket; returns the close code and reason. */
  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed, timeoutMs, "close");
  }

  close() {
    this.ws.close();
  }
}
