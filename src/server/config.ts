// Server configuration, merged in one place at start-up:
// defaults < config file (JSON) < NATTER_* environment < command-line flags.
// The rest of the server receives a plain, validated ServerConfig.

import { readFileSync } from "node:fs";
import { checkField, type FieldSpec } from "../protocol/index.ts";
import { checkPhoneRegion } from "../protocol/phone.ts";
import type { LogLevel } from "./log.ts";
import { parseReplica } from "./replication/target.ts";
import { checkStoreUrl } from "./store/libsql/index.ts";

export interface ServerConfig {
  host: string;
  port: number;
  /** Share the port with other processes (SO_REUSEPORT); off, a second server on the port fails to start. */
  reusePort: boolean;
  data: string;
  /** Shard files for a new data dir (fixed afterwards). */
  shards: number;
  /** SQLite synchronous: "full" fsyncs every group commit (durable against power loss). */
  sync: "full" | "normal";
  heartbeatMs: number;
  maxMessageBytes: number;
  maxFrameBytes: number;
  maxGroupMembers: number;
  /** Longest lifetime of a group invite, and the lifetime of one created without expires_in_ms (ms). */
  inviteTtlMs: number;
  /** Most joins one group invite admits, and the limit of one created without max_uses. */
  inviteMaxUses: number;
  /** Groups one user may create in any hour (createGroup; a retry with the same client_id is free). */
  maxGroupsPerHour: number;
  /** How long after sending its sender may edit or delete-for-everyone a message (ms). */
  editWindowMs: number;
  rateBurst: number;
  ratePerSec: number;
  maxConnections: number;
  /** Open websockets one user may have; one more is refused at the upgrade (rate_limited). */
  maxConnectionsPerUser: number;
  sendBufferBytes: number;
  /** Hard bound of a connection's send buffer: past it the connection is closed at once (Bun's backpressureLimit). */
  sendBufferMaxBytes: number;
  /** A connection over sendBufferBytes whose buffer has not drained for this long is closed (ms). */
  slowConsumerMs: number;
  loginCodeTtlMs: number;
  /** Lifetime of a device-link code from linkDevice (ms). */
  linkCodeTtlMs: number;
  /** Device-link codes one user may have outstanding (neither used nor expired). */
  maxLinkCodes: number;
  /** Event-loop lag above which new connections are refused (ms). */
  overloadLagMs: number;
  logLevel: LogLevel;
  // ---- media (src/server/media) ----
  /** Largest upload, bytes; larger is too_large (413) and nothing is kept. */
  maxUploadBytes: number;
  /** An upload never sent in a message is removed after this long (ms). */
  mediaOrphanAgeMs: number;
  /** How often the orphan sweep runs (ms). */
  mediaSweepIntervalMs: number;
  /** Total upload bytes per user; 0 means no quota. */
  mediaQuotaBytes: number;
  /** An upload whose body sends nothing for this long is ended and nothing is kept (ms). */
  uploadStallMs: number;
  // ---- replication and storage backends (src/server/replication, src/server/store/libsql) ----
  /** Litestream replica for every shard (directory, file://, s3://, sftp:// ...); "" = off. */
  replica: string;
  /** Litestream monitor interval (ms): how often it reads each shard's WAL. */
  replicaMonitorMs: number;
  /** Litestream sync interval (ms): how often it ships to the replica. */
  replicaSyncMs: number;
  /** How often Litestream writes a snapshot of each shard (ms); 0: Litestream's default (when a generation starts). */
  replicaSnapshotMs: number;
  /** Storage backend: "" = bun:sqlite shards in the data dir; libsql://, https:// or file:PATH = libSQL. */
  store: string;
  /** Country (ISO 3166, upper case) of phone numbers typed without a country code; "" = none, they are refused. */
  phoneRegion: string;
  // ---- cluster (src/server/cluster; docs/cluster.md) ----
  /** This node's id in `peers`; "" = a single node. */
  nodeId: string;
  /** Every node of the cluster, `id=url,...`, this node included, as this node reaches them. */
  peers: string;
  /** File holding the cluster secret (or NATTER_CLUSTER_SECRET). */
  clusterSecretFile: string;
  /** Interval of node-to-node heartbeats (ms). */
  clusterHeartbeatMs: number;
  /** A node writes only while a majority answered one of its heartbeats sent less than this ago (ms). */
  leaseMs: number;
  /** A node silent this long to a majority is dead and its shards move (ms); more than the lease. */
  failureAfterMs: number;
  /** Calls to one peer waiting to leave past which new ones are refused `unavailable` (backpressure). */
  linkMaxQueuedCalls: number;
  /** Events for one peer waiting to leave past which the backlog is dropped and its clients resync. */
  linkMaxQueuedEvents: number;
  // ---- failed authentications and /metrics (src/server/transport/throttle.ts, http.ts) ----
  /** Failed logins / bad tokens a client address (or login-code prefix) may have at once. */
  loginFailureBurst: number;
  /** Failures a minute an address or code prefix earns back. */
  loginFailuresPerMin: number;
  /** How long an address or code prefix out of allowance is refused (ms). */
  loginLockoutMs: number;
  /** Bearer token that may read /metrics besides the admin token ("" = the admin token only). */
  metricsToken: string;
  /** File holding the metrics token (read at start; "" = none). */
  metricsTokenFile: string;
  /** Origins (comma-separated, "*" any) browsers may call the HTTP API from; "" = CORS off. */
  corsOrigin: string;
}

