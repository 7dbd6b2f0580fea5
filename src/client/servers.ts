// Which server a client talks to, when it knows several equivalent nodes of
// one cluster. The URLs the user gave come first, in an order shuffled once
// per client (so the clients of a dead node spread over the others instead
// of all landing on the next in the list); nodes learned from `hello` follow.
// Each move goes to the next URL, round robin. A URL can be deferred (its
// retry-after), and the wait before trying it is what is left of that.
import { baseUrl } from "./http.ts";

export interface ServerRotationOptions {
  /** The shuffle's source of [0, 1) (default Math.random; tests pin it). */
  random?: () => number;
}

function shuffled(xs: string[], random: () => number): string[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Base URLs (baseUrl) without repeats, first spelling kept; throws bad_request on one that is not http(s). */
export function uniqueServers(urls: readonly string[]): string[] {
  return [...new Set(urls.map(baseUrl))];
}

export class ServerRotation {
  private readonly given: string[];
  private learned: string[] = [];
  private order: string[];
  private url: string;
  private readonly notBefore = new Map<string, number>();
  private readonly random: () => number;

  /** `given`: one URL or several (at least one); throws bad_request on a URL that is not http(s). */
  constructor(given: string | readonly string[], opts: ServerRotationOptions = {}) {
    this.given = uniqueServers(typeof given === "string" ? [given] : given);
    if (this.given.length === 0) throw new Error("no server URL given");
    this.random = opts.random ?? Math.random;
    this.order = shuffled(this.given, this.random);
    this.url = this.order[0]!;
  }

  /** The URL in use (or being tried). */
  get current(): string {
    return this.url;
  }
  /** Every known URL: the given ones in the user's order, then the learned ones. */
  get all(): string[] {
    return [...this.given, ...this.learned];
  }
  /** The learned nodes that are not among the given URLs. */
  get learnedNodes(): string[] {
    return [...this.learned];
  }
  get size(): number {
    return this.order.length;
  }

  /** Moves to the next URL (round robin) and returns it. */
  advance(): string {
    const i = this.order.indexOf(this.url);
    this.url = this.order[(i + 1) % this.order.length]!;
    return this.url;
  }

  /**
   * Takes a node list (a hello's `nodes`): the ones not given become the
   * learned nodes (replacing the earlier ones); entries that are not http(s)
   * URLs are skipped. Returns true when the learned nodes changed.
   */
  learn(nodes: readonly unknown[]): boolean {
    const fresh: string[] = [];
    for (const n of nodes) {
      if (typeof n !== "string") continue;
      try {
        const u = baseUrl(n);
        if (!this.given.includes(u) && !fresh.includes(u)) fresh.push(u);
      } catch {}
    }
    if (fresh.length === this.learned.length && fresh.every((u) => this.learned.includes(u))) return false;
    this.learned = fresh;
    this.order = [...this.order.filter((u) => this.given.includes(u)), ...shuffled(fresh, this.random)];
    return true;
  }

  /** `url` is not to be tried before `at` (epoch ms), e.g. its retry-after; a later deferral wins. */
  defer(url: string, at: number): void {
    if (at > (this.notBefore.get(url) ?? 0)) this.notBefore.set(url, at);
  }

  /** Ms to wait before trying `url` at `now` (0 when it is not deferred). */
  waitFor(url: string, now: number): number {
    return Math.max(0, (this.notBefore.get(url) ?? 0) - now);
  }
}
