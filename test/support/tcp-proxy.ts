// A real TCP proxy for partition tests: it forwards every connection on its
// listen port to one target, and an HTTP control port switches it between
// forwarding and a blackhole (bytes read and dropped both ways, new
// connections accepted but never forwarded: packets lost, not a clean close).
//
// As a process (how tests use it, so a node link crosses a real socket pair
// in another process):
//   bun test/support/tcp-proxy.ts --listen 127.0.0.1:0 --target 127.0.0.1:PORT --control 127.0.0.1:0
// prints one JSON line {"listen":P,"control":C,"pid":N} on stdout, then serves
//   POST /blackhole  existing and new connections stop forwarding (no close)
//   POST /heal       new connections forward again; blackholed ones are destroyed
//   POST /reset      destroys every connection (both sides closed at once)
//   GET  /stats      {mode, open, accepted, bytes_up, bytes_down, dropped_up, dropped_down}
// `spawnProxy` starts such a process and wraps the control port.

import type { Socket, TCPSocketListener } from "bun";

type Mode = "forward" | "blackhole";

export interface ProxyStats {
  mode: Mode;
  /** Client connections open now. */
  open: number;
  /** Client connections accepted since start. */
  accepted: number;
  /** Bytes forwarded client -> target and target -> client. */
  bytes_up: number;
  bytes_down: number;
  /** Bytes read and dropped while blackholed, each way. */
  dropped_up: number;
  dropped_down: number;
}

interface Pipe {
  client: Socket<Pipe>;
  upstream: Socket<Pipe> | null;
  blackholed: boolean;
  closed: boolean;
  /** Bytes waiting for the other side to accept them (backpressure). */
  toUpstream: Uint8Array[];
  toClient: Uint8Array[];
  /** Set when the client half-closed before the upstream was open. */
  clientEnded: boolean;
}

export interface ProxyAddress {
  host: string;
  port: number;
}

