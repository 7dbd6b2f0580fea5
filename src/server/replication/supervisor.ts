// The Litestream supervisor: writes Litestream's config for every shard,
// runs the real binary as a child process, restarts it (with backoff) when it
// dies and logs why, and tracks each shard's replica position and lag from
// Litestream's own metrics.
//
// Lag per shard: the age of the oldest commit not yet known to be in the
// replica. After each commit the supervisor reads the shard's WAL position
// from the -shm header (wal-position.ts: WAL salt, last valid frame -> byte offset; the same
// numbers Litestream's shadow WAL uses). A poll of Litestream's metrics then
// says which of those positions the replica has reached; the shadow WAL
// header tells which Litestream WAL index a salt belongs to.

import { closeSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ReplicationStatus, ShardReplicationStatus } from "../../protocol/index.ts";
import type { Logger } from "../log.ts";
import { litestreamBinary, litestreamConfig, parseLitestreamMetrics, type ShardMetrics } from "./litestream.ts";
import { BlobMirror } from "./blob-mirror.ts";
import { openObjects, ObjectBlobReplica, type BlobReplica, type ObjectReplica } from "./objects.ts";
import { redactUrl, type ReplicaTarget } from "./target.ts";
import { readShadow, readShm, type ShmHandle } from "./wal-position.ts";

export interface SupervisorOptions {
  dataDir: string;
  /** Absolute shard paths, index = shard number. */
  shards: string[];
  target: ReplicaTarget;
  monitorIntervalMs: number;
  syncIntervalMs: number;
  /** Litestream snapshot interval (ms); 0 or absent: its default. */
  snapshotIntervalMs?: number;
  log: Logger;
  /** How often Litestream's metrics are read (ms). */
  pollMs?: number;
  /** The media module's blob directory (DATA/media/blobs), mirrored to the replica when it can hold files. */
  blobsDir?: string;
  /**
   * Makes a tiny write to shard i (natter rewrites PRAGMA user_version with its own value).
   * Litestream 0.3.13 sometimes leaves the newest WAL frames in its shadow WAL without
   * shipping them until the next write to that shard; a write wakes it up.
   */
  nudge?: (shard: number) => void;
  /**
   * Called with true when Litestream has been down for degradeAfterMs (the server turns SQLite's
   * own checkpoints back on so the WAL cannot grow without bound), and with false once it has
   * run for 5 s again.
   */
  onDegraded?: (degraded: boolean) => void;
  degradeAfterMs?: number;
  /** Explicit binary (tests); otherwise litestreamBinary(). */
  binary?: string;
  /** The shards this node replicates at start (a cluster node: those it serves); default all. */
  replicated?: ReadonlySet<number>;
}

/** A directory replica with less free space than this, while a shard lags, is full (see checkTargetSpace). */
const TARGET_MIN_FREE = 1024 * 1024;

/** A commit (or several, merged) not yet known to be in the replica. */
interface Pending {
  since: number;
  /** WAL salt (hex of the header's 8 salt bytes) and end offset of the commit; salt "?" when the header could not be read. */
  salt: string;
  off: number;
}

interface ShardState extends ShmHandle {
  queue: Pending[];
  /** Litestream's current generation and the WAL index of each salt seen in it. */
  gen: string | null;
  indexOfSalt: Map<string, number>;
  lastLagMs: number | null;
  lastReplicatedAt: number | null;
  generation: string | null;
  m: ShardMetrics | null;
  /** Since when the replica has been behind Litestream's shadow WAL without moving. */
  stuckSince: number | null;
  stuckAt: string;
  lastNudge: number;
}

