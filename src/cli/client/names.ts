// Display names for user ids, from what a client can see: itself, and the
// other member of each direct chat (a direct channel is named after them).
import type { Channel, User } from "../../protocol/index.ts";

export class Names {
  private byId = new Map<string, string>();

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

  /** The name if known, else the id. */
  of(userId: string): string {
    return this.byId.get(userId) ?? userId;
  }
}
