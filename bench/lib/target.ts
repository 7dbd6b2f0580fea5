// The process under test: natter (`bin/natter serve`) or a baseline, started
// as a child on 127.0.0.1 with a temporary data dir. Speaks to it only as a
// client does (HTTP admin API, login, websockets); imports no server code.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import type { LoginResult, User } from "../../src/protocol/index.ts";
import { cpuSample, memSample, type CpuSample, type MemSample } from "./procstat.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");

export interface TargetOptions {
  kind: "natter" | "relay";
  /** Extra `natter serve` flags. */
  args?: string[];
  /** Existing data dir (kept); otherwise a temp dir that stop() removes. */
  dataDir?: string;
  port?: number;
  /** Write a CPU profile (markdown and .cpuprofile) into this dir on exit. */
  cpuProfDir?: string;
  /** Checkout whose src/cli/main.ts is run (default: this one). */
  root?: string;
  /** Where to put temporary data dirs (default: os tmpdir). */
  tmpBase?: string;
}

/** A client identity on the target: natter token and user id (the relay uses the user id as token). */
export interface Identity {
  user: string;
  token: string;
}

export class Target {
  url = "";
  wsUrl = "";
  adminToken = "";
  private out = "";
  private stopped = false;

  private constructor(readonly opts: TargetOptions, readonly proc: Subprocess, readonly dataDir: string, private ownsDir: boolean) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** Starts the target and waits for its `listening` log line. */
  static async start(opts: TargetOptions): Promise<Target> {
    const ownsDir = !opts.dataDir;
    const dataDir = opts.dataDir ?? mkdtempSync(join(opts.tmpBase ?? tmpdir(), `natter-bench-${opts.kind}-`));
    const prof = opts.cpuProfDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    const port = String(opts.port ?? 0);
    const cmd =
      opts.kind === "natter"
        ? [BUN, ...prof, join(opts.root ?? ROOT, "src/cli/main.ts"), "serve", "--host", "127.0.0.1", "--port", port, "--data", dataDir, ...(opts.args ?? [])]
        : [BUN, ...prof, join(ROOT, "bench/baselines/relay.ts"), "--port", port];
    // The group-creation cap out of the way (setups make many groups per user): by the environment,
    // which a natter from before the option (--natter DIR) ignores, where a flag would stop it.
    const env = { ...process.env, NATTER_LOG_LEVEL: "info", NATTER_MAX_GROUPS_PER_HOUR: "10000000" };
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env });
    const t = new Target(opts, proc, dataDir, ownsDir);
    let resolveUrl!: (u: string) => void;
    const urlP = new Promise<string>((r) => (resolveUrl = r));
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        if (t.out.length < 200_000) t.out += dec.decode(chunk, { stream: true });
        const m = /"msg":"listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(t.out);
        if (m) resolveUrl(m[1]!);
      }
    };
    void pump(proc.stdout as ReadableStream<Uint8Array>);
    void pump(proc.stderr as ReadableStream<Uint8Array>);
    const timeout = Bun.sleep(30_000).then(() => {
      throw new Error(`${opts.kind} did not start within 30 s:\n${t.out}`);
    });
    const exited = proc.exited.then((code) => {
      throw new Error(`${opts.kind} exited with ${code} before listening:\n${t.out}`);
    });
    t.url = await Promise.race([urlP, timeout, exited]);
    t.wsUrl = t.url.replace(/^http/, "ws") + "/ws";
    if (opts.kind === "natter") t.adminToken = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
    return t;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  output(): string {
    return this.out;
  }

  cpu(): CpuSample | null {
    return cpuSample(this.proc.pid);
  }

  mem(): MemSample | null {
    return memSample(this.proc.pid);
  }

  /** SIGTERM (graceful: drain, flush, close) and wait up to 20 s, then SIGKILL. */
  async stop(opts: { keepData?: boolean } = {}): Promise<number | null> {
    let code: number | null = null;
    if (!this.stopped) {
      this.stopped = true;
      this.proc.kill("SIGTERM");
      code = await Promise.race([this.proc.exited, Bun.sleep(20_000).then(() => null)]);
      if (code === null) {
        this.proc.kill("SIGKILL");
        await this.proc.exited;
      }
    }
    if (this.ownsDir && !opts.keepData) rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }

  /**
   * Stops this process (SIGTERM, keeping the data) and starts a fresh one with
   * the same options on the same data dir and port. The new target takes over
   * removing the dir if this one owned it.
   */
  async restart(): Promise<Target> {
    await this.stop({ keepData: true });
    const next = await Target.start({ ...this.opts, dataDir: this.dataDir, port: this.port });
    next.ownsDir = this.ownsDir;
    this.ownsDir = false;
    return next;
  }

  /** Creates `n` users (and logs one device in each) with bounded concurrency; the relay needs none. */
  async identities(n: number, prefix: string, progress?: (done: number) => void): Promise<Identity[]> {
    if (this.opts.kind === "relay") return Array.from({ length: n }, (_, i) => ({ user: `${prefix}${i}`, token: `${prefix}${i}` }));
    const out: Identity[] = new Array(n);
    let next = 0;
    let done = 0;
    // German numbers may have 13 digits after +49, room for a run stamp and a million users (E.164 allows 15).
    const stamp = `${process.pid % 100}`.padStart(2, "0") + String(Math.floor(Date.now() / 1000) % 10000).padStart(4, "0");
    const one = async (i: number) => {
      const phone = `+491${stamp}${String(i).padStart(6, "0")}`;
      const r = await this.admin("POST", "/admin/users", { name: `${prefix}${i}`, phone });
      if (r.status !== 201 && r.status !== 200) throw new Error(`create user: ${r.status} ${await r.text()}`);
      const { code } = (await r.json()) as { user: User; code: string };
      const l = await fetch(this.url + "/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code, device: "bench" }),
      });
      if (l.status !== 200) throw new Error(`login: ${l.status} ${await l.text()}`);
      const lr = (await l.json()) as LoginResult;
      out[i] = { user: lr.user.id, token: lr.token };
      done++;
      if (progress && done % 500 === 0) progress(done);
    };
    const lanes = Array.from({ length: Math.min(64, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await one(i);
      }
    });
    await Promise.all(lanes);
    return out;
  }

  admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}
