// Names for user ids the TUI only knows by id (group members, senders):
// collected for a moment, then asked for with getUsers in batches of 200.
// The server leaves out people we share no channel with; each id is asked
// once, again only after a failure or when forget() says it may now answer.
import type { User } from "../protocol/index.ts";
import type { ChatClient } from "./chat-client.ts";

/** getUsers takes at most this many ids. */
export const GET_USERS_MAX = 200;

export class NameFetcher {
  private readonly asked = new Set<string>();
  private readonly wanted = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: Pick<ChatClient, "request">,
    /** Do we already have a name for this id? */
    private readonly known: (id: string) => boolean,
    private readonly learn: (users: User[]) => void,
    private readonly delayMs = 20,
  ) {}

  /** Queues ids without a name; one request per batch goes out shortly. */
  want(ids: Iterable<string>): void {
    for (const id of ids) if (id && !this.known(id) && !this.asked.has(id)) this.wanted.add(id);
    if (this.wanted.size === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
  }

  /** Lets an id be asked again (someone joined: they may be visible now). */
  forget(id: string): void {
    this.asked.delete(id);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async flush(): Promise<void> {
    const ids = [...this.wanted];
    this.wanted.clear();
    for (const id of ids) this.asked.add(id);
    for (let i = 0; i < ids.length; i += GET_USERS_MAX) {
      const batch = ids.slice(i, i + GET_USERS_MAX);
      try {
        const { users } = await this.client.request("getUsers", { ids: batch });
        if (users.length > 0) this.learn(users);
      } catch {
        for (const id of batch) this.asked.delete(id); // asked again with the next channel list or message
      }
    }
  }
}
