// Helpers shared by the server end-to-end tests (test/e2e/server-*.test.ts):
// raw HTTP upgrades and raw websocket clients over TCP (to see status codes,
// headers and pings the WebSocket API hides), and small assertions.

import { afterAll, beforeAll, expect } from "bun:test";
import type { ServerOptions, TestServer, TestUser } from "../harness.ts";
import { adminFetch, api, login, startServer, WsClient } from "../harness.ts";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One server for the whole test file: started before its first test (and
 * handed to `started`), stopped after its last. Returns `connect`, which opens
 * a websocket as a user; every socket it opened is closed before the stop.
 */
export function serverPerFile(opts: ServerOptions, started: (s: TestServer) => void): (u: TestUser) => Promise<WsClient> {
  let server: TestServer | undefined;
  const open: WsClient[] = [];
  beforeAll(async () => {
    server = await startServer(opts);
    started(server);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await server?.cleanup();
  });
  return async (u) => {
    const c = await WsClient.connect(server!, u.token);
    open.push(c);
    return c;
  };
}

/** Matches a `message` event (with this message id, if given). */
export const isMsg = (id?: string) => (e: any) => e.ev === "message" && (id === undefined || e.message.id === id);

/** Asserts a ws reply or HTTP body is an error with `code` and a message. */
export function expectError(reply: any, code: string): void {
  expect(reply?.ok).toBe(false);
  expect(reply?.error?.code).toBe(code);
  expect(typeof reply?.error?.message).toBe("string");
}

/** Asserts an HTTP mirror answer: status and error code. */
export function expectHttpError(r: { status: number; body: any }, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(r.body?.ok).toBe(false);
}

/** Asserts a websocket with `token` is refused: 401 at the upgrade, or closed with 4401 before any hello. */
export async function expectTokenRefused(server: TestServer, token: string): Promise<void> {
  const again = await RawWs.open(server, `/ws?token=${encodeURIComponent(token)}`);
  try {
    if (again.response?.status === 101) {
      await again.until(() => again.isClosed(), 5000, "close");
      expect(again.closeCode()).toBe(4401);
    } else expect(again.response?.status).toBe(401);
  } finally {
    again.destroy();
  }
}

/** Waits `ms` and asserts that no event matching `pred` arrived at any client since its mark. */
export async function expectNoEvent(
  clients: Array<{ c: WsClient; mark: number }>,
  pred: (e: any) => boolean,
  ms = 400,
): Promise<void> {
  await sleep(ms);
  for (const { c, mark } of clients) expect(c.eventsSince(mark, pred)).toEqual([]);
}

/** Every message of a channel, paging forward with after_seq (limit 200). */
export async function allMessages(c: WsClient, channel: string): Promise<any[]> {
  const out: any[] = [];
  let after = 0;
  for (;;) {
    const r = await c.call("getMessages", { channel, after_seq: after, limit: 200 });
    out.push(...r.messages);
    if (r.messages.length > 0) after = r.messages[r.messages.length - 1].seq;
    if (!r.has_more) return out;
    if (r.messages.length === 0) throw new Error("has_more with an empty page");
  }
}

/** Creates a user via admin HTTP with a given phone; returns the user and a logged-in device. */
export async function makeUserWithPhone(server: TestServer, name: string, phone: string, device = "dev1"): Promise<TestUser> {
  const res = await adminFetch(server, "POST", "/admin/users", { name, phone });
  if (res.status !== 200 && res.status !== 201) throw new Error(`create user failed: ${res.status} ${await res.text()}`);
  const { code } = (await res.json()) as { code: string };
  const l = await login(server, code, device);
  return { user: l.user, token: l.token, deviceId: l.device.id };
}

