// The op dispatcher shared by the websocket and the HTTP mirror: validates
// params against the op's schema, then runs it as the caller. Each handler
// returns its op's result type (OpResults in src/protocol).

import {
  NatterError,
  isOpName,
  validateParams,
  type CreateGroupParams,
  type OpName,
  type OpParams,
  type OpResults,
  type SendMessageParams,
} from "../../protocol/index.ts";
import type { Chat } from "./chat.ts";
import { DEVICE_OPS, isDeviceOp, type DeviceOp, type Devices } from "./devices.ts";
import type { Caller } from "./ports.ts";

type Handler<K extends OpName> = (chat: Chat, caller: Caller, p: OpParams[K]) => Promise<OpResults[K]>;

const HANDLERS: { [K in Exclude<OpName, DeviceOp>]: Handler<K> } = {
  getAll: async (chat, c) => ({ channels: await chat.getAll(c) }),
  getMessages: (chat, c, p) => chat.getMessages(c, p),
  sendMessage: async (chat, c, p) => ({ message: await chat.sendMessage(c, p as SendMessageParams) }),
  createGroup: (chat, c, p) => chat.createGroup(c.user, p as CreateGroupParams),
  createInvite: (chat, c, p) => chat.createInvite({ user: c.user }, p),
  revokeInvite: async (chat, c, p) => (await chat.revokeInvite({ user: c.user }, p.channel, p.invite), {}),
  listInvites: async (chat, c, p) => ({ invites: await chat.listInvites({ user: c.user }, p.channel) }),
  joinGroup: async (chat, c, p) => ({ channel: await chat.joinGroup(c.user, p) }),
  leaveGroup: async (chat, c, p) => (await chat.removeMember({ user: c.user }, p.channel, c.user), {}),
  addMembers: (chat, c, p) => chat.addMembers({ user: c.user }, p.channel, p.members),
  removeMember: async (chat, c, p) => (await chat.removeMember({ user: c.user }, p.channel, p.user), {}),
  markDelivered: async (chat, c, p) => (await chat.mark(c, p, "delivered"), {}),
  markSeen: async (chat, c, p) => (await chat.mark(c, p, "seen"), {}),
  typing: async (chat, c, p) => (await chat.typing(c, p), {}),
  findUser: async (chat, c, p) => ({ user: await chat.findUser(c.user, p.phone) }),
  getUsers: async (chat, c, p) => ({ users: await chat.getUsers(c.user, p.ids) }),
  ping: async () => ({ at: Date.now() }),
  getPrivacy: async (chat, c) => ({ privacy: await chat.privacy.get(c.user) }),
  setPrivacy: async (chat, c, p) => ({ privacy: await chat.privacy.set(c.user, p) }),
  editMessage: async (chat, c, p) => ({ message: await chat.change(c, { channel: p.channel, seq: p.seq, kind: "edit", content: p.content }) }),
  deleteMessage: async (chat, c, p) => (await chat.change(c, { channel: p.channel, seq: p.seq, kind: p.scope === "me" ? "hide" : "delete" }), {}),
  react: async (chat, c, p) => (await chat.change(c, { channel: p.channel, seq: p.seq, kind: "react", emoji: p.emoji }), {}),
};

/**
 * An op on the domain as one function call: the seam between transport and
 * domain, where a cluster would run the op here or on the channel's owner
 * node. Validates the raw params against the op's schema and runs the op as
 * the caller; throws NatterError (bad_request for an unknown op or bad params).
 */
export interface Dispatch {
  <K extends OpName>(op: K, caller: Caller, params: OpParams[K]): Promise<OpResults[K]>;
  (op: string, caller: Caller, params: unknown): Promise<OpResults[OpName]>;
}

/** The dispatcher of this node: every op runs locally, on `chat` or (the caller's own devices) `devices`. */
export function createDispatch(chat: Chat, devices: Devices): Dispatch {
  return async (op: string, caller: Caller, params: unknown) => {
    if (!isOpName(op)) throw new NatterError("bad_request", `unknown op: ${String(op).slice(0, 64)}`);
    const v = validateParams(op, params);
    if (!v.ok) throw new NatterError("bad_request", `${op}: ${v.message}`);
    if (isDeviceOp(op)) return (DEVICE_OPS[op] as (typeof DEVICE_OPS)[DeviceOp])(devices, caller, v.value as never);
    return (HANDLERS[op] as Handler<typeof op>)(chat, caller, v.value);
  };
}