type Kind = "string" | "int" | "enum" | "bool";
interface OptionSpec {
  key: keyof ServerConfig;
  flag: string;
  kind: Kind;
  values?: readonly string[];
  min?: number;
  /** For strings: returns the value in its normal form, or throws naming what is wrong. */
  check?: (s: string) => string;
  help: string;
}

export const DEFAULTS: ServerConfig = {
  host: "0.0.0.0",
  port: 8080,
  reusePort: false,
  data: "./data",
  shards: 16,
  sync: "full",
  heartbeatMs: 25_000,
  maxMessageBytes: 64 * 1024,
  maxFrameBytes: 1024 * 1024,
  maxGroupMembers: 100,
  inviteTtlMs: 7 * 24 * 60 * 60 * 1000,
  inviteMaxUses: 100,
  maxGroupsPerHour: 20,
  editWindowMs: 15 * 60 * 1000,
  rateBurst: 300,
  ratePerSec: 100,
  maxConnections: 18_000,
  maxConnectionsPerUser: 32,
  sendBufferBytes: 4 * 1024 * 1024,
  sendBufferMaxBytes: 64 * 1024 * 1024,
  slowConsumerMs: 10_000,
  loginCodeTtlMs: 60 * 60 * 1000,
  linkCodeTtlMs: 5 * 60 * 1000,
  maxLinkCodes: 5,
  overloadLagMs: 500,
  logLevel: "info",
  maxUploadBytes: 100 * 1024 * 1024,
  mediaOrphanAgeMs: 24 * 60 * 60 * 1000,
  mediaSweepIntervalMs: 60 * 60 * 1000,
  mediaQuotaBytes: 0,
  uploadStallMs: 20_000,
  replica: "",
  replicaMonitorMs: 100,
  replicaSyncMs: 100,
  replicaSnapshotMs: 0,
  store: "",
  phoneRegion: "",
  nodeId: "",
  peers: "",
  clusterSecretFile: "",
  clusterHeartbeatMs: 200,
  leaseMs: 2000,
  failureAfterMs: 3000,
  linkMaxQueuedCalls: 20_000,
  linkMaxQueuedEvents: 100_000,
  loginFailureBurst: 20,
  loginFailuresPerMin: 10,
  loginLockoutMs: 60_000,
  metricsToken: "",
  metricsTokenFile: "",
  corsOrigin: "",
};

