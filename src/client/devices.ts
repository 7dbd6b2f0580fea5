// Typed device ops (protocol additions linkDevice, listDevices, revokeDevice)
// over anything that runs ops: NatterClient.request or HttpApi.call.
import type { OpName, OpParams, OpResults, OwnDevice } from "../protocol/index.ts";

/** Runs one op and resolves with its result; rejects with NatterError. */
export type OpRunner = <K extends OpName>(op: K, params: OpParams[K]) => Promise<OpResults[K]>;

export interface DeviceOps {
  /** A single-use login code for another device of this user, and when it expires (ms). */
  link(): Promise<{ code: string; expires_at: number }>;
  /** This user's devices, oldest first; `current` marks the calling device. */
  list(): Promise<OwnDevice[]>;
  /** Revokes one of this user's devices (the calling one included: it is then logged out). Another id is not_found. */
  revoke(device: string): Promise<void>;
}

export function deviceOps(run: OpRunner): DeviceOps {
  return {
    link: () => run("linkDevice", {}),
    list: async () => (await run("listDevices", {})).devices,
    revoke: async (device) => {
      await run("revokeDevice", { device });
    },
  };
}
