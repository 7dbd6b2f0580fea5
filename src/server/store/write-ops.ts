// Every write, as a named operation on one shard. A backend runs them inside
// its group commit: the SQLite store on its writer thread (sqlite/writer-worker.ts),
// the libSQL store in its transaction loop. Arguments and results are plain
// data (they cross threads as JSON text).

import { accountWrites } from "./accounts.ts";
import { changeWrites } from "./changes.ts";
import { channelWrites } from "./channels.ts";
import type { WriteCtx } from "./exec.ts";
import { inviteWrites } from "./invites.ts";
import { maintenanceWrites } from "./maintenance.ts";
import { mediaWrites } from "./media.ts";
import { messageWrites } from "./messages.ts";
import { privacyWrites } from "./privacy.ts";

export const WRITES = { ...accountWrites, ...channelWrites, ...inviteWrites, ...messageWrites, ...changeWrites, ...mediaWrites, ...maintenanceWrites, ...privacyWrites };

export type WriteOp = keyof typeof WRITES;
export type WriteArgs<K extends WriteOp> = Parameters<(typeof WRITES)[K]>[1];
export type WriteResult<K extends WriteOp> = Awaited<ReturnType<(typeof WRITES)[K]>>;

/** A committed write with what it answered, by operation (for caches kept from answers). */
export type Settled = { [K in WriteOp]: { op: K; args: WriteArgs<K>; value: WriteResult<K> } }[WriteOp];

/** A named write waiting for its commit. */
export interface PendingWrite {
  op: WriteOp;
  args: unknown;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}

/** Writes that make at most one change: they need no savepoint of their own. */
const SINGLE_STATEMENT: ReadonlySet<string> = new Set<WriteOp>(["appendMessage"]);

export const isWriteOp = (op: string): op is WriteOp => Object.hasOwn(WRITES, op);

/** Whether `op` must run in its own savepoint, so that its failure undoes only its own changes. */
export const needsSavepoint = (op: WriteOp): boolean => !SINGLE_STATEMENT.has(op);

/** Runs `op` in the shard's open transaction. */
export function runWrite<K extends WriteOp>(ctx: WriteCtx, op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
  const fn = WRITES[op] as (c: WriteCtx, a: WriteArgs<K>) => Promise<WriteResult<K>>;
  if (SINGLE_STATEMENT.has(op)) return fn(ctx, args);
  // Other writes read last_seq from the channel rows: bring them up to date first.
  return ctx.seqs.persist(ctx.db).then(() => fn(ctx, args));
}
