// One schema per op, shared by server (validation at the edge) and clients.
// A tiny declarative validator: it checks types, ranges and required fields
// and drops unknown fields, so handlers receive exactly the typed params.

import { MESSAGE_TYPES, PRIVACY_AUDIENCES, type DeleteScope, type JoinPolicy, type MessageType } from "./types.ts";

/** One field of a schema: its type and bounds. Config options use the same kinds. */
export type FieldSpec =
  | { kind: "string"; optional?: boolean; min?: number; max?: number }
  | { kind: "int"; optional?: boolean; min?: number; max?: number }
  | { kind: "enum"; optional?: boolean; values: readonly string[] }
  | { kind: "ids"; optional?: boolean; max?: number };

/** A request's fields by name: one per op (OP_SCHEMAS) and per HTTP route that is not an op. */
export type Schema = Record<string, FieldSpec>;

const ID = { kind: "string", min: 1, max: 200 } as const;
const OPT_ID = { kind: "string", min: 1, max: 200, optional: true } as const;
const SEQ = { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const OPT_SEQ = { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER, optional: true } as const;

/** Params of each op. Content length in bytes is a server limit, checked there. */
export const OP_SCHEMAS = {
  getAll: {},
  getMessages: {
    channel: ID,
    before_seq: OPT_SEQ,
    after_seq: OPT_SEQ,
    limit: { kind: "int", optional: true, min: 1, max: 200 },
  },
  sendMessage: {
    channel: OPT_ID,
    to: OPT_ID,
    client_id: { kind: "string", min: 1, max: 128 },
    type: { kind: "enum", values: MESSAGE_TYPES },
    content: { kind: "string", optional: true, max: 16 * 1024 * 1024 },
    media: OPT_ID,
    reply_to: OPT_ID,
  },
  createGroup: {
    name: { kind: "string", min: 1, max: 200 },
    description: { kind: "string", optional: true, max: 2000 },
    avatar_url: { kind: "string", optional: true, max: 2000 },
    members: { kind: "ids", optional: true, max: 1000 },
    join: { kind: "enum", optional: true, values: ["invite", "open"] },
    // Addition: the same creator and client_id always name the same group (a retry returns it).
    client_id: { kind: "string", optional: true, min: 1, max: 128 },
  },
  // max_uses and expires_in_ms are additions, each at most the server's limit (bad_request above it).
  createInvite: {
    channel: ID,
    max_uses: { kind: "int", optional: true, min: 1, max: Number.MAX_SAFE_INTEGER },
    expires_in_ms: { kind: "int", optional: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  },
  joinGroup: { channel: ID, invite: OPT_ID },
  leaveGroup: { channel: ID },
  addMembers: { channel: ID, members: { kind: "ids", max: 1000 } },
  removeMember: { channel: ID, user: ID },
  markDelivered: { channel: ID, seq: SEQ },
  markSeen: { channel: ID, seq: SEQ },
  typing: { channel: ID, state: { kind: "enum", values: ["start", "stop"] } },
  findUser: { phone: { kind: "string", min: 1, max: 40 } },
  getUsers: { ids: { kind: "ids", max: 200 } },
  ping: {},
  // Self-service devices (additions): link a new device, list and revoke the caller's own.
  linkDevice: {},
  listDevices: {},
  revokeDevice: { device: ID },
  // Group invites (additions): revoke one, list the live ones (group admins).
  revokeInvite: { channel: ID, invite: ID },
  listInvites: { channel: ID },
  // Privacy (additions): the caller's own settings; setPrivacy needs at least one of its fields.
  getPrivacy: {},
  setPrivacy: {
    find_by_phone: { kind: "enum", optional: true, values: PRIVACY_AUDIENCES },
    add_to_groups: { kind: "enum", optional: true, values: PRIVACY_AUDIENCES },
  },
  // Edits, deletes and reactions (additions): content limits and the emoji rule are checked by the server.
  editMessage: { channel: ID, seq: SEQ, content: { kind: "string", max: 16 * 1024 * 1024 } },
  deleteMessage: { channel: ID, seq: SEQ, scope: { kind: "enum", values: ["everyone", "me"] } },
  react: { channel: ID, seq: SEQ, emoji: { kind: "string", max: 64 } },
} as const satisfies Record<string, Schema>;

export type OpName = keyof typeof OP_SCHEMAS;
export const OP_NAMES = Object.keys(OP_SCHEMAS) as OpName[];

type FieldType<F> = F extends { kind: "string" }
  ? string
  : F extends { kind: "int" }
    ? number
    : F extends { kind: "enum"; values: readonly (infer V)[] }
      ? V
      : F extends { kind: "ids" }
        ? string[]
        : never;
type IsOptional<F> = F extends { optional: true } ? true : false;
/** The typed params a schema lets through. */
export type ParamsOf<S> = {
  [K in keyof S as IsOptional<S[K]> extends true ? never : K]: FieldType<S[K]>;
} & {
  [K in keyof S as IsOptional<S[K]> extends true ? K : never]?: FieldType<S[K]>;
};

/** Typed params of each op, derived from its schema. */
export type OpParams = { [K in OpName]: ParamsOf<(typeof OP_SCHEMAS)[K]> };

// Narrow the enum-typed fields to their union types for handlers' convenience.
export type SendMessageParams = OpParams["sendMessage"] & { type: MessageType };
export type DeleteMessageParams = OpParams["deleteMessage"] & { scope: DeleteScope };
export type CreateGroupParams = OpParams["createGroup"] & { join?: JoinPolicy };

/** POST /api/login: not an op, it is how a device gets its token. */
export const LOGIN_SCHEMA = {
  code: { kind: "string", min: 1, max: 100 },
  device: { kind: "string", optional: true },
} as const satisfies Schema;
export type LoginParams = ParamsOf<typeof LOGIN_SCHEMA>;

export function isOpName(op: unknown): op is OpName {
  return typeof op === "string" && Object.hasOwn(OP_SCHEMAS, op);
}

export type Validation<T> = { ok: true; value: T } | { ok: false; message: string };

/** Validates `input` against the op's schema; unknown fields are dropped. */
export function validateParams<K extends OpName>(op: K, input: unknown): Validation<OpParams[K]> {
  return validate(OP_SCHEMAS[op], input) as Validation<OpParams[K]>;
}

/**
 * Validates `input` against a schema: types, bounds, required fields; unknown fields are dropped.
 * Strings must be well-formed UTF-16 (a lone surrogate is refused: "k\ud800" and "k\udc00" would
 * both be stored as "k\ufffd" and collide).
 */
export function validate<S extends Schema>(schema: S, input: unknown): Validation<ParamsOf<S>> {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, message: "params must be a JSON object" };
  }
  const src = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name in schema) {
    const spec: FieldSpec = schema[name]!;
    const v = src[name];
    if (v === undefined || v === null) {
      if (!spec.optional) return { ok: false, message: `${name} is required` };
      continue;
    }
    const err = checkField(name, spec, v);
    if (err) return { ok: false, message: err };
    out[name] = v;
  }
  return { ok: true, value: out as ParamsOf<S> };
}

