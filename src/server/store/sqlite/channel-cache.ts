// The channel state read on every send (channel row and members), kept in
// memory on the main thread, bounded. Exact because the writer thread is the
// only writer of the shards: `apply` sees every committed write that changes a
// channel, before any caller resumes; a rolled-back commit clears it all.

import type { ChannelState } from "../types.ts";
import type { Settled } from "../write-ops.ts";

/** Channels kept (their rows and members). */
const CHANNEL_CACHE_MAX = 20_000;

export class ChannelCache {
  private readonly channels = new Map<string, ChannelState>();

  get(id: string): ChannelState | undefined {
    return this.channels.get(id);
  }

  remember(state: ChannelState): void {
    if (this.channels.size >= CHANNEL_CACHE_MAX && !this.channels.has(state.channel.id)) {
      this.channels.delete(this.channels.keys().next().value!); // oldest entry
    }
    this.channels.set(state.channel.id, state);
  }

  clear(): void {
    this.channels.clear();
  }

  /** Brings the entry a committed write changed up to date. */
  apply(w: Settled): void {
    switch (w.op) {
      case "createChannel":
      case "changeMembers":
      case "joinByInvite":
      case "removeAndBar":
        return this.remember(w.value);
      case "appendMessage": {
        const cached = this.channels.get(w.args.channel);
        if (cached && "seq" in w.value && w.value.seq > cached.channel.last_seq) cached.channel.last_seq = w.value.seq;
        return;
      }
      case "applyChange": {
        const cached = this.channels.get(w.args.channel);
        if (cached && w.value.change && w.value.change.seq > cached.channel.last_seq) cached.channel.last_seq = w.value.change.seq;
        return;
      }
      case "advanceCursor": {
        const me = this.channels.get(w.args.channel)?.members.find((m) => m.user_id === w.args.user);
        if (me) {
          me.delivered_seq = w.value.delivered_seq;
          me.seen_seq = w.value.seen_seq;
        }
        return;
      }
    }
  }
}
