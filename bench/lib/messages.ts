// The parent <-> load-worker messages (over Bun's IPC channel).

import type { HistogramData } from "./histogram.ts";

export interface ClientSpec {
  user: string;
  token: string;
}

/** One sending role: a client that sends to a user (`to`) or a channel, and the clients that must receive each message. */
export interface SenderSpec {
  client: number;
  to?: string;
  channel?: string;
  recipients: number[];
}

export interface ReconnectPolicy {
  baseMs: number;
  capMs: number;
}

export type ToWorker =
  | { t: "connect"; wsUrl: string; clients: ClientSpec[]; concurrency: number; reconnect?: ReconnectPolicy; timeoutMs: number }
  | { t: "groups"; groups: { creator: number; members: number[]; name: string }[] }
  | { t: "first"; senders: SenderSpec[] }
  | {
      t: "run";
      startAt: number;
      warmupMs: number;
      durationMs: number;
      drainMs: number;
      rate: number;
      maxInflight: number;
      contentBytes: number;
      senders: SenderSpec[];
    }
  | { t: "history"; startAt: number; warmupMs: number; durationMs: number; channels: { id: string; last_seq: number }[]; limit: number; deepFraction: number }
  | { t: "media"; startAt: number; warmupMs: number; durationMs: number; url: string; tokens: string[]; sizeBytes: number }
  | { t: "status" }
  | { t: "close" };

export interface RunResult {
  offered: number;
  sent: number;
  acked: number;
  errors: Record<string, number>;
  skippedInflight: number;
  deliveries: number;
  /** Whole run including warm-up and drain: deliveries expected from acked messages, unique ones received, duplicates. */
  expected: number;
  unique: number;
  duplicates: number;
  /** Message events the sending connection got for its own sends (the protocol says it gets only the reply). */
  selfEchoes: number;
  lost: number;
  deliver: HistogramData;
  ack: HistogramData;
  cpuMs: number;
  windowMs: number;
}

export interface HistoryResult {
  requests: number;
  errors: Record<string, number>;
  latency: HistogramData;
  newest: HistogramData;
  deep: HistogramData;
  messages: number;
  cpuMs: number;
  windowMs: number;
}

export interface MediaResult {
  uploads: number;
  downloads: number;
  upload: HistogramData;
  download: HistogramData;
  errors: Record<string, number>;
  cpuMs: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  attempts: number;
  ms: number;
  errors: Record<string, number>;
  /** Connections that had said hello and were then closed by the server, by close code. */
  dropped?: Record<string, number>;
}

export interface StatusResult {
  open: number;
  ready: number;
  attempts: number;
  failures: number;
  /** ms since the worker's epoch (performance.now()) of the last hello, for reconnect timing. */
  lastHelloAt: number;
  now: number;
}

export type FromWorker =
  | { t: "connected"; r: ConnectResult }
  | { t: "groups"; channels: string[] }
  | { t: "first"; ok: number; errors: Record<string, number>; channels: string[] }
  | { t: "result"; r: RunResult }
  | { t: "history"; r: HistoryResult }
  | { t: "media"; r: MediaResult }
  | { t: "status"; r: StatusResult }
  | { t: "error"; message: string };