export class ReplicationSupervisor {
  readonly blobs: BlobReplica | null;
  private readonly objects: ObjectReplica | null;
  private readonly state: ShardState[];
  private readonly byPath = new Map<string, ShardState>();
  private proc: Subprocess | null = null;
  private pidPath = "";
  private mirror: BlobMirror | null = null;
  private stopping = false;
  private restarts = 0;
  private lastExit: string | null = null;
  private backoffMs = 250;
  private startedAt = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private metricsAddr = "";
  private binary = "";
  private configPath = "";
  /** Commit -> replica samples (ms), for the histogram. */
  private readonly lagBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  private readonly lagCounts = new Array<number>(8).fill(0);
  private lagSum = 0;
  private nudges = 0;
  private degraded = false;
  private downTimer: ReturnType<typeof setTimeout> | null = null;
  private upTimer: ReturnType<typeof setTimeout> | null = null;
  private lagN = 0;
  /** The replica target out of space (see noteTargetError): since when, last error, refusals since the last log line. */
  private full: { since: number; lastErrorAt: number; lastLogAt: number; unlogged: number; cycled: boolean } | null = null;
  private fullErrors = 0;
  private lastSpaceCheck = 0;
  private spaceChecking = false;
  /** Shards in Litestream's config (a cluster node replicates only the shards it serves). */
  private replicated: Set<number>;
  /** Litestream is being restarted on purpose (a new shard set): its exit is not a death. */
  private cycling = false;
  private changing: Promise<void> = Promise.resolve();

  constructor(private readonly o: SupervisorOptions) {
    this.replicated = new Set(o.replicated ?? o.shards.map((_, i) => i));
    this.objects = openObjects(o.target);
    this.blobs = this.objects ? new ObjectBlobReplica(this.objects) : null;
    this.state = o.shards.map((path) => ({
      path,
      queue: [],
      shmFd: null,
      gen: null,
      indexOfSalt: new Map(),
      lastLagMs: null,
      lastReplicatedAt: null,
      generation: null,
      m: null,
      stuckSince: null,
      stuckAt: "",
      lastNudge: 0,
    }));
    for (const s of this.state) this.byPath.set(s.path, s);
  }

  /** No shards (a libSQL store keeps rows remotely): only media blobs go to the replica. */
  get mediaOnly(): boolean {
    return this.o.shards.length === 0;
  }

  async start(): Promise<void> {
    if (this.mediaOnly && !this.blobs)
      throw new Error(`replica ${redactUrl(this.o.target.url)} cannot hold media blobs: with --store, use a directory or s3:// replica`);
    if (this.objects) {
      const layout = { format: 1, shards: this.o.shards.length, ...(this.mediaOnly ? { media_only: true } : {}), written_at: Date.now() };
      await this.objects.putText("layout.json", JSON.stringify(layout) + "\n");
    }
    if (!this.mediaOnly) {
      this.binary = this.o.binary ?? (await litestreamBinary());
      const port = freePort();
      this.metricsAddr = `127.0.0.1:${port}`;
      this.configPath = join(this.o.dataDir, "litestream.yml");
      this.pidPath = join(this.o.dataDir, "litestream.pid");
      await stopStale(this.pidPath, this.configPath);
      this.writeConfig();
      // Every shard starts dirty: it is replicated once Litestream has caught up after start.
      for (let i = 0; i < this.state.length; i++) this.noteCommit(i);
      if (this.replicated.size > 0) this.spawn();
    }
    if (this.blobs && this.o.blobsDir) {
      this.mirror = new BlobMirror(this.o.blobsDir, this.blobs, this.o.log, undefined, (e) => this.noteTargetError(String(e)));
      await this.mirror.start();
    }
    if (!this.mediaOnly) this.pollTimer = setInterval(() => void this.poll(), this.o.pollMs ?? 100);
    this.o.log.info("replication started", {
      replica: redactUrl(this.o.target.url),
      shards: this.o.shards.length,
      litestream: this.mediaOnly ? null : this.binary,
      monitor_interval_ms: this.o.monitorIntervalMs,
      sync_interval_ms: this.o.syncIntervalMs,
      blobs: this.blobs !== null,
      media_only: this.mediaOnly,
    });
  }

