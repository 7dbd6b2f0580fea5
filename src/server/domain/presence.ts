// Presence: online when a user's first device connects, offline (with
// last_seen persisted) when the last one goes; told to users who share a channel.

import type { PresenceEvent } from "../../protocol/index.ts";
import type { AccountStore, ChannelStore, UserLookup } from "../store/types.ts";
import type { Delivery } from "./ports.ts";

/** A user's presence as the protocol tells it: online now, or offline since last_seen. */
export async function presenceOf(store: UserLookup, delivery: Delivery, user: string): Promise<PresenceEvent> {
  const online = delivery.isOnline(user);
  const last_seen = online ? null : ((await store.getUser(user))?.last_seen ?? null);
  return { ev: "presence", user, online, last_seen };
}

export class Presence {
  constructor(private readonly store: AccountStore & ChannelStore, private readonly delivery: Delivery) {}

  /** Users who share a current channel with `user`. */
  async contacts(user: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of await this.store.userChannels(user)) {
      const s = await this.store.getChannel(id);
      if (!s || !s.members.some((m) => m.user_id === user && m.left_seq === null)) continue;
      for (const m of s.members) if (m.left_seq === null && m.user_id !== user) out.add(m.user_id);
    }
    return out;
  }

  async online(user: string): Promise<void> {
    const ev: PresenceEvent = { ev: "presence", user, online: true, last_seen: null };
    this.delivery.toUsers(await this.contacts(user), JSON.stringify(ev));
  }

  async offline(user: string): Promise<void> {
    const at = Date.now();
    await this.store.setLastSeen(user, at);
    const ev: PresenceEvent = { ev: "presence", user, online: false, last_seen: at };
    this.delivery.toUsers(await this.contacts(user), JSON.stringify(ev));
  }

  /** Presence of every contact, sent to a connection right after hello. */
  async snapshot(user: string): Promise<PresenceEvent[]> {
    const out: PresenceEvent[] = [];
    for (const c of await this.contacts(user)) out.push(await presenceOf(this.store, this.delivery, c));
    return out;
  }
}
