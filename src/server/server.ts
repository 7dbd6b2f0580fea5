// createServer: wires store, domain and transport for one node, and owns
// start-up (data dir, admin token) and graceful shutdown (drain, flush, close).

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Server } from "bun";
import { Elysia } from "elysia";
import { NatterError } from "../protocol/index.ts";
import type { ServerConfig } from "./config.ts";
import { lockDataDir, type DataDirLock } from "./data-lock.ts";
import { secureDataDir } from "./data-perms.ts";
import { DiskFullAtStart, isDiskFull } from "./disk-full.ts";
import { Accounts } from "./domain/accounts.ts";
import { Admin } from "./domain/admin.ts";
import { Chat } from "./domain/chat.ts";
import { createDispatch } from "./domain/ops.ts";
import { Devices } from "./domain/devices.ts";
import type { MediaAccess } from "./domain/ports.ts";
import { Presence } from "./domain/presence.ts";
import { RateLimiter } from "./domain/rate-limit.ts";
import { newToken } from "./ids.ts";
import { warnLegacyPhones } from "./legacy-phones.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { createMedia, mediaRoutes, refuseOversizeBody, requestBodyLimit } from "./media/index.ts";
import { SqliteStore } from "./store/sqlite/sqlite-store.ts";
import { ReplicationSupervisor } from "./replication/supervisor.ts";
import { parseReplica } from "./replication/target.ts";
import { openLibsqlStore } from "./store/libsql/index.ts";
import type { CommitStat, Store } from "./store/types.ts";
import { Edge } from "./transport/edge.ts";
import { ClusterDelivery } from "./cluster/delivery.ts";
import { ClusterStore } from "./cluster/cluster-store.ts";
import { clusterDispatch } from "./cluster/dispatch.ts";
import type { ClusterNode } from "./cluster/node.ts";
import { clusterAdminToken, createClusterNode, readClusterSecret } from "./cluster/setup.ts";
import { clusterStatus, shardHost } from "./cluster/host.ts";
import { parsePeers } from "./config.ts";
import { ShardedStore } from "./store/sharded-store.ts";
import { adminRoutes, apiRoutes } from "./transport/http.ts";
import { Hub } from "./transport/hub.ts";
import { AuthThrottle } from "./transport/throttle.ts";
import { corsPreflight, parseCorsOrigins, responseHeaders } from "./transport/headers.ts";
import { isWsUpgrade, websocketHandlers, websocketUpgrade, type WsData } from "./transport/websocket.ts";

export interface ServerDeps {
  /** Defaults to SQLite shards under config.data. */
  store?: Store;
  log?: Logger;
  media?: MediaAccess;
}

export interface NatterServer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Graceful stop: refuse new work, finish in-flight ops, close sockets, flush and close the store. */
  stop(): Promise<void>;
}

/**
 * Creates the data dir and its admin token (0600) if missing; returns the token and whether it was
 * new. A cluster node passes the cluster-wide token (`fixed`), which replaces any other.
 */
export function ensureDataDir(dir: string, fixed?: string): { token: string; created: boolean } {
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(dir, "media"), { recursive: true });
  const p = join(dir, "admin.token");
  if (existsSync(p)) {
    const had = readFileSync(p, "utf8").trim();
    if (!fixed || had === fixed) return { token: had, created: false };
  }
  const token = fixed ?? newToken();
  // Written whole or not at all: a full disk must not leave an empty token behind.
  const tmp = p + ".tmp";
  try {
    writeFileSync(tmp, token + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, p);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { token, created: true };
}

/**
 * Starts a node on config.data; throws DataDirInUse at once if another server holds that data dir,
 * DataDirUnsafe if its admin token is world-readable, DiskFullAtStart if its disk is too full to start on.
 */