  private writeConfig(): void {
    writeFileSync(
      this.configPath,
      litestreamConfig({
        shards: this.o.shards.map((p, i) => (this.replicated.has(i) ? p : null)),
        target: this.o.target,
        monitorIntervalMs: this.o.monitorIntervalMs,
        syncIntervalMs: this.o.syncIntervalMs,
        snapshotIntervalMs: this.o.snapshotIntervalMs,
        metricsAddr: this.metricsAddr,
      }),
      { mode: 0o600 },
    );
  }

  /** The shards replicated now. */
  get replicating(): ReadonlySet<number> {
    return this.replicated;
  }

  /**
   * Replicates exactly `shards` from now on (a cluster node's served set changed): rewrites
   * Litestream's config and restarts it (SIGTERM first: it ships what it has read). Calls queue.
   */
  setReplicated(shards: ReadonlySet<number>): Promise<void> {
    const run = async () => {
      if (this.stopping || this.mediaOnly) return;
      const next = new Set(shards);
      if (next.size === this.replicated.size && [...next].every((i) => this.replicated.has(i))) return;
      for (const i of this.replicated) if (!next.has(i)) this.state[i]!.queue.length = 0;
      const added = [...next].filter((i) => !this.replicated.has(i));
      this.replicated = next;
      this.writeConfig();
      const proc = this.proc;
      if (proc) {
        this.cycling = true;
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await proc.exited;
        clearTimeout(timer);
        this.cycling = false;
      }
      if (this.restartTimer) clearTimeout(this.restartTimer);
      for (const i of added) this.noteCommit(i);
      if (this.replicated.size > 0 && !this.stopping) this.spawn();
      this.o.log.info("replication: shard set changed", { shards: [...next].sort((a, b) => a - b) });
    };
    this.changing = this.changing.then(run, run);
    return this.changing;
  }

