// Saved device credentials, one JSON file per profile, readable only by the user.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Device, User } from "../protocol/index.ts";

export interface Credentials {
  server: string;
  token: string;
  user: User;
  device: Device;
}

export const DEFAULT_PROFILE = "default";

/** $NATTER_CONFIG_DIR, else $XDG_CONFIG_HOME/natter, else ~/.config/natter. */
export function configDir(): string {
  const env = process.env;
  if (env.NATTER_CONFIG_DIR) return env.NATTER_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "natter");
  return join(env.HOME || homedir(), ".config", "natter");
}

/** Path of a profile's file; throws on a name that is not a plain word (no path tricks). */
export function credentialsPath(profile: string = DEFAULT_PROFILE): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(profile)) throw new Error(`invalid profile name: ${JSON.stringify(profile)}`);
  return join(configDir(), "profiles", `${profile}.json`);
}

/** The saved credentials of a profile, or null if there are none. Throws if the file exists but is unreadable or malformed. */
export function loadCredentials(profile: string = DEFAULT_PROFILE): Credentials | null {
  const path = credentialsPath(profile);
  if (!existsSync(path)) return null;
  const c = JSON.parse(readFileSync(path, "utf8")) as Partial<Credentials>;
  if (typeof c.server !== "string" || typeof c.token !== "string" || !c.user || !c.device)
    throw new Error(`credentials file ${path} is malformed; run natter login again`);
  return c as Credentials;
}

/** Writes <configDir>/profiles/<profile>.json with mode 0600 (directories 0700), atomically; returns the path. */
export function saveCredentials(c: Credentials, profile: string = DEFAULT_PROFILE): string {
  const path = credentialsPath(profile);
  const dir = join(configDir(), "profiles");
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(c, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

/** Deletes a profile's saved credentials (after its device was revoked); returns the path. */
export function removeCredentials(profile: string = DEFAULT_PROFILE): string {
  const path = credentialsPath(profile);
  rmSync(path, { force: true });
  return path;
}