export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<NatterServer> {
  const dataDir = resolve(config.data);
  const log = deps.log ?? createLogger(config.logLevel);
  try {
    secureDataDir(dataDir, log);
    const lock = lockDataDir(dataDir);
    try {
      return await start(config, { ...deps, log }, dataDir, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  } catch (e) {
    throw isDiskFull(e, dataDir) ? new DiskFullAtStart(dataDir, e) : e;
  }
}

async function start(config: ServerConfig, deps: ServerDeps, dataDir: string, lock: DataDirLock): Promise<NatterServer> {
  const log = deps.log ?? createLogger(config.logLevel);
  // A cluster node: the secret, and the admin token every node derives from it.
  const secret = config.nodeId ? readClusterSecret(config, process.env, log) : null;
  const { token: adminToken, created } = ensureDataDir(dataDir, secret ? clusterAdminToken(secret) : undefined);
  const metrics = new Metrics();
  // Replication (Litestream over every shard): Litestream owns checkpoints, so SQLite's automatic ones are off.
  const replicaTarget = config.replica ? parseReplica(config.replica) : null;
  let replication: ReplicationSupervisor | null = null;
  const onCommit = (c: CommitStat) => {
    metrics.commitBatch.observe({}, c.writes);
    metrics.commitDuration.observe({}, c.ms / 1000);
  };
  const localStore =
    deps.store ??
    (config.store ? await openLibsqlStore(config.store, process.env, { onCommit }) : null) ??
    new SqliteStore({
      dir: dataDir,
      shards: config.shards,
      synchronous: config.sync,
      onCommit: (c) => {
        onCommit(c);
        replication?.noteCommit(c.shard); // replication tracks lag per shard
      },
      walAutoCheckpoint: replicaTarget ? 0 : undefined,
      checkpointWorker: !replicaTarget, // Litestream checkpoints when it replicates
      onCheckpointerDeath: (reason) => log.error("checkpointer stopped; SQLite checkpoints itself again", { reason }),
      // Without its writer the node can take no write: exit, and let the supervisor restart it.
      // Nothing acknowledged is lost (acks follow durable commits); clients resend the rest.
      onWriterDeath: (reason) => {
        log.error("store writer thread died; exiting", { reason });
        process.exit(70);
      },
    });
  let cluster: ClusterNode | null = null;
  let store: Store = localStore;
  if (secret) {
    if (!(localStore instanceof ShardedStore)) throw new Error("a cluster node needs the sharded store");
    cluster = createClusterNode(config, localStore.numShards, secret, log, (why) => {
      log.error(`refusing to join the cluster: ${why}. Every node needs the same --peers ids, shard count and cluster secret.`);
      process.exit(2);
    });
    store = new ClusterStore(localStore, cluster);
  }
  if (replicaTarget) {
    // With a libSQL store the rows live on its server: only media blobs are replicated.
    const sqlite = localStore instanceof SqliteStore ? localStore : null;
    const shards = sqlite?.shards ?? [];
    replication = new ReplicationSupervisor({
      dataDir,
      shards: shards.map((s) => s.path),
      target: replicaTarget,
      monitorIntervalMs: config.replicaMonitorMs,
      syncIntervalMs: config.replicaSyncMs,
      snapshotIntervalMs: config.replicaSnapshotMs,
      blobsDir: join(dataDir, "media", "blobs"),
      log,
      onDegraded: (degraded) => sqlite?.setAutoCheckpoint(degraded ? 1000 : 0),
      // A cluster node replicates only the shards it serves (none until it has a quorum).
      replicated: cluster ? new Set() : undefined,
      nudge: (i) => void sqlite?.touch(i).catch(() => {}),
    });
    await replication.start();
    const rep = replication;
    metrics.extra.push(() => rep.renderMetrics());
  }
  // Media: uploads under DATA/media, unless the caller passed its own MediaAccess.
  const media = deps.media ? null : createMedia(config, dataDir, store, metrics, log);
  const hub = new Hub(metrics, { softBytes: config.sendBufferBytes, hardBytes: Math.max(config.sendBufferBytes, config.sendBufferMaxBytes), stallMs: config.slowConsumerMs });
  const delivery = cluster ? new ClusterDelivery(hub, cluster) : hub;
  const accounts = new Accounts(store, delivery, config.loginCodeTtlMs, config.phoneRegion);
  const limits = {
    maxMessageBytes: config.maxMessageBytes,
    maxGroupMembers: config.maxGroupMembers,
    inviteTtlMs: config.inviteTtlMs,
    inviteMaxUses: config.inviteMaxUses,
    editWindowMs: config.editWindowMs,
    phoneRegion: config.phoneRegion,
    maxGroupsPerHour: config.maxGroupsPerHour,
  };
  const chat = new Chat(store, delivery, limits, metrics, deps.media ?? media);
  const presence = new Presence(store, delivery);
  const limiter = new RateLimiter(config.rateBurst, config.ratePerSec);
  const devices = new Devices(store, delivery, { linkCodeTtlMs: config.linkCodeTtlMs, maxLinkCodes: config.maxLinkCodes });
  accounts.onLogin = (device, code) => devices.loggedIn(device, code);
  const localDispatch = createDispatch(chat, devices);
  const dispatch = cluster ? clusterDispatch(localDispatch, cluster) : localDispatch;
  const throttle = new AuthThrottle({ burst: config.loginFailureBurst, perMin: config.loginFailuresPerMin, lockoutMs: config.loginLockoutMs });
  const edge = new Edge({ authenticate: (t) => accounts.authenticate(t), dispatch, limiter, metrics, log, overloadLagMs: config.overloadLagMs, throttle });
  const node = () => ({ connections: hub.size, uptime_ms: Date.now() - edge.startedAt, rss_bytes: process.memoryUsage().rss });
  const admin = new Admin(store, accounts, chat, delivery, node);
  const ws = { edge, hub, accounts, presence, metrics, log, limits: config, throttle, nodes: cluster ? [...parsePeers(config.peers).values()] : undefined };

  // Bun upgrades /ws itself, in a native route, with a few bytes of data per socket (Elysia's
  // ws layer keeps a whole request context per socket); Elysia answers everything else, other
  // requests to these paths included ("/ws/*" catches "/ws/", which Elysia folds into "/ws").
  const upgrade = websocketUpgrade(ws);
  const cors = parseCorsOrigins(config.corsOrigin);
  // A cluster node out of its quorum takes no connections: clients go to another node.
  const outOfQuorum = (): Response | undefined =>
    cluster && !cluster.hasQuorum() ? edge.response(new NatterError("unavailable", "this node is out of its cluster's quorum; use another node", 1000), "ws") : undefined;
  // Bun's native routes answer without Elysia's onRequest: their own answers get the same headers.
  const headed = async <R extends Response | undefined>(req: Request, res: R | Promise<R>): Promise<R> => {
    const r = await res;
    if (r) for (const [k, v] of Object.entries(responseHeaders(req, cors))) if (!r.headers.has(k)) r.headers.set(k, v);
    return r;
  };
  const wsRoute = (req: Request, server: Server<WsData>): Response | Promise<Response | undefined> =>
    isWsUpgrade(req) ? headed(req, refuseOversizeBody(req, config.maxFrameBytes) ?? outOfQuorum() ?? upgrade(req, server)) : app.fetch(req);
  const clusterRoute = (req: Request): Response | Promise<Response> => (cluster ? headed(req, cluster.handle(req)) : app.fetch(req));
  const app = new Elysia({ serve: { routes: { "/ws": wsRoute, "/ws/*": wsRoute, "/cluster/*": clusterRoute } } })
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, responseHeaders(request, cors));
      return corsPreflight(request, cors) ?? refuseOversizeBody(request, config.maxFrameBytes);
    })
    .onError(({ error, code }) => {
      if (code === "NOT_FOUND") return edge.response(new NatterError("not_found", "no such route"), "http");
      if (code === "PARSE" || code === "VALIDATION") return edge.response(new NatterError("bad_request", "malformed request"), "http");
      return edge.response(error, "http");
    })
    .use(media ? mediaRoutes(edge, media, metrics) : new Elysia())
    .use(
      apiRoutes({
        edge,
        login: (code, device) => accounts.login(code, device),
        metrics,
        connections: () => hub.size,
        health: () => ({
          replication: replication ? replication.health() : { enabled: false },
          ...(cluster ? { cluster: { node: cluster.o.self, quorum: cluster.hasQuorum(), fingerprint: cluster.fingerprint } } : {}),
        }),
        ready: cluster ? () => cluster!.ready() && !edge.draining : undefined,
        metricsTokens: [adminToken, config.metricsToken, config.metricsTokenFile ? readFileSync(config.metricsTokenFile, "utf8").trim() : ""],
        throttle,
      }),
    )
    .use(
      adminRoutes({
        edge,
        admin,
        adminToken,
        throttle,
        backupStatus: () => (replication ? replication.status() : { enabled: false }),
        clusterStatus: cluster ? () => clusterStatus(cluster!, replication) : undefined,
      }),
    );

  app.listen({
    hostname: config.host,
    port: config.port,
    reusePort: config.reusePort, // Elysia's default is to share the port
    maxRequestBodySize: requestBodyLimit(config),
    development: false,
    // listen() spreads these over its own handlers, which would look for an Elysia context in ws.data.
    websocket: websocketHandlers(ws),
  });
  const bun = app.server!;
  hub.server = bun;
  throttle.server = bun;
  hub.startStallWatch();
  edge.startLagMonitor();
  media?.start();
  // In the background: a check costs 15-25 us per user, too much to hold up listening on a big directory.
  // A cluster node checks once every shard is served: its own (ready()) and the others', read from
  // their owners, which answer `unavailable` while they still take theirs over (it tries again then).
  const phoneCheck = async () => {
    let why = "this node is not ready";
    for (const end = Date.now() + 300_000; !edge.draining; await Bun.sleep(250)) {
      if (Date.now() > end) return log.warn("phone check skipped: the cluster's shards were not all served within 5 min; it runs at the next start", { why });
      if (cluster && !cluster.ready()) continue;
      try {
        return await warnLegacyPhones(store, config.phoneRegion, log);
      } catch (e) {
        if (!cluster || !(e instanceof NatterError && e.code === "unavailable")) throw e;
        why = e.message;
      }
    }
  };
  void phoneCheck().catch((e) => log.error("phone check failed", { error: String(e) }));
  const heartbeat = setInterval(() => hub.heartbeat(), config.heartbeatMs);
  if (cluster) {
    const sqlite = localStore instanceof SqliteStore ? localStore : null;
    cluster.start(
      shardHost({
        local: localStore as ShardedStore,
        sqlite,
        replication,
        replica: replicaTarget,
        dataDir,
        dispatch: localDispatch,
        delivery: delivery as ClusterDelivery,
        chat,
        hub,
        media,
        log,
      }),
    );
    // Cut off from the majority: its clients move to nodes that can serve them.
    cluster.quorumChanged = (quorum) => {
      if (!quorum) hub.closeAll(4503, "node out of its cluster's quorum");
    };
    // An upload lands on one node; a download elsewhere fetches the blob from it first.
    if (media) media.fetchMissing = (sha, temp) => cluster!.fetchBlob(sha, (chunk) => temp.write(chunk));
  }
  const sweep = setInterval(() => (limiter.sweep(), devices.sweep(), throttle.sweep()), 60_000);
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${bun.port}`;
  log.info("listening", {
    url,
    data: dataDir,
    admin_token_file: join(dataDir, "admin.token"),
    admin_token_created: created,
    shards: (store as { shards?: unknown[] }).shards?.length,
  });

  let stopping: Promise<void> | null = null;
  return {
    url,
    port: bun.port!,
    dataDir,
    stop() {
      stopping ??= (async () => {
        log.info("draining");
        edge.draining = true;
        cluster?.stop();
        clearInterval(heartbeat);
        clearInterval(sweep);
        hub.stopStallWatch();
        edge.stopLagMonitor();
        bun.stop(false); // stop accepting; in-flight HTTP requests finish
        const deadline = Date.now() + 10_000;
        while (edge.inFlight > 0 && Date.now() < deadline) await Bun.sleep(5);
        hub.closeAll(1001, "server shutting down");
        // Close handlers queue each user's last_seen write; wait for them so the final flush carries them.
        const closeDeadline = Date.now() + 2_000;
        while (hub.size > 0 && Date.now() < closeDeadline) await Bun.sleep(5);
        await media?.stop();
        // Ship the last commits while the shards are open (a stuck shard can still be nudged).
        await replication?.waitCaughtUp(5_000);
        await store.close();
        if (replication) {
          // Anything the close flushed; Litestream also syncs on SIGTERM.
          const caughtUp = await replication.waitCaughtUp(2_000);
          await replication.stop();
          if (!caughtUp) log.warn("replication: stopped before the replica caught up", replication.status() as unknown as Record<string, unknown>);
        }
        lock.release();
        log.info("stopped", { in_flight_left: edge.inFlight });
      })();
      return stopping;
    },
  };
}