export function parseAddress(s: string): ProxyAddress {
  const i = s.lastIndexOf(":");
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad address ${JSON.stringify(s)} (want host:port)`);
  return { host: s.slice(0, i), port };
}

/** Writes what the socket takes now and queues the rest for its drain. */
function push(sock: Socket<Pipe>, queue: Uint8Array[], data: Uint8Array): void {
  if (queue.length > 0) {
    queue.push(data);
    return;
  }
  const n = sock.write(data);
  if (n < data.length) queue.push(data.subarray(Math.max(0, n)));
}

function flush(sock: Socket<Pipe>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const head = queue[0]!;
    const n = sock.write(head);
    if (n < head.length) {
      queue[0] = head.subarray(Math.max(0, n));
      return;
    }
    queue.shift();
  }
}

/** An in-process proxy; `TcpProxy.start` listens, `close` ends everything. */
export class TcpProxy {
  mode: Mode = "forward";
  readonly pipes = new Set<Pipe>();
  readonly stats = { accepted: 0, bytes_up: 0, bytes_down: 0, dropped_up: 0, dropped_down: 0 };
  private listener!: TCPSocketListener<Pipe>;
  private control: ReturnType<typeof Bun.serve> | null = null;

  private constructor(readonly target: ProxyAddress) {}

  static start(listen: ProxyAddress, target: ProxyAddress, control?: ProxyAddress): TcpProxy {
    const p = new TcpProxy(target);
    p.listener = Bun.listen<Pipe>({
      hostname: listen.host,
      port: listen.port,
      socket: {
        open: (s) => p.accept(s),
        data: (s, d) => p.fromClient(s.data, d),
        drain: (s) => flush(s, s.data.toClient),
        end: (s) => p.clientEnd(s.data),
        close: (s) => p.destroy(s.data),
        error: (s) => p.destroy(s.data),
      },
    });
    if (control) p.control = Bun.serve({ hostname: control.host, port: control.port, fetch: (req) => p.handle(req) });
    return p;
  }

  get port(): number {
    return this.listener.port;
  }

  get controlPort(): number {
    return this.control?.port ?? 0;
  }

  snapshot(): ProxyStats {
    let open = 0;
    for (const x of this.pipes) if (!x.closed) open++;
    return { mode: this.mode, open, ...this.stats };
  }

  /** Existing connections go silent (no close); new ones are held unforwarded. */
  blackhole(): void {
    this.mode = "blackhole";
    for (const x of this.pipes) {
      x.blackholed = true;
      x.toUpstream.length = 0;
      x.toClient.length = 0;
    }
  }

  /** New connections forward again; the blackholed ones are destroyed. */
  heal(): void {
    this.mode = "forward";
    for (const x of [...this.pipes]) if (x.blackholed) this.destroy(x, true);
  }

  /** Destroys every connection, both sides at once. */
  reset(): void {
    for (const x of [...this.pipes]) this.destroy(x, true);
  }

  close(): void {
    this.reset();
    this.listener.stop(true);
    this.control?.stop(true);
  }

  private accept(client: Socket<Pipe>): void {
    const pipe: Pipe = { client, upstream: null, blackholed: this.mode === "blackhole", closed: false, toUpstream: [], toClient: [], clientEnded: false };
    client.data = pipe;
    this.pipes.add(pipe);
    this.stats.accepted++;
    if (pipe.blackholed) return;
    Bun.connect<Pipe>({
      hostname: this.target.host,
      port: this.target.port,
      data: pipe,
      socket: {
        open: (s) => {
          if (pipe.closed || pipe.blackholed) return void s.terminate();
          pipe.upstream = s;
          flush(s, pipe.toUpstream);
          if (pipe.clientEnded) s.shutdown();
        },
        data: (_s, d) => this.fromUpstream(pipe, d),
        drain: (s) => flush(s, pipe.toUpstream),
        end: () => {
          // The target half-closed: pass it on unless blackholed (a blackhole never closes).
          if (!pipe.blackholed && !pipe.closed) pipe.client.shutdown();
        },
        close: () => {
          if (!pipe.blackholed) this.destroy(pipe);
        },
        error: () => {
          if (!pipe.blackholed) this.destroy(pipe);
        },
      },
    }).catch(() => {
      // Target refused: the client sees its connection close, as through a router.
      if (!pipe.blackholed) this.destroy(pipe);
    });
  }

  private fromClient(pipe: Pipe, d: Uint8Array): void {
    if (pipe.blackholed) {
      this.stats.dropped_up += d.length;
      return;
    }
    this.stats.bytes_up += d.length;
    const copy = new Uint8Array(d);
    if (pipe.upstream) push(pipe.upstream, pipe.toUpstream, copy);
    else pipe.toUpstream.push(copy);
  }

  private fromUpstream(pipe: Pipe, d: Uint8Array): void {
    if (pipe.blackholed) {
      this.stats.dropped_down += d.length;
      return;
    }
    this.stats.bytes_down += d.length;
    push(pipe.client, pipe.toClient, new Uint8Array(d));
  }

  private clientEnd(pipe: Pipe): void {
    if (pipe.blackholed) return;
    if (pipe.upstream) pipe.upstream.shutdown();
    else pipe.clientEnded = true;
  }

  /** Closes both sides; `hard` terminates (no flush) instead of ending. */
  private destroy(pipe: Pipe, hard = false): void {
    if (pipe.closed) return;
    pipe.closed = true;
    this.pipes.delete(pipe);
    for (const s of [pipe.client, pipe.upstream]) {
      if (!s) continue;
      try {
        if (hard) s.terminate();
        else s.end();
      } catch {}
    }
  }

  private handle(req: Request): Response {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/stats") return Response.json(this.snapshot());
    if (req.method === "POST" && path === "/blackhole") this.blackhole();
    else if (req.method === "POST" && path === "/heal") this.heal();
    else if (req.method === "POST" && path === "/reset") this.reset();
    else return Response.json({ error: "not found" }, { status: 404 });
    return Response.json(this.snapshot());
  }
}

/** A proxy running as its own process, driven over its control port. */
export interface ProxyProcess {
  pid: number;
  port: number;
  controlPort: number;
  target: ProxyAddress;
  blackhole(): Promise<ProxyStats>;
  heal(): Promise<ProxyStats>;
  reset(): Promise<ProxyStats>;
  stats(): Promise<ProxyStats>;
  /** SIGKILL this proxy process and wait for it. */
  stop(): Promise<void>;
}

/** Starts `bun test/support/tcp-proxy.ts` in front of `target` and waits for its ports. */
export async function spawnProxy(target: ProxyAddress, opts: { listenPort?: number } = {}): Promise<ProxyProcess> {
  const proc = Bun.spawn(
    [process.execPath, import.meta.path, "--listen", `127.0.0.1:${opts.listenPort ?? 0}`, "--target", `${target.host}:${target.port}`, "--control", "127.0.0.1:0"],
    { stdout: "pipe", stderr: "inherit", stdin: "ignore" },
  );
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const dec = new TextDecoder();
  const deadline = Bun.sleep(10_000).then(() => null);
  while (!text.includes("\n")) {
    const r = await Promise.race([reader.read(), deadline]);
    if (r === null || r.done) {
      proc.kill("SIGKILL");
      throw new Error(`tcp proxy did not start (output: ${JSON.stringify(text)})`);
    }
    text += dec.decode(r.value, { stream: true });
  }
  reader.releaseLock();
  const { listen, control } = JSON.parse(text.slice(0, text.indexOf("\n"))) as { listen: number; control: number };
  const call = async (method: string, path: string): Promise<ProxyStats> => {
    const res = await fetch(`http://127.0.0.1:${control}${path}`, { method });
    if (res.status !== 200) throw new Error(`proxy ${path}: ${res.status}`);
    return (await res.json()) as ProxyStats;
  };
  return {
    pid: proc.pid,
    port: listen,
    controlPort: control,
    target,
    blackhole: () => call("POST", "/blackhole"),
    heal: () => call("POST", "/heal"),
    reset: () => call("POST", "/reset"),
    stats: () => call("GET", "/stats"),
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

function main(argv: string[]): void {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const target = arg("--target");
  if (!target) {
    process.stderr.write("usage: bun test/support/tcp-proxy.ts --listen HOST:PORT --target HOST:PORT --control HOST:PORT\n");
    process.exit(2);
  }
  const p = TcpProxy.start(parseAddress(arg("--listen") ?? "127.0.0.1:0"), parseAddress(target), parseAddress(arg("--control") ?? "127.0.0.1:0"));
  process.stdout.write(JSON.stringify({ listen: p.port, control: p.controlPort, pid: process.pid }) + "\n");
  const bye = () => {
    p.close();
    process.exit(0);
  };
  process.on("SIGTERM", bye);
  process.on("SIGINT", bye);
}

if (import.meta.main) main(process.argv.slice(2));
