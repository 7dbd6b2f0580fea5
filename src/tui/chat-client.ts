// The slice of the client library the TUI uses. NatterClient (src/client)
// satisfies it structurally; component tests use an in-memory fake of it.
import type {
  Device,
  HelloEvent,
  LoginResult,
  Message,
  MessageType,
  OpName,
  OpParams,
  OpResults,
  ServerEvent,
  User,
} from "../protocol/index.ts";

export type { ChangeNote, ConnState, OutgoingEntry, SendParams } from "../client/index.ts";
import type { ChangeNote, ConnState, OutgoingEntry, SendParams } from "../client/index.ts";
import type { NatterError } from "../protocol/index.ts";

export interface ChatClient {
  readonly state: ConnState;
  readonly nextRetryAt: number | null;
  readonly me: User | null;
  readonly device: Device | null;
  /** Why the client stopped trying (the server refused the token), if it did. */
  readonly error?: NatterError | null;
  /** The server URL in use or being tried (NatterClient), when known. */
  readonly server?: string;
  /** Every server URL known (given, then learned from hello). */
  readonly servers?: readonly string[];
  connect(): void;
  close(): void;
  /** While waiting to reconnect: tries now; false when no retry is waiting. */
  reconnectNow(): boolean;
  request<K extends OpName>(op: K, params: OpParams[K]): Promise<OpResults[K]>;
  sendMessage(p: SendParams): Promise<Message>;
  retry(client_id: string): Promise<Message>;
  outbox(): OutgoingEntry[];
  on(ev: "state", f: (s: ConnState) => void): () => void;
  on(ev: "hello", f: (e: HelloEvent) => void): () => void;
  on(ev: "message", f: (m: Message) => void): () => void;
  on(ev: "change", f: (c: ChangeNote) => void): () => void;
  on(ev: "event", f: (e: ServerEvent) => void): () => void;
  on(ev: "outbox", f: (entries: OutgoingEntry[]) => void): () => void;
}

/** Exchanges a login code for device credentials (the client library's `login`). */
export type LoginFn = (server: string, code: string, device: string) => Promise<LoginResult>;
