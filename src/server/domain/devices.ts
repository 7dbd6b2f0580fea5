// Self-service devices: a logged-in device links a new one (a short-lived,
// single-use login code for its own user), lists its user's devices and
// revokes them. Every other device of the user hears of each link and
// revocation through a `device` event.

import { NatterError, type DeviceAction, type DeviceEvent, type OpName, type OpParams, type OpResults, type OwnDevice } from "../../protocol/index.ts";
import { loginCodeHash, newLoginCode } from "../ids.ts";
import type { DeviceRow, Store } from "../store/types.ts";
import { toDevice } from "./accounts.ts";
import type { Caller, Delivery } from "./ports.ts";

export interface DeviceLimits {
  /** Lifetime of a link code (ms). */
  linkCodeTtlMs: number;
  /** Link codes one user may have outstanding (neither used nor expired). */
  maxLinkCodes: number;
}

/** A link code not yet used: when it expires and which device made it. */
interface Outstanding {
  expiresAt: number;
  by: string;
}

/** The close code of a revoked device's sockets (the same as an operator's revocation). */
export const REVOKED_CLOSE_CODE = 4401;

export class Devices {
  /**
   * Per user, the link codes (by hash) not yet used. Kept in memory: it
   * bounds how many a user holds and lets a revocation kill the codes its
   * device made; a restart forgets it (the codes still expire on their own).
   */
  private readonly outstanding = new Map<string, Map<string, Outstanding>>();

  constructor(
    private readonly store: Store,
    private readonly delivery: Delivery,
    private readonly limits: DeviceLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A fresh single-use login code for the caller's own user. Throws
   * rate_limited (retry_after_ms: until the oldest expires) when the user
   * already has maxLinkCodes outstanding.
   */
  async link(c: Caller): Promise<{ code: string; expires_at: number }> {
    const now = this.now();
    const mine = this.live(c.user, now);
    if (mine.size >= this.limits.maxLinkCodes) {
      const next = Math.min(...[...mine.values()].map((o) => o.expiresAt));
      const wait = Math.max(1, next - now);
      throw new NatterError("rate_limited", `${mine.size} link codes are already outstanding (at most ${this.limits.maxLinkCodes}); the next expires in ${Math.ceil(wait / 1000)} s`, wait);
    }
    const code = newLoginCode();
    const hash = loginCodeHash(code);
    const expires_at = now + this.limits.linkCodeTtlMs;
    // Counted before the write, so concurrent calls cannot pass the bound.
    mine.set(hash, { expiresAt: expires_at, by: c.device });
    try {
      await this.store.createLoginCode(hash, c.user, expires_at);
    } catch (e) {
      mine.delete(hash);
      throw e;
    }
    return { code, expires_at };
  }

  /** The caller's own devices, oldest first; `current` marks the caller's. */
  async list(c: Caller): Promise<OwnDevice[]> {
    const rows = await this.store.listDevices(c.user);
    rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    return rows.map((d) => ({ ...toDevice(d), current: d.id === c.device }));
  }

  /**
   * Revokes one of the caller's own devices: its token dies, the link codes
   * it made die, its sockets close with 4401, and the user's other devices
   * get a `device` event. Anyone else's device (or none) is not_found. The
   * caller may revoke itself: its own socket closes right after the reply.
   */
  async revoke(c: Caller, device: string): Promise<void> {
    const d = await this.store.getDevice(c.user, device);
    if (!d || !(await this.store.revokeDevice(device))) throw new NatterError("not_found", "no such device");
    await this.dropCodesOf(c.user, device);
    // Its sockets close before the event goes out, so it reaches only the other devices.
    const closeAndAnnounce = () => {
      this.delivery.closeDevice(device, REVOKED_CLOSE_CODE, "device revoked");
      this.announce("revoked", d);
    };
    // Revoking itself, the caller's reply leaves first: it is sent once this op's promise chain settles, before any timer.
    if (device === c.device) setTimeout(closeAndAnnounce, 0);
    else closeAndAnnounce();
  }

  /** Told of every login (link codes and the operator's codes alike): frees the code's slot, announces the device. */
  loggedIn(d: DeviceRow, code: string): void {
    const mine = this.outstanding.get(d.user_id);
    if (mine?.delete(loginCodeHash(code)) && mine.size === 0) this.outstanding.delete(d.user_id);
    this.announce("linked", d);
  }

  /** Forgets expired codes of every user (run now and then: users who never link again are dropped too). */
  sweep(): void {
    const now = this.now();
    for (const [user, mine] of this.outstanding) {
      for (const [hash, o] of mine) if (o.expiresAt < now) mine.delete(hash);
      if (mine.size === 0) this.outstanding.delete(user);
    }
  }

  /** How many users have codes outstanding (for tests of the sweep). */
  get usersWithCodes(): number {
    return this.outstanding.size;
  }

  /** The user's outstanding codes, expired ones dropped (the map is kept in `outstanding`). */
  private live(user: string, now: number): Map<string, Outstanding> {
    let mine = this.outstanding.get(user);
    if (!mine) this.outstanding.set(user, (mine = new Map()));
    for (const [hash, o] of mine) if (o.expiresAt < now) mine.delete(hash);
    return mine;
  }

  /** Deletes the codes a revoked device made (consuming a code deletes it). */
  private async dropCodesOf(user: string, device: string): Promise<void> {
    const mine = this.outstanding.get(user);
    if (!mine) return;
    const now = this.now();
    for (const [hash, o] of [...mine]) {
      if (o.by !== device) continue;
      mine.delete(hash);
      await this.store.consumeLoginCode(hash, now);
    }
    if (mine.size === 0) this.outstanding.delete(user);
  }

  /** Sends a `device` event to every connection of the device's user. */
  private announce(action: DeviceAction, d: DeviceRow): void {
    const ev: DeviceEvent = { ev: "device", user: d.user_id, action, device: toDevice(d) };
    this.delivery.toUsers([d.user_id], JSON.stringify(ev));
  }
}

/** The device ops, dispatched by ops.ts. */
export type DeviceOp = Extract<OpName, "linkDevice" | "listDevices" | "revokeDevice">;

export const DEVICE_OPS: { [K in DeviceOp]: (d: Devices, c: Caller, p: OpParams[K]) => Promise<OpResults[K]> } = {
  linkDevice: (d, c) => d.link(c),
  listDevices: async (d, c) => ({ devices: await d.list(c) }),
  revokeDevice: async (d, c, p) => (await d.revoke(c, p.device), {}),
};

export function isDeviceOp(op: OpName): op is DeviceOp {
  return Object.hasOwn(DEVICE_OPS, op);
}
