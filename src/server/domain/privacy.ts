// Privacy rules: who may find a user by phone (findUser) and who may put them
// in a group (createGroup, addMembers), each "everyone", "contacts" or
// "nobody" (docs/protocol.md "Privacy"). The operator (/admin) is not a
// user and is not subject to them; a user is never hidden from themselves.

import { NatterError, type OpParams, type Privacy } from "../../protocol/index.ts";
import { directChannelId } from "../ids.ts";
import type { PrivacyStore } from "../store/types.ts";

export type PrivacySetting = keyof Privacy;

export class PrivacyRules {
  constructor(private readonly store: PrivacyStore) {}

  get(user: string): Promise<Privacy> {
    return this.store.getPrivacy(user);
  }

  /** Changes the caller's settings; bad_request (nothing changed) if it names none. */
  async set(user: string, p: OpParams["setPrivacy"]): Promise<Privacy> {
    if (p.find_by_phone === undefined && p.add_to_groups === undefined)
      throw new NatterError("bad_request", "setPrivacy: give find_by_phone or add_to_groups (or both)");
    return this.store.setPrivacy(user, p);
  }

  /** Whether `owner`'s `setting` lets `actor` in. */
  async allows(owner: string, actor: string, setting: PrivacySetting): Promise<boolean> {
    if (owner === actor) return true;
    const audience = (await this.store.getPrivacy(owner))[setting];
    if (audience === "everyone") return true;
    if (audience === "nobody") return false;
    return this.isContact(owner, actor);
  }

  /**
   * `other` is a contact of `user` when `user` has sent at least one message in the direct chat
   * between them. The chat alone is not enough: anyone can open one by writing first, which
   * would make every stranger a "contact" of whoever they write to.
   */
  isContact(user: string, other: string): Promise<boolean> {
    return this.store.hasSent(directChannelId(user, other), user);
  }

  /** Those of `users` whose add_to_groups does not let `adder` put them in a group (in the order given). */
  async refusing(users: readonly string[], adder: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const u of users) if (!out.has(u) && !(await this.allows(u, adder, "add_to_groups"))) out.add(u);
    return out;
  }
}