/** Every option: its flag, its env var (NATTER_ + flag in SCREAMING_SNAKE) and its config-file key (the camelCase key). */
export const OPTIONS: readonly OptionSpec[] = [
  { key: "host", flag: "host", kind: "string", help: "address to listen on" },
  { key: "port", flag: "port", kind: "int", min: 0, help: "port to listen on (0 picks a free one)" },
  { key: "reusePort", flag: "reuse-port", kind: "bool", help: "let other processes listen on the same port (SO_REUSEPORT)" },
  { key: "data", flag: "data", kind: "string", help: "data directory (shards, media, admin.token)" },
  { key: "shards", flag: "shards", kind: "int", min: 1, help: "shard files for a new data directory" },
  { key: "sync", flag: "sync", kind: "enum", values: ["full", "normal"], help: "SQLite synchronous mode of each commit" },
  { key: "heartbeatMs", flag: "heartbeat-ms", kind: "int", min: 100, help: "websocket ping interval; a connection silent for two is closed" },
  { key: "maxMessageBytes", flag: "max-message-bytes", kind: "int", min: 1, help: "largest message content, UTF-8 bytes" },
  { key: "maxFrameBytes", flag: "max-frame-bytes", kind: "int", min: 1024, help: "largest websocket frame; larger closes with 1009" },
  { key: "maxGroupMembers", flag: "max-group-members", kind: "int", min: 2, help: "members per group" },
  { key: "inviteTtlMs", flag: "invite-ttl-ms", kind: "int", min: 1, help: "lifetime of a group invite: the default and the most a createInvite may ask for" },
  { key: "inviteMaxUses", flag: "invite-max-uses", kind: "int", min: 1, help: "joins one group invite admits: the default and the most a createInvite may ask for" },
  { key: "maxGroupsPerHour", flag: "max-groups-per-hour", kind: "int", min: 1, help: "groups one user may create in any hour; one more is rate_limited" },
  { key: "editWindowMs", flag: "edit-window-ms", kind: "int", min: 0, help: "how long after sending a sender may edit or delete-for-everyone a message" },
  { key: "rateBurst", flag: "rate-burst", kind: "int", min: 1, help: "requests a device may burst" },
  { key: "ratePerSec", flag: "rate-per-sec", kind: "int", min: 1, help: "sustained requests per second per device" },
  { key: "maxConnections", flag: "max-connections", kind: "int", min: 1, help: "open websockets before new ones are refused (503)" },
  { key: "maxConnectionsPerUser", flag: "max-connections-per-user", kind: "int", min: 1, help: "open websockets one user may have; one more is refused at the upgrade (429)" },
  { key: "sendBufferBytes", flag: "send-buffer-bytes", kind: "int", min: 1024, help: "per-connection send buffer above which a connection that does not drain for --slow-consumer-ms is closed" },
  { key: "sendBufferMaxBytes", flag: "send-buffer-max-bytes", kind: "int", min: 1024, help: "per-connection send buffer past which a connection is closed at once" },
  { key: "slowConsumerMs", flag: "slow-consumer-ms", kind: "int", min: 10, help: "how long a send buffer over --send-buffer-bytes may go without draining before the connection is closed" },
  { key: "loginCodeTtlMs", flag: "login-code-ttl-ms", kind: "int", min: 1, help: "lifetime of a login code" },
  { key: "linkCodeTtlMs", flag: "link-code-ttl-ms", kind: "int", min: 1, help: "lifetime of a device-link code (natter devices link)" },
  { key: "maxLinkCodes", flag: "max-link-codes", kind: "int", min: 1, help: "device-link codes a user may have outstanding at once" },
  { key: "overloadLagMs", flag: "overload-lag-ms", kind: "int", min: 1, help: "event-loop lag that makes the server refuse new connections" },
  { key: "logLevel", flag: "log-level", kind: "enum", values: ["debug", "info", "warn", "error"], help: "log level" },
  { key: "replica", flag: "replica", kind: "string", help: "replicate every shard with Litestream to this URL (directory, file://, s3://, sftp://)" },
  { key: "replicaMonitorMs", flag: "replica-monitor-ms", kind: "int", min: 10, help: "how often Litestream reads each shard's WAL (ms)" },
  { key: "replicaSyncMs", flag: "replica-sync-ms", kind: "int", min: 10, help: "how often Litestream ships to the replica (ms); with the monitor interval, the recovery point" },
  { key: "replicaSnapshotMs", flag: "replica-snapshot-ms", kind: "int", min: 0, help: "how often Litestream snapshots each shard (ms; 0: only when a generation starts); bounds what a restore or a cluster takeover replays" },
  { key: "store", flag: "store", kind: "string", help: "storage: empty for SQLite shards in --data, or libsql://, https://, file:PATH (auth token in NATTER_STORE_AUTH_TOKEN)" },
  { key: "maxUploadBytes", flag: "max-upload-bytes", kind: "int", min: 1, help: "largest media upload in bytes; larger is too_large" },
  { key: "mediaOrphanAgeMs", flag: "media-orphan-age-ms", kind: "int", min: 0, help: "age after which an upload never sent in a message is removed" },
  { key: "mediaSweepIntervalMs", flag: "media-sweep-interval-ms", kind: "int", min: 100, help: "how often the orphan sweep runs" },
  { key: "mediaQuotaBytes", flag: "media-quota-bytes", kind: "int", min: 0, help: "upload bytes per user (0: no quota)" },
  { key: "uploadStallMs", flag: "upload-stall-ms", kind: "int", min: 100, help: "an upload body that sends nothing for this long is ended (bad_request) and nothing is kept (ms)" },
  { key: "phoneRegion", flag: "phone-region", kind: "string", check: checkPhoneRegion, help: "country code (GB, US ...) for phone numbers typed without + or 00; empty: they are refused" },
  { key: "nodeId", flag: "node-id", kind: "string", check: checkNodeId, help: "this node's id in --peers (a cluster node; see docs/cluster.md)" },
  { key: "peers", flag: "peers", kind: "string", help: "every node of the cluster as id=url,... (this one included)" },
  { key: "clusterSecretFile", flag: "cluster-secret-file", kind: "string", help: "file holding the cluster secret shared by every node (or NATTER_CLUSTER_SECRET)" },
  { key: "clusterHeartbeatMs", flag: "cluster-heartbeat-ms", kind: "int", min: 10, help: "interval of node-to-node heartbeats (ms)" },
  { key: "leaseMs", flag: "lease-ms", kind: "int", min: 50, help: "a node writes only while a majority answered a heartbeat it sent less than this ago (ms)" },
  { key: "failureAfterMs", flag: "failure-after-ms", kind: "int", min: 100, help: "a node silent this long to a majority is dead and its shards move (ms); at least 1.25 x --lease-ms" },
  { key: "linkMaxQueuedCalls", flag: "link-max-queued-calls", kind: "int", min: 1, help: "calls to one peer node waiting to leave past which new ones are refused unavailable (backpressure)" },
  { key: "linkMaxQueuedEvents", flag: "link-max-queued-events", kind: "int", min: 1, help: "deliveries to one peer node waiting to leave past which they are dropped and its clients told to resync" },
  { key: "loginFailureBurst", flag: "login-failure-burst", kind: "int", min: 1, help: "failed logins / bad tokens a client address or login-code prefix may have before it is refused" },
  { key: "loginFailuresPerMin", flag: "login-failures-per-min", kind: "int", min: 1, help: "failed authentications a minute an address or code prefix earns back" },
  { key: "loginLockoutMs", flag: "login-lockout-ms", kind: "int", min: 1, help: "how long an address or code prefix out of allowance is refused (rate_limited)" },
  { key: "metricsToken", flag: "metrics-token", kind: "string", help: "bearer token that may read /metrics besides the admin token (prefer NATTER_METRICS_TOKEN or --metrics-token-file)" },
  { key: "metricsTokenFile", flag: "metrics-token-file", kind: "string", help: "file holding the /metrics bearer token" },
  { key: "corsOrigin", flag: "cors-origin", kind: "string", help: "origins (comma-separated, * for any) browsers may call the HTTP API from; empty: CORS off" },
];

