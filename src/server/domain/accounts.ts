// Accounts: users, one-time login codes, device tokens (stored hashed).

import { NatterError, type Device, type ListedUser, type LoginResult, type User } from "../../protocol/index.ts";
import { lookupPhone, normalisePhone, storedPhoneStatus } from "../../protocol/phone.ts";
import { newDeviceId, newLoginCode, newToken, newUserId, normaliseCode, sha256 } from "../ids.ts";
import type { AccountStore, DeviceRow } from "../store/types.ts";
import type { Caller, Delivery } from "./ports.ts";
import { toUser } from "./views.ts";

export const toDevice = (d: DeviceRow): Device => ({ id: d.id, name: d.name, created_at: d.created_at });

export class Accounts {
  /** Told of every successful login, with the code used (devices.ts announces the new device). */
  onLogin: ((device: DeviceRow, code: string) => void) | null = null;

  constructor(
    private readonly store: AccountStore,
    private readonly delivery: Delivery,
    private readonly codeTtlMs: number,
    /** Country of phone numbers given without a country code ("" = none: they are refused). */
    private readonly phoneRegion = "",
  ) {}

  /** Creates a user (phone stored in E.164) and a first login code. Throws conflict if the phone is taken, in any spelling. */
  async createUser(name: string, phoneRaw: string): Promise<{ user: User; code: string }> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) throw new NatterError("bad_request", "name must be 1-100 characters");
    const phone = normalisePhone(phoneRaw, this.phoneRegion);
    if (await lookupPhone(phone, this.phoneRegion, (p) => this.store.userByPhone(p))) throw new NatterError("conflict", `phone ${phone} is already registered`);
    const row = { id: newUserId(), name: trimmed, phone, created_at: Date.now(), last_seen: null };
    await this.store.createUser(row);
    const code = await this.newCode(row.id);
    return { user: toUser(row), code };
  }

  async getUser(id: string): Promise<User> {
    const u = await this.store.getUser(id);
    if (!u) throw new NatterError("not_found", "no such user");
    return toUser(u);
  }

  /** A fresh single-use login code for another device. */
  async newCode(user: string): Promise<string> {
    if (!(await this.store.getUser(user))) throw new NatterError("not_found", "no such user");
    const code = newLoginCode();
    await this.store.createLoginCode(sha256(normaliseCode(code)), user, Date.now() + this.codeTtlMs);
    return code;
  }

  /** Exchanges a login code (once) for a new device and its token. */
  async login(code: string, deviceName: string): Promise<LoginResult> {
    const name = deviceName.trim().slice(0, 100) || "device";
    const userId = await this.store.consumeLoginCode(sha256(normaliseCode(code)), Date.now());
    if (!userId) throw new NatterError("unauthorized", "login code is invalid, used or expired");
    const user = await this.store.getUser(userId);
    if (!user) throw new NatterError("unauthorized", "login code is invalid, used or expired");
    const token = newToken();
    const device: DeviceRow = { id: newDeviceId(), user_id: userId, name, created_at: Date.now() };
    await this.store.createDevice(device, sha256(token));
    this.onLogin?.(device, code);
    return { token, user: toUser(user), device: toDevice(device) };
  }

  /** Resolves a bearer token to its device, or throws unauthorized. */
  async authenticate(token: string | null | undefined): Promise<Caller & { deviceName: string }> {
    if (!token) throw new NatterError("unauthorized", "missing token");
    const t = await this.store.deviceByToken(sha256(token));
    if (!t) throw new NatterError("unauthorized", "invalid or revoked token");
    const d = await this.store.getDevice(t.user_id, t.device_id);
    if (!d) throw new NatterError("unauthorized", "invalid or revoked token");
    return { user: t.user_id, device: t.device_id, deviceName: d.name };
  }

  async device(user: string, device: string): Promise<Device> {
    const d = await this.store.getDevice(user, device);
    if (!d) throw new NatterError("not_found", "no such device");
    return toDevice(d);
  }

  async listDevices(user: string): Promise<Device[]> {
    if (!(await this.store.getUser(user))) throw new NatterError("not_found", "no such user");
    return (await this.store.listDevices(user)).map(toDevice);
  }

  /** Revokes one device: its token dies and its connections close now. */
  async revokeDevice(device: string): Promise<void> {
    if (!(await this.store.revokeDevice(device))) throw new NatterError("not_found", "no such device");
    this.delivery.closeDevice(device, 4401, "device revoked");
  }

  /** Every user, each marked with whether their stored phone is in E.164 (rows from before the rule may not be). */
  async listUsers(): Promise<ListedUser[]> {
    return (await this.store.listUsers()).map((r) => ({ ...toUser(r), ...storedPhoneStatus(r.phone, this.phoneRegion) }));
  }
}
