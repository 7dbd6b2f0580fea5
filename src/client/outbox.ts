// The queue of messages this client is sending: FIFO, each entry keeps its
// client_id for life so a resend after a disconnect or rate limit is
// deduplicated by the server. Pure bookkeeping; the client drives it.
import type { Message, MessageType, NatterError, WireError } from "../protocol/index.ts";

export interface OutgoingEntry {
  client_id: string;
  channel?: string;
  to?: string;
  type: MessageType;
  content: string;
  media?: string;
  reply_to?: string;
  status: "queued" | "sending" | "failed";
  error?: WireError;
  created_at: number;
}

interface Waiter {
  resolve(m: Message): void;
  reject(e: NatterError): void;
}

/** Errors after which the same send is tried again (same client_id). */
export function isRetryable(e: NatterError): boolean {
  return e.code === "rate_limited" || e.code === "unavailable";
}

export class Outbox {
  private entries: OutgoingEntry[] = [];
  private waiters = new Map<string, Waiter[]>();

  /** Snapshot (copies) of every entry, oldest first. */
  list(): OutgoingEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  get(clientId: string): OutgoingEntry | undefined {
    return this.entries.find((e) => e.client_id === clientId);
  }

  /** Adds a queued entry; the promise settles when it is stored or fails. */
  add(e: Omit<OutgoingEntry, "status" | "created_at" | "error">): Promise<Message> {
    this.entries.push({ ...e, status: "queued", created_at: Date.now() });
    return this.wait(e.client_id);
  }

  /** A promise for an entry's outcome. */
  wait(clientId: string): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const w = this.waiters.get(clientId) ?? [];
      w.push({ resolve, reject });
      this.waiters.set(clientId, w);
    });
  }

  /** The oldest entry waiting to go out. */
  nextQueued(): OutgoingEntry | undefined {
    return this.entries.find((e) => e.status === "queued");
  }

  setStatus(clientId: string, status: OutgoingEntry["status"], error?: WireError): void {
    const e = this.get(clientId);
    if (!e) return;
    e.status = status;
    if (error) e.error = error;
    else delete e.error;
  }

  /** The server stored it: the entry leaves the outbox and its waiters resolve. */
  succeed(clientId: string, m: Message): void {
    this.entries = this.entries.filter((e) => e.client_id !== clientId);
    for (const w of this.take(clientId)) w.resolve(m);
  }

  /** A final error: the entry stays, marked failed, and its waiters reject. */
  fail(clientId: string, err: NatterError): void {
    this.setStatus(clientId, "failed", err.toWire());
    for (const w of this.take(clientId)) w.reject(err);
  }

  /** Rejects every waiter (e.g. the client was closed) without changing entries. */
  rejectAll(err: NatterError): void {
    const all = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of all) w.reject(err);
  }

  private take(clientId: string): Waiter[] {
    const w = this.waiters.get(clientId) ?? [];
    this.waiters.delete(clientId);
    return w;
  }
}