  /** Waits until shard i's commits so far are in the replica (or the timeout passes). */
  async waitShardCaughtUp(i: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((this.state[i]?.queue.length ?? 0) === 0) return true;
      await Bun.sleep(20);
    }
    return false;
  }

  /** The store calls this after each commit of shard i. */
  noteCommit(i: number): void {
    const s = this.state[i];
    if (!s || !this.replicated.has(i)) return;
    const now = Date.now();
    const h = readShm(s) ?? { salt: "?", off: 0 };
    const last = s.queue.at(-1);
    // Commits close together share an entry (keeping the older time): bounded memory under load.
    if (last && last.salt === h.salt && now - last.since < 20) last.off = Math.max(last.off, h.off);
    else s.queue.push({ since: now, salt: h.salt, off: h.off });
  }

  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  private spawn(): void {
    if (this.stopping) return;
    this.startedAt = Date.now();
    // Litestream must not outlive natter (a second one on the same shards would fork the replica's
    // history): it runs a watcher via -exec that ends when natter's pid is gone, even after kill -9,
    // and Litestream exits with it (within a second). start() also stops one left from an earlier run.
    const sh = Bun.which("sh");
    const watch = `${sh} -c "while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done"`;
    const args = [this.binary, "replicate", "-config", this.configPath, "-no-expand-env", ...(sh ? ["-exec", watch] : [])];
    const proc = Bun.spawn(args, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.proc = proc;
    writeFileSync(this.pidPath, `${proc.pid}\n`);
    this.upTimer = setTimeout(() => this.recovered(), 5_000);
    let tail: string[] = [];
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of stream) {
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          tail.push(line);
          if (tail.length > 20) tail = tail.slice(-20);
          this.onLine(line);
        }
      }
    };
    void pump(proc.stdout as ReadableStream<Uint8Array>).catch(() => {});
    void pump(proc.stderr as ReadableStream<Uint8Array>).catch(() => {});
    void proc.exited.then((code) => {
      if (this.proc === proc) this.proc = null;
      if (this.upTimer) clearTimeout(this.upTimer);
      if (this.stopping || this.cycling) return;
      this.downTimer ??= setTimeout(() => this.degrade(), this.o.degradeAfterMs ?? 60_000);
      const sig = proc.signalCode;
      this.lastExit = `${new Date().toISOString()} ${sig ? `killed by ${sig}` : `exit ${code}`}`;
      this.restarts++;
      this.o.log.error("replication: litestream died; restarting", {
        exit_code: code,
        signal: sig ?? null,
        restart_in_ms: this.backoffMs,
        restarts: this.restarts,
        output: tail.slice(-5).join("\n"),
      });
      this.restartTimer = setTimeout(() => this.spawn(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    });
  }

  /** Litestream has stayed down too long: SQLite checkpoints itself again (see onDegraded). */
  private degrade(): void {
    this.downTimer = null;
    if (this.stopping || this.degraded) return;
    this.degraded = true;
    this.o.log.error("replication: Litestream is down; SQLite checkpoints itself again so the WAL stays bounded (Litestream starts a new generation when back)", {
      down_for_ms: this.o.degradeAfterMs ?? 60_000,
      restarts: this.restarts,
    });
    this.o.onDegraded?.(true);
  }

  /** Litestream has run for 5 s: it owns checkpoints again. */
  private recovered(): void {
    this.upTimer = null;
    if (this.downTimer) clearTimeout(this.downTimer);
    this.downTimer = null;
    this.backoffMs = 250;
    if (!this.degraded) return;
    this.degraded = false;
    this.o.log.info("replication: Litestream is back; it owns checkpoints again");
    this.o.onDegraded?.(false);
  }

  private onLine(line: string): void {
    const level = /level=(\w+)/.exec(line)?.[1] ?? (/ ERROR /.test(line) ? "ERROR" : "INFO");
    const db = /\bdb=("?)([^"\s]+)\1/.exec(line)?.[2];
    const gen = /(?:generation=|position=)([0-9a-f]{16})/.exec(line)?.[1];
    if (db && gen) {
      const s = this.byPath.get(db);
      if (s) s.generation = gen;
    }
    if (level === "ERROR" || level === "WARN") {
      this.o.log.warn("litestream", { line });
      this.noteTargetError(line);
    } else this.o.log.debug("litestream", { line });
  }

  /**
   * An error writing to the replica: out of space there (ENOSPC, EDQUOT) marks the target full, logged as
   * `replica target full` at most once every 5 s. Writes go on (the data dir is fine); the mark clears once every
   * shard has caught up with no such error for 2 s (poll).
   */
  private noteTargetError(text: string): void {
    if (!/no space left on device|ENOSPC|disk quota exceeded|EDQUOT/i.test(text)) return;
    const now = Date.now();
    this.fullErrors++;
    const first = this.full === null;
    this.full ??= { since: now, lastErrorAt: now, lastLogAt: 0, unlogged: 0, cycled: false };
    this.full.lastErrorAt = now;
    this.full.unlogged++;
    if (now - this.full.lastLogAt < 5_000) return;
    this.o.log.error("replica target full", {
      replica: redactUrl(this.o.target.url),
      since: new Date(this.full.since).toISOString(),
      errors: this.full.unlogged,
      lag_ms: this.status().lag_ms,
      ...(first ? { error: text.slice(0, 300) } : {}),
    });
    this.full.lastLogAt = now;
    this.full.unlogged = 0;
  }

  /**
   * A directory replica's free space, checked once a second. Litestream 0.3.13 neither logs nor counts an error
   * when its directory replica fills up: its write of the WAL segment hangs, and it stays stuck after space
   * returns. So: less than TARGET_MIN_FREE free while a shard lags more than 1 s marks the target full; once
   * space is back and the replica still has not moved for 1 s, Litestream is restarted (it resumes from its
   * shadow WAL and ships what the replica misses).
   */
  private async checkTargetSpace(): Promise<void> {
    if (this.o.target.kind !== "dir" || this.spaceChecking || Date.now() - this.lastSpaceCheck < 1_000) return;
    this.spaceChecking = true; // async: a hung network mount must not block the event loop
    let free: number;
    try {
      const st = await statfs(this.o.target.dir);
      free = st.bavail * st.bsize;
    } catch {
      return;
    } finally {
      this.spaceChecking = false;
      this.lastSpaceCheck = Date.now();
    }
    const now = Date.now();
    const lag = Math.max(0, ...this.state.map((s) => (s.queue.length > 0 ? now - s.queue[0]!.since : 0)));
    if (free < TARGET_MIN_FREE) {
      if (lag > 1_000) this.noteTargetError(`no space left on device: ${free} bytes free in ${this.o.target.dir}`);
      return;
    }
    const f = this.full;
    if (!f || f.cycled || now - f.lastErrorAt < 1_000 || lag === 0 || !this.proc) return;
    f.cycled = true;
    this.o.log.warn("replica target has space again; restarting Litestream (it stalls on a full target)", { replica: redactUrl(this.o.target.url), lag_ms: lag });
    void this.restartLitestream();
  }

  /** Stops Litestream (SIGTERM, SIGKILL after 2 s: a stalled one may not stop) and starts it again. */
  private restartLitestream(): Promise<void> {
    const run = async () => {
      const proc = this.proc;
      if (!proc || this.stopping) return;
      this.cycling = true;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 2_000);
      await proc.exited;
      clearTimeout(timer);
      this.cycling = false;
      if (!this.stopping) this.spawn();
    };
    this.changing = this.changing.then(run, run);
    return this.changing;
  }

  /** The target took writes again: every shard caught up and no out-of-space error for 2 s. */
  private checkSpaceBack(now: number): void {
    if (!this.full || now - this.full.lastErrorAt < 2_000 || this.state.some((s) => s.queue.length > 0)) return;
    this.o.log.info("replica target has space again; the replica has caught up", { replica: redactUrl(this.o.target.url), full_for_ms: now - this.full.since });
    this.full = null;
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.proc) return;
    this.polling = true;
    const t0 = Date.now();
    try {
      const res = await fetch(`http://${this.metricsAddr}/metrics`, { signal: AbortSignal.timeout(2000) });
      const metrics = parseLitestreamMetrics(await res.text());
      const now = Date.now();
      for (const s of this.state) {
        const m = metrics.get(s.path);
        if (!m) continue;
        s.m = m;
        this.unstick(s, m, now);
        if (s.queue.length === 0) continue;
        const shadow = readShadow(s.path);
        if (shadow) {
          if (shadow.gen !== s.gen) {
            s.gen = shadow.gen;
            s.indexOfSalt.clear();
          }
          if (shadow.index >= 0) s.indexOfSalt.set(shadow.salt, shadow.index);
        }
        const current = readShm(s);
        while (s.queue.length > 0 && s.queue[0]!.since < t0) {
          const e = s.queue[0]!;
          const idx = s.indexOfSalt.get(e.salt);
          let reached: boolean;
          if (e.salt === "?") {
            // Position unknown: replicated once the replica holds everything Litestream has read, and that is the whole WAL.
            reached = m.replicaIndex === m.shadowIndex && m.replicaOffset >= m.shadowSize && current !== null && current.off <= m.shadowSize;
          } else if (idx !== undefined) {
            reached = m.replicaIndex > idx || (m.replicaIndex === idx && m.replicaOffset >= e.off);
          } else if (current && e.salt === current.salt) {
            reached = false; // the current WAL, not yet in Litestream's shadow
          } else {
            // An older WAL (since restarted: Litestream had read all of it first) not seen in this generation.
            reached = m.replicaIndex >= m.shadowIndex && m.replicaIndex >= 0;
          }
          if (!reached) break;
          s.queue.shift();
          const lag = now - e.since;
          s.lastLagMs = lag;
          s.lastReplicatedAt = now;
          this.observeLag(lag / 1000);
        }
      }
      this.checkSpaceBack(Date.now());
    } catch {
      // Litestream starting or restarting: positions stay as last seen; lag keeps growing.
    } finally {
      void this.checkTargetSpace();
      this.polling = false;
    }
  }

  /** Nudges a shard whose replica has sat behind the shadow WAL for 300 ms (see SupervisorOptions.nudge). */
  private unstick(s: ShardState, m: ShardMetrics, now: number): void {
    const behind = m.replicaIndex < m.shadowIndex || (m.replicaIndex === m.shadowIndex && m.replicaOffset < m.shadowSize);
    const at = `${m.replicaIndex}/${m.replicaOffset}`;
    if (!behind || at !== s.stuckAt) {
      s.stuckSince = behind ? now : null;
      s.stuckAt = at;
      return;
    }
    s.stuckSince ??= now;
    if (now - s.stuckSince < 300 || now - s.lastNudge < 500 || !this.o.nudge) return;
    s.lastNudge = now;
    this.nudges++;
    try {
      this.o.nudge(this.state.indexOf(s));
    } catch {}
  }

  private observeLag(sec: number) {
    this.lagBuckets.forEach((b, i) => {
      if (sec <= b) this.lagCounts[i]!++;
    });
    this.lagSum += sec;
    this.lagN++;
  }

  status(): ReplicationStatus {
    const now = Date.now();
    const shards = this.state.map((s, i): ShardReplicationStatus => ({
      shard: i,
      generation: s.generation,
      replica_position: s.m && s.m.replicaIndex >= 0 ? `${s.m.replicaIndex}/${s.m.replicaOffset}` : null,
      local_position: s.m && s.m.shadowIndex >= 0 ? `${s.m.shadowIndex}/${s.m.shadowSize}` : null,
      lag_ms: s.queue.length > 0 ? now - s.queue[0]!.since : 0,
      last_lag_ms: s.lastLagMs,
      last_replicated_at: s.lastReplicatedAt ? new Date(s.lastReplicatedAt).toISOString() : null,
      sync_errors: s.m?.syncErrors ?? 0,
    }));
    return {
      enabled: true,
      replica: redactUrl(this.o.target.url),
      running: this.mediaOnly ? this.mirror !== null : this.proc !== null,
      degraded: this.degraded,
      media_only: this.mediaOnly,
      pid: this.pid,
      restarts: this.restarts,
      last_exit: this.lastExit,
      monitor_interval_ms: this.o.monitorIntervalMs,
      sync_interval_ms: this.o.syncIntervalMs,
      lag_ms: Math.max(0, ...shards.map((s) => s.lag_ms)),
      target_full: this.full !== null,
      target_full_since: this.full ? new Date(this.full.since).toISOString() : null,
      blobs: this.mirror ? this.mirror.status() : null,
      shards,
    };
  }

  /** A short form for /healthz. */
  health(): { running: boolean; degraded: boolean; target_full: boolean; restarts: number; lag_ms: number; shards_lag_ms: number[] } {
    const st = this.status();
    return {
      running: st.running,
      degraded: st.degraded,
      target_full: st.target_full === true,
      restarts: st.restarts,
      lag_ms: st.lag_ms,
      shards_lag_ms: st.shards.map((s) => s.lag_ms),
    };
  }

  /** Prometheus text for /metrics. */
  renderMetrics(): string {
    const st = this.status();
    let s = "# HELP natter_replication_up Litestream child process running (1) or not (0)\n# TYPE natter_replication_up gauge\n";
    s += `natter_replication_up ${st.running ? 1 : 0}\n`;
    s += "# HELP natter_replication_restarts_total Litestream restarts after it died\n# TYPE natter_replication_restarts_total counter\n";
    s += `natter_replication_restarts_total ${st.restarts}\n`;
    s += "# HELP natter_replication_target_full Replica target out of space (1) since its last out-of-space error, until the replica caught up\n# TYPE natter_replication_target_full gauge\n";
    s += `natter_replication_target_full ${st.target_full ? 1 : 0}\n`;
    s += "# HELP natter_replication_target_full_errors_total Writes to the replica target refused for lack of space (Litestream errors and blob copies)\n# TYPE natter_replication_target_full_errors_total counter\n";
    s += `natter_replication_target_full_errors_total ${this.fullErrors}\n`;
    s += "# HELP natter_replication_nudges_total Writes made to wake Litestream when its replica sat behind its shadow WAL\n# TYPE natter_replication_nudges_total counter\n";
    s += `natter_replication_nudges_total ${this.nudges}\n`;
    s += "# HELP natter_replication_lag_seconds Age of the oldest commit not yet in the replica, per shard\n# TYPE natter_replication_lag_seconds gauge\n";
    for (const sh of st.shards) s += `natter_replication_lag_seconds{shard="${sh.shard}"} ${sh.lag_ms / 1000}\n`;
    s += "# HELP natter_replication_replica_wal_offset Replica WAL offset (Litestream position), per shard\n# TYPE natter_replication_replica_wal_offset gauge\n";
    for (const sh of this.state.map((x, i) => [i, x.m] as const))
      if (sh[1] && sh[1].replicaIndex >= 0) s += `natter_replication_replica_wal_offset{shard="${sh[0]}",wal_index="${sh[1].replicaIndex}"} ${sh[1].replicaOffset}\n`;
    s += "# HELP natter_replication_commit_to_replica_seconds Time from a commit to its arrival in the replica (upper bound)\n# TYPE natter_replication_commit_to_replica_seconds histogram\n";
    this.lagBuckets.forEach((b, i) => (s += `natter_replication_commit_to_replica_seconds_bucket{le="${b}"} ${this.lagCounts[i]}\n`));
    s += `natter_replication_commit_to_replica_seconds_bucket{le="+Inf"} ${this.lagN}\n`;
    s += `natter_replication_commit_to_replica_seconds_sum ${this.lagSum}\nnatter_replication_commit_to_replica_seconds_count ${this.lagN}\n`;
    return s;
  }

  /** Waits until every shard's commits so far are in the replica (or the timeout passes). */
  async waitCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.state.every((s) => s.queue.length === 0)) return true;
      await Bun.sleep(25);
    }
    return false;
  }

  /** Stops Litestream after it has shipped what it has (SIGTERM: it syncs and exits). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.mirror?.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.downTimer) clearTimeout(this.downTimer);
    if (this.upTimer) clearTimeout(this.upTimer);
    for (const s of this.state) {
      if (s.shmFd !== null) closeSync(s.shmFd);
      s.shmFd = null;
    }
    const proc = this.proc;
    if (!proc) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await proc.exited;
    clearTimeout(timer);
    this.proc = null;
    rmSync(this.pidPath, { force: true });
    this.o.log.info("replication stopped", { restarts: this.restarts });
  }
}

/** Stops a Litestream left running by an earlier natter on this data dir (its pid file, if that process is Litestream). */
async function stopStale(pidPath: string, configPath: string): Promise<void> {
  if (!existsSync(pidPath)) return;
  const pid = Number(readFileSync(pidPath, "utf8").trim());
  rmSync(pidPath, { force: true });
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return; // not running (or no /proc: nothing we can check safely)
  }
  // Only a Litestream replicating this data dir (its config path), never a reused pid.
  if (!cmdline.includes("litestream") || !cmdline.includes("replicate") || !cmdline.includes(configPath)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(50);
}

/** A free loopback port for Litestream's metrics endpoint. */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}
