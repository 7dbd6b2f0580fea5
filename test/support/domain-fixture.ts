// Test support for the domain's unit tests (not production code: nothing in
// the server imports it). The domain on real parts: the SQLite store and the
// media service in a temp directory, and a Delivery that records every event
// instead of sending it, so a test can say who was told what.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerEvent, User } from "../../src/protocol/index.ts";
import { createLogger } from "../../src/server/log.ts";
import { LocalBlobStore } from "../../src/server/media/blob-store.ts";
import { MediaService } from "../../src/server/media/media-service.ts";
import { Metrics } from "../../src/server/metrics.ts";
import { SqliteStore } from "../../src/server/store/sqlite/sqlite-store.ts";
import { Accounts } from "../../src/server/domain/accounts.ts";
import { Admin, type NodeStats } from "../../src/server/domain/admin.ts";
import { Devices } from "../../src/server/domain/devices.ts";
import { Chat, type ChatLimits } from "../../src/server/domain/chat.ts";
import { createDispatch, type Dispatch } from "../../src/server/domain/ops.ts";
import type { Caller, ConnRef, Delivery } from "../../src/server/domain/ports.ts";

/** One recorded delivery: the event, the users it was addressed to, and the connection skipped. */
export interface Sent {
  event: ServerEvent;
  to: string[];
  except?: ConnRef;
}

/** A Delivery that records instead of sending. `online` says who isOnline. */
export class RecordingDelivery implements Delivery {
  readonly sent: Sent[] = [];
  readonly closed: { kind: "device" | "user"; id: string; code: number }[] = [];
  readonly online = new Set<string>();

  toUsers(users: Iterable<string>, frame: string, except?: ConnRef): void {
    this.sent.push({ event: JSON.parse(frame) as ServerEvent, to: [...users], except });
  }

  toChannel(_channel: string, members: readonly string[], frame: string, except?: ConnRef): void {
    this.sent.push({ event: JSON.parse(frame) as ServerEvent, to: [...members], except });
  }

  isOnline(user: string): boolean {
    return this.online.has(user);
  }

  closeDevice(device: string, code: number): void {
    this.closed.push({ kind: "device", id: device, code });
  }

  closeUser(user: string, code: number): void {
    this.closed.push({ kind: "user", id: user, code });
  }

  /** Deliveries recorded after `mark` (a length of `sent` taken earlier) whose event is of kind `ev`. */
  since<E extends ServerEvent["ev"]>(mark: number, ev?: E): (Sent & { event: Extract<ServerEvent, { ev: E }> })[] {
    return this.sent.slice(mark).filter((s) => ev === undefined || s.event.ev === ev) as (Sent & { event: Extract<ServerEvent, { ev: E }> })[];
  }
}

export interface DomainFixture {
  store: SqliteStore;
  delivery: RecordingDelivery;
  metrics: Metrics;
  media: MediaService;
  accounts: Accounts;
  chat: Chat;
  admin: Admin;
  dispatch: Dispatch;
  /** Creates a user (through Accounts) and returns them with a Caller on a fresh device id. */
  user(name: string): Promise<User & { caller: Caller }>;
  /** Uploads `bytes` as `user`; returns the media id. */
  upload(user: string, bytes: Uint8Array): Promise<string>;
  /** Closes the store and removes the directory. */
  close(): Promise<void>;
}

/** The node numbers Admin.stats reports in these tests. */
export const TEST_NODE: NodeStats = { connections: 7, uptime_ms: 1234, rss_bytes: 5678 };

let phones = 0;

/** Opens the domain on a fresh data directory; limits default to the server's defaults. */
export function openDomain(limits: Partial<ChatLimits> = {}): DomainFixture {
  const dir = mkdtempSync(join(tmpdir(), "natter-domain-"));
  const store = new SqliteStore({ dir, shards: 2, synchronous: "normal" });
  const delivery = new RecordingDelivery();
  const metrics = new Metrics();
  const log = createLogger("error", () => {});
  const media = new MediaService(store, new LocalBlobStore(join(dir, "media")), metrics, log, {
    maxUploadBytes: 1 << 20,
    quotaBytes: 0,
    orphanAgeMs: 60_000,
    sweepIntervalMs: 60_000,
  });
  const accounts = new Accounts(store, delivery, 60_000);
  const chat = new Chat(store, delivery, { maxMessageBytes: 64 * 1024, maxGroupMembers: 100, inviteTtlMs: 60_000, inviteMaxUses: 100, ...limits }, metrics, media);
  const admin = new Admin(store, accounts, chat, delivery, () => TEST_NODE);
  let devices = 0;
  return {
    store,
    delivery,
    metrics,
    media,
    accounts,
    chat,
    admin,
    dispatch: createDispatch(chat, new Devices(store, delivery, { linkCodeTtlMs: 60_000, maxLinkCodes: 5 })),
    async user(name) {
      // Valid numbers (Washington DC, 555 exchange), one per user in this process.
      const { user } = await accounts.createUser(name, `+1202555${String(++phones).padStart(4, "0")}`);
      return { ...user, caller: { user: user.id, device: `dv_test${++devices}` } };
    },
    async upload(user, bytes) {
      const info = await media.upload(user, { body: new Blob([bytes]).stream(), length: bytes.length, filename: "f.bin" });
      return info.id;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The error a promise rejects with, or null if it resolves. (Not `expect(p).rejects`:
 * bun test waits for a pending promise there without delivering the store's worker messages.)
 */
export const failure = (p: Promise<unknown>): Promise<{ code?: string; message?: string } | null> =>
  p.then(
    () => null,
    (e: unknown) => e as { code?: string; message?: string },
  );
