// A cluster node's start-up: the secret (file or NATTER_CLUSTER_SECRET), the
// keys derived from it (the node link's token, the cluster-wide admin
// token), and the ClusterNode for this process.

import { createHmac } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError, parsePeers, type ServerConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import { ClusterNode } from "./node.ts";

const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** The cluster secret: NATTER_CLUSTER_SECRET, else --cluster-secret-file. At least 16 characters. */
export function readClusterSecret(config: ServerConfig, env: Record<string, string | undefined>, log: Logger): string {
  let secret = env.NATTER_CLUSTER_SECRET?.trim() ?? "";
  if (!secret && config.clusterSecretFile) {
    try {
      secret = readFileSync(config.clusterSecretFile, "utf8").trim();
      if ((statSync(config.clusterSecretFile).mode & 0o077) !== 0)
        log.warn("cluster secret file is readable by other users; chmod 600 it", { file: config.clusterSecretFile });
    } catch (e) {
      throw new ConfigError(`--cluster-secret-file ${config.clusterSecretFile}: ${(e as Error).message}`);
    }
  }
  if (!secret) throw new ConfigError("a cluster node needs the cluster secret: --cluster-secret-file FILE or NATTER_CLUSTER_SECRET");
  if (secret.length < 16) throw new ConfigError("the cluster secret must be at least 16 characters (e.g. openssl rand -hex 32)");
  return secret;
}

const derive = (secret: string, purpose: string) => createHmac("sha256", secret).update(purpose).digest();

/** What nodes present to each other: never the secret itself. */
export const linkToken = (secret: string) => derive(secret, "natter cluster link v1").toString("hex");

/** The admin token every node of the cluster accepts (same shape as a random one). */
export function clusterAdminToken(secret: string): string {
  const d = Buffer.concat([derive(secret, "natter admin token v1"), derive(secret, "natter admin token v1 (2)")]);
  let s = "nt_";
  for (let i = 0; i < 40; i++) s += ALPHABET[d[i]! & 31];
  return s;
}

export function createClusterNode(config: ServerConfig, shards: number, secret: string, log: Logger, onRefused: (why: string) => void): ClusterNode {
  return new ClusterNode({
    self: config.nodeId,
    peers: parsePeers(config.peers),
    token: linkToken(secret),
    shards,
    heartbeatMs: config.clusterHeartbeatMs,
    leaseMs: config.leaseMs,
    failureAfterMs: config.failureAfterMs,
    linkMaxQueuedCalls: config.linkMaxQueuedCalls,
    linkMaxQueuedEvents: config.linkMaxQueuedEvents,
    log,
    onRefused,
  });
}
