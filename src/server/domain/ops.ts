// The op dispatcher shared by the websocket and the HTTP mirror: validates
// params against the op's schema, then runs it as the caller.

import {
  NatterError,
  isOpName,
  validateParams,
  type CreateGroupParams,
  type OpName,
  type OpParams,
  type SendMessageParams,
} from "../../protocol/index.ts";
import type { Chat } from "./chat.ts";
import { DEVICE_OPS, isDeviceOp, type DeviceOp, type Devices } from "./devices.ts";
import type { Caller } from "./ports.ts";

type Handler<K extends OpName> = (chat: Chat, caller: Caller, p: OpParams[K]) => Promise<Record<string, unknown>>;

const HANDLERS: { [K in Exclude<OpName, DeviceOp>]: Handler<K> } = {
  getAll: async (chat, c) => ({ channels: await chat.getAll(c) }),
  getMessages: (chat, c, p) => chat.getMessages(c, p),
  sendMessage: async (chat, c, p) => ({ message: await chat.sendMessage(c, p as SendMessageParams) }),
  createGroup: async (chat, c, p) => ({ channel: await chat.createGroup(c.user, p as CreateGroupParams) }),
  createInvite: async (chat, c, p) => ({ invite: await chat.createInvite({ user: c.user }, p.channel) }),
  joinGroup: async (chat, c, p) => ({ channel: await chat.joinGroup(c.user, p) }),
  leaveGroup: async (chat, c, p) => (await chat.removeMember({ user: c.user }, p.channel, c.user), {}),
  addMembers: async (chat, c, p) => ({ channel: await chat.addMembers({ user: c.user }, p.channel, p.members) }),
  removeMember: async (chat, c, p) => (await chat.removeMember({ user: c.user }, p.channel, p.user), {}),
  markDelivered: async (chat, c, p) => (await chat.mark(c, p, "delivered"), {}),
  markSeen: async (chat, c, p) => (await chat.mark(c, p, "seen"), {}),
  typing: async (chat, c, p) => (await chat.typing(c, p), {}),
  findUser: async (chat, _c, p) => ({ user: await chat.findUser(p.phone) }),
  getUsers: async (chat, c, p) => ({ users: await chat.getUsers(c.user, p.ids) }),
  ping: async () => ({ at: Date.now() }),
};

/** Runs `op` with raw params; throws NatterError for unknown ops and bad params. */
export async function dispatch(chat: Chat, caller: Caller, op: unknown, params: unknown, devices: Devices): Promise<Record<string, unknown>> {
  if (!isOpName(op)) throw new NatterError("bad_request", `unknown op: ${String(op).slice(0, 64)}`);
  const v = validateParams(op, params);
  if (!v.ok) throw new NatterError("bad_request", `${op}: ${v.message}`);
  if (isDeviceOp(op)) return (DEVICE_OPS[op] as (typeof DEVICE_OPS)[DeviceOp])(devices, caller, v.value as never);
  return (HANDLERS[op] as Handler<typeof op>)(chat, caller, v.value);
}
