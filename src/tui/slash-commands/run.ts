// Slash commands, second half: runs a command (parsed in parse.ts) against
// the server through the controller's client and store, and says which
// commands ask first. Failures throw; the controller turns them into notices.
import { NatterError, type Channel, type User } from "../../protocol/index.ts";
import type { ChatClient } from "../chat-client.ts";
import type { Target } from "../controller.ts";
import { directWith, type Action, type ChatState } from "../state.ts";
import { runDeviceCommand, type DevicePanel } from "./devices.ts";
import type { ChatCommand } from "./parse.ts";

/** What the view should do after a command. */
export interface CommandOutcome {
  open?: Target | null;
  help?: boolean;
  quit?: boolean;
  /** /link, /devices: the device panel to open. */
  panel?: DevicePanel;
}

/** The parts of the controller a command uses. */
export interface CommandContext {
  readonly client: ChatClient;
  getState(): ChatState;
  dispatch(a: Action): void;
  notify(text: string, kind?: "info" | "error"): void;
  retry(target: Target | null): Promise<number>;
  sendFile(target: Target, cmd: { path: string; caption: string; whole: string }): Promise<unknown>;
  saveMedia(media: string | null, path: string | null, target: Target | null): Promise<string | null>;
  now(): number;
}

async function findByPhone(ctx: CommandContext, phone: string): Promise<User> {
  const { user } = await ctx.client.request("findUser", { phone });
  ctx.dispatch({ type: "users", users: [user] });
  return user;
}

function openGroup(ctx: CommandContext, target: Target | null): Channel {
  const ch = target && "channel" in target ? ctx.getState().channels[target.channel] : undefined;
  if (!ch || ch.info.kind !== "group") throw new NatterError("bad_request", "open a group first");
  return ch.info;
}

/** The question to ask before a command that is hard to undo (leaving the open group), or null. */
export function confirmation(ctx: CommandContext, cmd: ChatCommand, target: Target | null): string | null {
  if (cmd.kind !== "leave") return null;
  const ch = target && "channel" in target ? ctx.getState().channels[target.channel] : undefined;
  if (!ch || ch.info.kind !== "group") return null; // running it explains what is wrong
  return `Leave ${ch.info.name}? y: leave · n: stay (coming back needs an invite)`;
}

/** Runs one command; throws NatterError (or the client's error) when it fails. */
export async function runCommand(ctx: CommandContext, cmd: ChatCommand, target: Target | null): Promise<CommandOutcome> {
  const c = ctx.client;
  switch (cmd.kind) {
    case "help":
      return { help: true };
    case "quit":
      return { quit: true };
    case "link":
    case "devices":
      return runDeviceCommand(ctx, cmd);
    case "retry":
      await ctx.retry(target);
      return {};
    case "new": {
      const u = await findByPhone(ctx, cmd.phone);
      if (u.id === ctx.getState().me?.id) throw new NatterError("bad_request", "that is your own number");
      const existing = directWith(ctx.getState(), u.id);
      return { open: existing ? { channel: existing.info.id } : { to: u.id } };
    }
    case "group": {
      const users = await Promise.all(cmd.phones.map((p) => findByPhone(ctx, p)));
      const { channel } = await c.request("createGroup", { name: cmd.name, members: users.map((u) => u.id) });
      ctx.dispatch({ type: "channel", channel });
      ctx.notify(`created ${channel.name} with ${users.map((u) => u.name).join(", ")}`);
      return { open: { channel: channel.id } };
    }
    case "add": {
      const g = openGroup(ctx, target);
      const users = await Promise.all(cmd.phones.map((p) => findByPhone(ctx, p)));
      const { channel } = await c.request("addMembers", { channel: g.id, members: users.map((u) => u.id) });
      ctx.dispatch({ type: "channel", channel });
      ctx.notify(`added ${users.map((u) => u.name).join(", ")}`);
      return {};
    }
    case "kick": {
      const g = openGroup(ctx, target);
      const u = await findByPhone(ctx, cmd.phone);
      await c.request("removeMember", { channel: g.id, user: u.id });
      ctx.notify(`removed ${u.name}`);
      return {};
    }
    case "leave": {
      const g = openGroup(ctx, target);
      await c.request("leaveGroup", { channel: g.id });
      ctx.dispatch({ type: "removeChannel", channel: g.id });
      ctx.notify(`you left ${g.name}`);
      return { open: null };
    }
    case "invite": {
      const g = openGroup(ctx, target);
      const { invite } = await c.request("createInvite", { channel: g.id });
      const text = `invite for ${g.name}: /join ${g.id} ${invite}`;
      ctx.dispatch({ type: "localEvent", channel: g.id, text, now: ctx.now() });
      ctx.notify(text);
      return {};
    }
    case "file":
      if (!target) throw new NatterError("bad_request", "open a chat first, then /file PATH");
      await ctx.sendFile(target, cmd);
      return {};
    case "save":
      await ctx.saveMedia(cmd.media, cmd.path, target);
      return {};
    case "join": {
      const params = cmd.invite ? { channel: cmd.channel, invite: cmd.invite } : { channel: cmd.channel };
      const { channel } = await c.request("joinGroup", params);
      ctx.dispatch({ type: "channel", channel });
      ctx.notify(`joined ${channel.name}`);
      return { open: { channel: channel.id } };
    }
  }
}
