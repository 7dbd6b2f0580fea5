// natter admin backup status: per-shard replica position and lag, from the running server.
import type { Command } from "commander";
import type { BackupStatus } from "../../protocol/index.ts";
import { table } from "../table.ts";
import { adminAction } from "./index.ts";

export function formatBackupStatus(s: BackupStatus): string {
  if (!s.enabled) return "replication is off: start the server with --replica URL (see docs/operations.md)\n";
  const head =
    `replica:   ${s.replica}\n` +
    `litestream: ${s.running ? `running (pid ${s.pid})` : "NOT RUNNING"}, restarts ${s.restarts}${s.last_exit ? `, last exit ${s.last_exit}` : ""}\n` +
    (s.target_full ? `FULL:      the replica target is out of space since ${s.target_full_since}; commits since are only in the data dir\n` : "") +
    (s.degraded ? `DEGRADED:  Litestream has been down; SQLite checkpoints itself until it is back\n` : "") +
    (s.media_only ? `mode:      media blobs only (rows are kept by the libSQL store's server)\n` : "") +
    `intervals: monitor ${s.monitor_interval_ms} ms, sync ${s.sync_interval_ms} ms; media blobs ${s.blobs ? `${s.blobs.replicated} replicated, ${s.blobs.pending} pending, ${s.blobs.failures} failures` : "not replicated (replica type holds no files)"}\n` +
    `lag:       ${s.lag_ms} ms (largest over shards)\n\n`;
  return (
    head +
    table(
      ["SHARD", "GENERATION", "REPLICA POS", "LOCAL POS", "LAG MS", "LAST LAG MS", "LAST REPLICATED", "ERRORS"],
      s.shards.map((x) => [
        String(x.shard).padStart(2, "0"),
        x.generation,
        x.replica_position,
        x.local_position,
        x.lag_ms,
        x.last_lag_ms,
        x.last_replicated_at,
        x.sync_errors,
      ]),
    )
  );
}

export function registerBackup(admin: Command): void {
  const backup = admin.command("backup").description("replication (Litestream) state of the running server");
  adminAction(
    backup.command("status").description("per-shard replica position and lag"),
    (c) => c.call<BackupStatus>("GET", "/admin/backup"),
    formatBackupStatus,
  );
}