/** Why `v` does not fit `spec` (a sentence naming `name`), or null if it fits. */
export function checkField(name: string, spec: FieldSpec, v: unknown): string | null {
  switch (spec.kind) {
    case "string":
      if (typeof v !== "string") return `${name} must be a string`;
      if (!v.isWellFormed()) return `${name} is not valid Unicode (lone surrogate)`;
      if (spec.min !== undefined && v.length < spec.min) return `${name} must not be empty`;
      if (spec.max !== undefined && v.length > spec.max) return `${name} is longer than ${spec.max} characters`;
      return null;
    case "int":
      if (typeof v !== "number" || !Number.isSafeInteger(v)) return `${name} must be an integer`;
      if (spec.min !== undefined && v < spec.min) return `${name} must be at least ${spec.min}`;
      if (spec.max !== undefined && v > spec.max) return `${name} must be at most ${spec.max}`;
      return null;
    case "enum":
      if (typeof v !== "string" || !spec.values.includes(v)) return `${name} must be one of ${spec.values.join(", ")}`;
      return null;
    case "ids":
      if (!Array.isArray(v)) return `${name} must be an array of ids`;
      if (spec.max !== undefined && v.length > spec.max) return `${name} has more than ${spec.max} entries`;
      for (const x of v) if (typeof x !== "string" || x.length === 0 || x.length > 200 || !x.isWellFormed()) return `${name} must be an array of ids`;
      return null;
  }
}
