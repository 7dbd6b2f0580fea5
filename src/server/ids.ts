// Random ids, secrets and their hashes. Secrets (tokens, login codes) are never
// stored: only their SHA-256 is.

import { randomBytes, createHash } from "node:crypto";

const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"; // 32 letters, no look-alikes

/** `bytes` random bytes as lowercase base32 (5 bits per char). */
function randomBase32(chars: number): string {
  const buf = randomBytes(chars);
  let s = "";
  for (let i = 0; i < chars; i++) s += ALPHABET[buf[i]! & 31];
  return s;
}

export const newUserId = () => "u_" + randomBase32(16);
export const newDeviceId = () => "dv_" + randomBase32(16);
export const newGroupId = () => "g_" + randomBase32(20);
/** The group `creator` makes with `clientId`: the same pair always names the same group (100 bits of SHA-256). */
export function groupIdFor(creator: string, clientId: string): string {
  const h = createHash("sha256").update(`${creator}\n${clientId}`).digest();
  let s = "g_";
  for (let i = 0; i < 20; i++) s += ALPHABET[h[i]! & 31];
  return s;
}
/** 40 random base32 chars = 200 bits. */
export const newToken = () => "nt_" + randomBase32(40);
/** Human-typable login code: 12 chars (60 bits) in groups of four. */
export const newLoginCode = () => {
  const c = randomBase32(12).toUpperCase();
  return `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8, 12)}`;
};
export const newInviteCode = () => randomBase32(20);

/** Normalises a login code as typed by a person (case, spaces, dashes). */
export const normaliseCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, "");

/** What the store keeps of a login code: the SHA-256 of its normalised form. */
export const loginCodeHash = (code: string) => sha256(normaliseCode(code));

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The one direct channel of a pair, whoever writes first. */
export function directChannelId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return "d_" + sha256(`${x}\n${y}`).slice(0, 32);
}

export const messageId = (channel: string, seq: number) => `${channel}:${seq}`;

/** Parses `${channel}:${seq}`; null if malformed. */
export function parseMessageId(id: string): { channel: string; seq: number } | null {
  const i = id.lastIndexOf(":");
  if (i <= 0) return null;
  const seq = Number(id.slice(i + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return null;
  return { channel: id.slice(0, i), seq };
}
