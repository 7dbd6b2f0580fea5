// Display names for user ids, from what a client can see: itself, the other
// member of each direct chat (a direct channel is named after them), and
// anyone else sharing a chat, asked for with getUsers.
import type { Channel, User } from "../../protocol/index.ts";

/** getUsers over some transport (HttpApi.call, NatterClient.request). */
export type GetUsers = (ids: string[]) => Promise<{ users: User[] }>;

/** getUsers takes at most this many ids per call. */
export const GET_USERS_MAX = 200;

export class Names {
  private byId = new Map<string, string>();
  private asked = new Set<string>();

  constructor(me: User | null, channels: Channel[] = []) {
    if (me) this.byId.set(me.id, me.name);
    this.learn(channels, me?.id);
  }

  learn(channels: Channel[], meId?: string): void {
    for (const c of channels) {
      if (c.kind !== "direct") continue;
      const other = c.members.find((m) => m !== meId);
      if (other && c.name) this.byId.set(other, c.name);
    }
  }

  /**
   * Asks the server for the names of ids not known yet (each id once, 200 per call). People the
   * server leaves out (no shared chat) stay ids; a failed call leaves names as they were.
   */
  async fill(getUsers: GetUsers, ids: Iterable<string>): Promise<void> {
    const want = [...new Set(ids)].filter((id) => id && !this.byId.has(id) && !this.asked.has(id));
    for (let i = 0; i < want.length; i += GET_USERS_MAX) {
      const batch = want.slice(i, i + GET_USERS_MAX);
      try {
        const { users } = await getUsers(batch);
        for (const u of users) this.byId.set(u.id, u.name);
        for (const id of batch) this.asked.add(id);
      } catch {
        // Names are a nicety: ids are printed instead, and asked for again next time.
      }
    }
  }

  /** The name if known, else the id. */
  of(userId: string): string {
    return this.byId.get(userId) ?? userId;
  }
}

/** Every member and last sender of some channels (what `chats` and `watch` print names for). */
export function peopleIn(channels: Channel[]): string[] {
  return channels.flatMap((c) => [...c.members, ...(c.last_message ? [c.last_message.sender] : [])]);
}
