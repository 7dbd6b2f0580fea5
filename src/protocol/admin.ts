// The operator's surface (HTTP under /admin/, admin token only): the schema of
// each request body and the result of each admin operation. Shared by the
// server's admin routes and `natter admin`.

import { OP_SCHEMAS, type ParamsOf, type Schema } from "./schema.ts";
import type { StoredPhone } from "./phone.ts";
import type { Channel, Device, Invite, OpResults, User } from "./types.ts";

/** Bodies of the admin routes that take one. Names and phones are checked further by the server. */
export const ADMIN_SCHEMAS = {
  /** POST /admin/users */
  createUser: { name: { kind: "string", min: 1 }, phone: { kind: "string", min: 1 } },
  /** POST /admin/groups: its first admin, and the group's fields as in the createGroup op. */
  createGroup: {
    owner: { kind: "string", min: 1, max: 200 },
    name: OP_SCHEMAS.createGroup.name,
    description: OP_SCHEMAS.createGroup.description,
    members: OP_SCHEMAS.createGroup.members,
    join: OP_SCHEMAS.createGroup.join,
  },
  /** POST /admin/groups/ID/members (no members: nothing to add). */
  addMembers: { members: { kind: "ids", optional: true, max: 1000 } },
  /** POST /admin/groups/ID/invite (body optional): the invite's limits, as in the createInvite op. */
  createInvite: { max_uses: OP_SCHEMAS.createInvite.max_uses, expires_in_ms: OP_SCHEMAS.createInvite.expires_in_ms },
} as const satisfies Record<string, Schema>;

export type AdminParams = { [K in keyof typeof ADMIN_SCHEMAS]: ParamsOf<(typeof ADMIN_SCHEMAS)[K]> };

/** A group as the operator sees it: the channel (no caller's cursors) and who created it. */
export type AdminGroup = Channel & { created_by: string };

/** GET /admin/stats: the store's counts and this node's own. */
export interface AdminStats {
  shards: number;
  users: number;
  channels: number;
  messages: number;
  devices: number;
  /** Open websockets on this node. */
  connections: number;
  uptime_ms: number;
  rss_bytes: number;
}

/** Media blob copies to the replica. */
export interface BlobMirrorStatus {
  replicated: number;
  pending: number;
  failures: number;
  last_error: string | null;
}

export interface ShardReplicationStatus {
  shard: number;
  generation: string | null;
  /** Replica WAL position "index/offset" (Litestream's numbering). */
  replica_position: string | null;
  /** Local (shadow WAL) position Litestream has read from the shard. */
  local_position: string | null;
  /** Age of the oldest commit not yet in the replica; 0 when caught up. */
  lag_ms: number;
  /** Commit -> replica time of the last commit seen replicated. */
  last_lag_ms: number | null;
  last_replicated_at: string | null;
  sync_errors: number;
}

export interface ReplicationStatus {
  enabled: true;
  replica: string;
  /** Litestream running (or, media only, the blob mirror). */
  running: boolean;
  /** Litestream down long enough that SQLite checkpoints itself again. */
  degraded: boolean;
  /** True with a libSQL store: only media blobs are replicated. */
  media_only: boolean;
  pid: number | null;
  restarts: number;
  last_exit: string | null;
  monitor_interval_ms: number;
  sync_interval_ms: number;
  /** Largest lag over all shards. */
  lag_ms: number;
  /** The replica target refused writes for lack of space (Litestream or a blob copy: ENOSPC) and has not caught up since; when it started. */
  target_full?: boolean;
  target_full_since?: string | null;
  /** Media blob copies (null when the replica type holds no files: sftp, gcs, abs). */
  blobs: BlobMirrorStatus | null;
  shards: ShardReplicationStatus[];
}

/** GET /admin/backup: replication status, or off. */
export type BackupStatus = ReplicationStatus | { enabled: false };

/** A user as GET /admin/users lists them: `phone_ok` false marks a phone stored before E.164 normalisation, with what it stands for (null: nothing). */
export type ListedUser = User & StoredPhone;

/** The reply body of each admin operation (route in the comment). */
export interface AdminResults {
  /** POST /admin/users (201) */
  createUser: { user: User; code: string };
  /** GET /admin/users */
  listUsers: { users: ListedUser[] };
  /** GET /admin/users/ID */
  showUser: { user: User; devices: Device[]; channels: string[]; online: boolean };
  /** DELETE /admin/users/ID: devices logged out, the user leaves their groups; history stays. */
  deleteUser: { ok: true };
  /** POST /admin/users/ID/code: a fresh one-time login code. */
  loginCode: { code: string };
  /** GET /admin/users/ID/devices */
  listDevices: { devices: Device[] };
  /** DELETE /admin/devices/ID */
  revokeDevice: { ok: true };
  /** POST /admin/groups (201) */
  createGroup: { group: AdminGroup };
  /** GET /admin/groups */
  listGroups: { groups: AdminGroup[] };
  /** GET /admin/groups/ID */
  showGroup: { group: AdminGroup };
  /** POST /admin/groups/ID/members */
  addMembers: { group: AdminGroup };
  /** DELETE /admin/groups/ID/members/USER */
  removeMember: { group: AdminGroup };
  /** POST /admin/groups/ID/invite */
  createInvite: OpResults["createInvite"];
  /** GET /admin/groups/ID/invites: the live ones, oldest first. */
  listInvites: { invites: Invite[] };
  /** DELETE /admin/groups/ID/invites/CODE */
  revokeInvite: { ok: true };
  /** GET /admin/backup */
  backupStatus: BackupStatus;
  /** GET /admin/stats */
  stats: AdminStats;
}

/** GET /admin/cluster: a cluster node's view (404 on a single node). */
export interface ClusterStatus {
  node: string;
  fingerprint: string;
  quorum: boolean;
  lease_ms_left: number;
  nodes: { id: string; url: string; live: boolean; heartbeat_age_ms: number | null; connections: number | null; refused: string | null }[];
  /** Shards this node serves now. */
  serving: number[];
  shards: { shard: number; node: string; served_here: boolean; replica_lag_ms: number | null }[];
  counters: Record<string, number>;
  links: Record<string, Record<string, number>>;
}