/** A fresh login code for a user (admin HTTP). */
export async function freshCode(server: TestServer, userId: string): Promise<string> {
  const res = await adminFetch(server, "POST", `/admin/users/${userId}/code`);
  if (res.status !== 200 && res.status !== 201) throw new Error(`code failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { code: string }).code;
}

/** Makes a group over HTTP as `owner`; returns the channel. */
export async function makeGroup(server: TestServer, owner: TestUser, members: TestUser[], extra: Record<string, unknown> = {}): Promise<any> {
  const r = await api(server, owner.token, "createGroup", { name: "g", members: members.map((m) => m.user.id), ...extra });
  if (r.status !== 200) throw new Error(`createGroup failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.channel;
}

export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A raw TCP connection to the server that performs a websocket handshake by
 * hand. It records every frame the server sends (ping frames included) and
 * never answers anything: a "dead" client, as far as heartbeats go.
 */
export class RawWs {
  response: RawHttpResponse | null = null;
  readonly frames: Array<{ opcode: number; payload: Uint8Array }> = [];
  ended = false;
  private buf = new Uint8Array(0);
  private headerDone = false;
  private socket: any = null;
  private wakeups: Array<() => void> = [];

  static async open(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<RawWs> {
    const raw = new RawWs();
    const host = "127.0.0.1";
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${host}:${server.port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    raw.socket = await Bun.connect({
      hostname: host,
      port: server.port,
      socket: {
        data: (_s, data) => raw.onData(data),
        close: () => raw.onEnd(),
        end: () => raw.onEnd(),
        error: () => raw.onEnd(),
      },
    });
    raw.socket.write(lines.join("\r\n"));
    await raw.until(() => raw.response !== null || raw.ended, 10_000, "upgrade response");
    return raw;
  }

  private onEnd() {
    this.ended = true;
    this.wake();
  }

  private wake() {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  private onData(data: Uint8Array) {
    const merged = new Uint8Array(this.buf.length + data.length);
    merged.set(this.buf);
    merged.set(data, this.buf.length);
    this.buf = merged;
    if (!this.headerDone) {
      const text = new TextDecoder("latin1").decode(this.buf);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = text.slice(0, end).split("\r\n");
      const status = Number(head[0]!.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of head.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      this.buf = this.buf.slice(end + 4);
      this.headerDone = true;
      this.response = { status, headers, body: "" };
      if (status !== 101) {
        // Not upgraded: the rest is an HTTP body (Content-Length or until close).
        this.response.body = new TextDecoder().decode(this.buf);
        this.buf = new Uint8Array(0);
        this.wake();
        return;
      }
    } else if (this.response && this.response.status !== 101) {
      this.response.body += new TextDecoder().decode(this.buf);
      this.buf = new Uint8Array(0);
      this.wake();
      return;
    }
    this.parseFrames();
    this.wake();
  }

  private parseFrames() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = (b[2]! << 8) | b[3]!;
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
        off = 10;
      }
      if (b.length < off + len) return;
      this.frames.push({ opcode, payload: b.slice(off, off + len) });
      this.buf = b.slice(off + len);
    }
  }

  /** Text frames parsed as JSON. */
  texts(): any[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(new TextDecoder().decode(f.payload)));
  }

  pings(): number {
    return this.frames.filter((f) => f.opcode === 9).length;
  }

  /** True once the server sent a close frame or the TCP connection ended. */
  isClosed(): boolean {
    return this.ended || this.frames.some((f) => f.opcode === 8);
  }

  closeCode(): number | null {
    const f = this.frames.find((x) => x.opcode === 8);
    if (!f || f.payload.length < 2) return null;
    return (f.payload[0]! << 8) | f.payload[1]!;
  }

  /** Waits for the HTTP body of a refused upgrade to be complete (by Content-Length, or end). */
  async fullBody(timeoutMs = 5000): Promise<string> {
    const r = this.response!;
    const want = Number(r.headers["content-length"] ?? NaN);
    await this.until(() => this.ended || (Number.isFinite(want) && new TextEncoder().encode(r.body).length >= want), timeoutMs, "body");
    return r.body;
  }

  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        this.wakeups.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  destroy() {
    try {
      this.socket?.end();
    } catch {}
  }
}

/** The status of a websocket upgrade attempt (101 if upgraded). */
export async function upgradeStatus(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<RawWs> {
  return RawWs.open(server, path, headers);
}

/** The server's JSON log lines so far, parsed; only those with `msg` when given. */
export function logLines(s: TestServer, msg?: string): any[] {
  const all = s
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  return msg === undefined ? all : all.filter((l) => l.msg === msg);
}
