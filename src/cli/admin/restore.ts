// natter admin restore --replica URL --data DIR [--force]
// Offline: rebuilds a data directory from a replica (no server involved).
import type { Command } from "commander";
import { restoreDataDir, RestoreError, type RestoreEvent } from "../../server/index.ts";
import { CliError, EXIT, runCommand } from "../run.ts";
import { table } from "../table.ts";
import { adminOpts } from "./index.ts";

export interface RestoreCliOptions {
  replica?: string;
  data?: string;
  force?: boolean;
  shards?: string;
  timestamp?: string;
  json?: boolean;
}

/** Validates flags (apart from running): the replica and an explicit --data are required. */
export function parseRestoreOptions(o: RestoreCliOptions, env: Record<string, string | undefined> = process.env) {
  const replica = o.replica ?? env.NATTER_REPLICA;
  if (!replica) throw new CliError("--replica URL is required (or NATTER_REPLICA)", EXIT.usage);
  if (!o.data) throw new CliError("--data DIR is required: the directory to rebuild (stop the server first)", EXIT.usage);
  let shards: number | undefined;
  if (o.shards !== undefined) {
    shards = Number(o.shards);
    if (!Number.isSafeInteger(shards) || shards < 1) throw new CliError("--shards must be a positive integer", EXIT.usage);
  }
  let timestamp: string | undefined;
  if (o.timestamp !== undefined) {
    const t = new Date(o.timestamp);
    if (Number.isNaN(t.getTime())) throw new CliError("--timestamp must be a date and time, e.g. 2026-11-25T16:00:00Z", EXIT.usage);
    timestamp = t.toISOString();
  }
  return { replica, data: o.data, force: o.force === true, shards, timestamp, json: o.json === true };
}

const kb = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

function progressLine(e: RestoreEvent): string | null {
  switch (e.kind) {
    case "start":
      return e.shards === 0
        ? `restoring media blobs only (a libSQL-store server: its rows live on the libSQL server) from ${e.replica} into ${e.data}`
        : `restoring ${e.shards} shards from ${e.replica} into ${e.data}`;
    case "shard":
      return `  shard ${String(e.shard).padStart(2, "0")} restored${e.total ? ` (${e.done}/${e.total})` : ""}: ${kb(e.bytes)} in ${e.ms} ms`;
    case "check":
      return `  shard ${String(e.shard).padStart(2, "0")} integrity_check: ${e.result}`;
    case "blob":
      return e.done === e.total || e.done % 100 === 0 ? `  media blobs ${e.done}/${e.total} (${kb(e.bytes)})` : null;
    case "done":
      return null;
  }
}

export function registerRestore(admin: Command): void {
  admin
    .command("restore")
    .description("rebuild a data directory from a replica, offline (every shard and media blob, integrity-checked)")
    .option("--replica <url>", "replica to restore from: directory, file://, s3://, sftp:// (env NATTER_REPLICA)")
    .option("--force", "replace the contents of a non-empty --data directory")
    .option("--timestamp <time>", "restore every shard as it was at this time (ISO 8601, e.g. 2026-11-25T16:00:00Z); media: all blobs")
    .option("--shards <n>", "shard count, only for replicas without layout.json (sftp/gcs/abs); default: probe")
    .option("--json", "print the report as JSON")
    .action(async (_o: unknown, cmd: Command) => {
      const all = adminOpts(cmd) as RestoreCliOptions;
      await runCommand(all.json, async () => {
        const o = parseRestoreOptions(all);
        try {
          const report = await restoreDataDir({
            replica: o.replica,
            data: o.data,
            force: o.force,
            shards: o.shards,
            timestamp: o.timestamp,
            onProgress: (e) => {
              const line = progressLine(e);
              if (line) process.stderr.write(line + "\n");
            },
          });
          if (o.json) process.stdout.write(JSON.stringify(report) + "\n");
          else {
            process.stdout.write(
              table(
                ["SHARD", "BYTES", "INTEGRITY"],
                report.shards.map((s) => [String(s.shard).padStart(2, "0"), String(s.bytes), s.integrity]),
              ),
            );
            process.stdout.write(
              `restored ${report.shards.length} shards and ${report.blobs} media blobs (${kb(report.blob_bytes)}) into ${report.data} in ${report.ms} ms\n` +
                (report.blobs_skipped ? `${report.blobs_skipped} blobs in the replica are referenced by no restored media row and were left out\n` : "") +
                `a new admin token is created when the server starts on it (admin.token is not part of the replica)\n`,
            );
          }
        } catch (e) {
          if (e instanceof RestoreError) throw new CliError(e.message, e.code === "not_empty" ? EXIT.usage : e.code === "in_use" ? EXIT.inUse : EXIT.failure);
          throw e;
        }
      });
    });
}
