// The rules of a membership change, shared by both Store backends: who is
// added (only those not already current members, within the group cap), who
// is removed (a current member), at which seq. Each backend then writes them.

import { NatterError } from "../../protocol/index.ts";
import type { ChannelState, MemberChange } from "./types.ts";

/** What `change` does to `state` (null = no such channel): the seq it happens at and the users it adds. Throws on a broken rule. */
export function planMemberChange(state: ChannelState | null, change: MemberChange): { last: number; fresh: string[] } {
  if (!state) throw new NatterError("not_found", "no such channel");
  const current = new Set(state.members.filter((m) => m.left_seq === null).map((m) => m.user_id));
  if (change.kind === "remove") {
    if (!current.has(change.user)) throw new NatterError("not_found", "not a member of this group");
    return { last: state.channel.last_seq, fresh: [] };
  }
  const fresh = [...new Set(change.users)].filter((u) => !current.has(u));
  if (current.size + fresh.length > change.max)
    throw new NatterError("group_full", `a group holds at most ${change.max} members (it has ${current.size})`);
  return { last: state.channel.last_seq, fresh };
}
