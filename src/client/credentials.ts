// Saved device credentials, one JSON file per profile, readable only by the user.
// A profile holds the server URLs the user gave (`servers`; `server` is the
// first, as older profiles and versions have it) and the cluster nodes last
// learned from hello (`nodes`).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Device, User } from "../protocol/index.ts";

export interface Credentials {
  /** The first of `servers` (kept for older readers). */
  server: string;
  /** The server URLs the user gave, in their order (a profile with only `server` loads as [server]). */
  servers: string[];
  /** Cluster nodes learned from hello that are not among `servers`. */
  nodes?: string[];
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
  const list = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (typeof c.server !== "string" || typeof c.token !== "string" || !c.user || !c.device || (c.servers !== undefined && (!list(c.servers) || c.servers.length === 0)) || (c.nodes !== undefined && !list(c.nodes)))
    throw new Error(`credentials file ${path} is malformed; run natter login again`);
  return { ...c, servers: c.servers ?? [c.server] } as Credentials;
}

/** Every server a session may use: the given ones, then the learned nodes. */
export function knownServers(c: Pick<Credentials, "servers" | "nodes">): string[] {
  return [...new Set([...c.servers, ...(c.nodes ?? [])])];
}

/** Saves `nodes` as the profile's learned nodes if the profile still holds the same token; true if it wrote. */
export function saveLearnedNodes(profile: string, token: string, nodes: string[]): boolean {
  const c = loadCredentials(profile);
  if (!c || c.token !== token) return false;
  const known = c.nodes ?? [];
  if (known.length === nodes.length && known.every((n, i) => n === nodes[i])) return false;
  saveCredentials({ ...c, nodes }, profile);
  return true;
}

/** Writes <configDir>/profiles/<profile>.json with mode 0600 (directories 0700), atomically; returns the path. */
export function saveCredentials(c: Omit<Credentials, "servers"> & { servers?: string[] }, profile: string = DEFAULT_PROFILE): string {
  const path = credentialsPath(profile);
  const dir = join(configDir(), "profiles");
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  const { nodes, ...rest } = c;
  const servers = c.servers?.length ? c.servers : [c.server];
  const file = { ...rest, server: servers[0], servers, ...(nodes?.length && { nodes }) };
  writeFileSync(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
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