export const envName = (flag: string) => "NATTER_" + flag.toUpperCase().replace(/-/g, "_");

export class ConfigError extends Error {}

/** Converts a raw value (env and flags are text) to the option's type; all but flags (true/false words) are checked by the protocol's field checker. */
function coerce(spec: OptionSpec, raw: unknown, source: string): unknown {
  if (spec.kind === "bool") {
    const v = typeof raw === "boolean" ? raw : String(raw).trim().toLowerCase();
    if (v === true || v === "true" || v === "1" || v === "yes" || v === "on") return true;
    if (v === false || v === "false" || v === "0" || v === "no" || v === "off") return false;
    throw new ConfigError(`${source}: ${spec.flag} must be true or false (got ${JSON.stringify(raw)})`);
  }
  const v = spec.kind === "int" ? (typeof raw === "number" ? raw : Number(String(raw).trim())) : String(raw);
  const field: FieldSpec =
    spec.kind === "int" ? { kind: "int", min: spec.min } : spec.kind === "enum" ? { kind: "enum", values: spec.values! } : { kind: "string", min: 1 };
  const why = checkField(spec.flag, field, v);
  if (why !== null) {
    const said = spec.kind === "int" ? `${spec.flag} must be an integer${spec.min !== undefined ? ` >= ${spec.min}` : ""}` : why;
    throw new ConfigError(`${source}: ${said} (got ${JSON.stringify(raw)})`);
  }
  try {
    return spec.check ? spec.check(String(v)) : v;
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message}`);
  }
}

/**
 * Merges the layers. `flags` holds only options given on the command line
 * (keyed by ServerConfig key); `configFile` is a JSON file path.
 */
export function loadConfig(
  flags: Partial<Record<keyof ServerConfig, unknown>>,
  env: Record<string, string | undefined>,
  configFile?: string,
): ServerConfig {
  const out: Record<string, unknown> = { ...DEFAULTS };
  const file = configFile ?? env.NATTER_CONFIG;
  if (file) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
    }
    for (const k of Object.keys(parsed)) {
      const spec = OPTIONS.find((o) => o.key === k || o.flag === k);
      if (!spec) throw new ConfigError(`config file ${file}: unknown option ${JSON.stringify(k)}`);
      out[spec.key] = coerce(spec, parsed[k], `config file ${file}`);
    }
  }
  for (const spec of OPTIONS) {
    const v = env[envName(spec.flag)];
    if (v !== undefined && v !== "") out[spec.key] = coerce(spec, v, envName(spec.flag));
  }
  for (const spec of OPTIONS) {
    const v = flags[spec.key];
    if (v !== undefined) out[spec.key] = coerce(spec, v, `--${spec.flag}`);
  }
  checkStorage(out as unknown as ServerConfig);
  checkCluster(out as unknown as ServerConfig);
  return out as unknown as ServerConfig;
}

/** --replica and --store: valid URLs; together, a replica that can hold media blobs. */
function checkStorage(c: ServerConfig): void {
  try {
    if (c.replica) parseReplica(c.replica);
    if (c.store) checkStoreUrl(c.store);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  // With --store, --replica keeps media blobs only (rows are the libSQL server's to keep), so it must hold files.
  if (c.replica && c.store && parseReplica(c.replica).kind === "other")
    throw new ConfigError("with --store, --replica keeps media blobs only and must be a directory or s3:// replica");
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

function checkNodeId(s: string): string {
  if (!NODE_ID.test(s)) throw new Error(`node id ${JSON.stringify(s)}: letters, digits, '.', '_' and '-' only, at most 64`);
  return s;
}

/** `id=url,...` -> id -> origin (http:// when no scheme is given). Throws ConfigError naming the bad entry. */
export function parsePeers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--peers: ${JSON.stringify(entry)} is not id=url`);
    const id = entry.slice(0, eq).trim();
    let url = entry.slice(eq + 1).trim();
    if (!NODE_ID.test(id)) throw new ConfigError(`--peers: node id ${JSON.stringify(id)}: letters, digits, '.', '_' and '-' only`);
    if (!/^https?:\/\//.test(url)) url = "http://" + url;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`--peers: ${JSON.stringify(entry)}: not a URL`);
    }
    if (out.has(id)) throw new ConfigError(`--peers: node ${id} is listed twice`);
    out.set(id, u.origin);
  }
  return out;
}

/** --node-id and --peers go together; the node is one of the peers; the lease is shorter than the failure time. */
function checkCluster(c: ServerConfig): void {
  if (!c.nodeId && !c.peers) return;
  if (!c.nodeId) throw new ConfigError("--peers needs --node-id (this node's id among them)");
  if (!c.peers) throw new ConfigError("--node-id needs --peers (every node of the cluster, this one included)");
  const peers = parsePeers(c.peers);
  if (!peers.has(c.nodeId)) throw new ConfigError(`--node-id ${c.nodeId} is not in --peers (${[...peers.keys()].join(", ")})`);
  if (c.failureAfterMs < Math.ceil(c.leaseMs * 1.25))
    throw new ConfigError(`--failure-after-ms (${c.failureAfterMs}) must be at least 1.25 x --lease-ms (${c.leaseMs}): see docs/cluster.md`);
  if (!c.store && !c.replica) throw new ConfigError("a cluster node needs --replica (shards move between nodes through it) or --store");
}
