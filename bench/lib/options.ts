// bench/run.ts options: parsed apart from running, with --quick defaults.

import { parseArgs } from "node:util";

export const SCENARIOS = ["sqlite", "relay", "direct", "group", "history", "media", "connect", "reconnect"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenarios: Scenario[];
  quick: boolean;
  json: boolean;
  ladder: boolean;
  workers: number;
  durationMs: number;
  warmupMs: number;
  drainMs: number;
  /** direct */
  clients: number;
  rate: number;
  address: "to" | "channel";
  sync: "full" | "normal";
  contentBytes: number;
  maxInflight: number;
  /** ladder */
  ladderStart: number;
  ladderFactor: number;
  ladderSteps: number;
  p99LimitMs: number;
  /** group */
  groups: number;
  groupSize: number;
  groupRate: number;
  /** sqlite baseline */
  sqliteConcurrency: number;
  /** history */
  historyMessages: number;
  historyChannels: number;
  historyClients: number;
  historyDir: string;
  /** media */
  mediaClients: number;
  mediaBytes: number;
  /** connect / reconnect */
  connections: number;
  /** connect: distinct users the connections are spread over (default: one user per connection). */
  connectUsers: number | null;
  reconnectClients: number;
  /** Seconds the reconnect scenario waits for everyone to be back. */
  reconnectLimitS: number;
  serverArgs: string[];
  profileDir: string | null;
  /** A natter checkout to run instead of this one (e.g. a scratch copy with a prototype change). */
  natterRoot: string | null;
  tmpDir: string | undefined;
  out: string | null;
}

export const HELP = `natter benchmarks: npm run bench -- [scenario ...] [options]

Scenarios (default: sqlite relay direct):
  sqlite     baseline: bare bun:sqlite group-commit inserts (natter's pragmas and table)
  relay      baseline: a bare Bun websocket relay, no persistence, same load as direct
  direct     C clients in pairs send 100-byte texts to each other at aggregate rate R
  group      G groups of 100 members; members send at aggregate rate R
  history    getMessages pages on a seeded store (10M messages by default)
  media      concurrent uploads and downloads of distinct 50 KiB files
  connect    N idle websockets: server RSS per connection
  reconnect  N clients reconnect after a server restart
  all        every scenario above
  cluster    1 node vs 3 nodes, cross-node latency, kill -9 failover; run alone,
             with its own options (npm run bench -- cluster --help)
  cluster-idle  N nodes (default 6) holding C idle websockets (default 100,000):
             RSS per connection per node; run alone (npm run bench -- cluster-idle --help)

Options:
  --quick                  small, short runs of every scenario (under a minute)
  --ladder                 raise the rate step by step until p99 > 50 ms (direct, relay, group)
  --json                   print results as JSON on stdout (progress stays on stderr)
  --out FILE               also write the JSON results to FILE
  --workers N              load-generator processes (default 2)
  --duration S             measured seconds per run (default 10; quick 2)
  --warmup S               warm-up seconds before measuring (default 2; quick 0.5)
  --clients C              direct: clients, in pairs (default 200)
  --rate R                 direct/relay: messages/s offered (default 10000)
  --address to|channel     direct: address sends by user id or by channel id (default channel)
  --sync full|normal       natter --sync and the sqlite baseline (default full)
  --ladder-start R         first ladder rate (default 4000)
  --ladder-factor F        rate multiplier per step (default 1.3)
  --ladder-steps N         at most N steps (default 10)
  --p99-limit MS           ladder pass limit (default 50)
  --groups G               group: groups of --group-size members (default 4 x 100)
  --group-size N
  --group-rate R           group: messages/s offered (default 2000)
  --sqlite-concurrency K   sqlite baseline: writers waiting on commit (default 256)
  --history-messages N     history: messages in the store (default 10000000; quick 100000)
  --history-channels N     history: channels they are spread over (default 100)
  --history-clients N      history: clients reading pages back to back (default 1: latency
                           without queueing behind other readers)
  --history-dir DIR        history: where the seeded data dir is kept and reused
                           (default /tmp/natter-bench-history-N)
  --media-clients N        media: clients uploading and downloading back to back (default 16)
  --media-bytes N          media: file size (default 51200)
  --connections N          connect: idle connections (default 18000; quick 1000)
  --connect-users U        connect: spread the connections over U users (several devices'
                           worth of sockets each; default one user per connection)
  --reconnect-clients N    reconnect: clients (default 18000; quick 500)
  --server-arg ARG         extra flag for natter serve (repeatable)
  --profile DIR            run natter under Bun's CPU profiler, profiles into DIR
  --natter DIR             run the natter of another checkout (e.g. a scratch copy)
  --tmp DIR                where temporary data dirs go (default: system tmp)
  -h, --help               this text

Servers under test are started on 127.0.0.1 with a rate limit raised out of
the way (--rate-burst/--rate-per-sec 10000000) and stopped at the end.
`;

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      ladder: { type: "boolean" },
      out: { type: "string" },
      workers: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      clients: { type: "string" },
      rate: { type: "string" },
      address: { type: "string" },
      sync: { type: "string" },
      "ladder-start": { type: "string" },
      "ladder-factor": { type: "string" },
      "ladder-steps": { type: "string" },
      "p99-limit": { type: "string" },
      groups: { type: "string" },
      "group-size": { type: "string" },
      "group-rate": { type: "string" },
      "sqlite-concurrency": { type: "string" },
      "history-messages": { type: "string" },
      "history-channels": { type: "string" },
      "history-dir": { type: "string" },
      "history-clients": { type: "string" },
      connections: { type: "string" },
      "connect-users": { type: "string" },
      "media-clients": { type: "string" },
      "media-bytes": { type: "string" },
      "reconnect-clients": { type: "string" },
      "server-arg": { type: "string", multiple: true },
      profile: { type: "string" },
      natter: { type: "string" },
      tmp: { type: "string" },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const num = (k: keyof typeof values, def: number, min = 0): number => {
    const v = values[k];
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${k} must be a number >= ${min} (got ${JSON.stringify(v)})`);
    return n;
  };
  let scenarios: Scenario[] = [];
  for (const p of positionals) {
    if (p === "all") scenarios.push(...SCENARIOS);
    else if (p === "ladder") scenarios.push("direct");
    else if ((SCENARIOS as readonly string[]).includes(p)) scenarios.push(p as Scenario);
    else throw new UsageError(`unknown scenario ${JSON.stringify(p)} (one of ${SCENARIOS.join(", ")}, all)`);
  }
  if (positionals.includes("ladder")) values.ladder = true;
  if (scenarios.length === 0) scenarios = quick ? [...SCENARIOS] : ["sqlite", "relay", "direct"];
  scenarios = SCENARIOS.filter((s) => scenarios.includes(s));
  const address = values.address ?? "channel";
  if (address !== "to" && address !== "channel") throw new UsageError("--address must be to or channel");
  const sync = values.sync ?? "full";
  if (sync !== "full" && sync !== "normal") throw new UsageError("--sync must be full or normal");
  const historyMessages = num("history-messages", quick ? 100_000 : 10_000_000, 1000);
  return {
    scenarios,
    quick,
    json: values.json === true,
    ladder: values.ladder === true,
    workers: num("workers", 2, 1),
    durationMs: num("duration", quick ? 2 : 10, 0.5) * 1000,
    warmupMs: num("warmup", quick ? 0.5 : 2, 0) * 1000,
    drainMs: 5000,
    clients: Math.max(2, Math.floor(num("clients", quick ? 100 : 200, 2) / 2) * 2),
    rate: num("rate", quick ? 5000 : 10_000, 1),
    address,
    sync,
    contentBytes: 100,
    maxInflight: 1000,
    ladderStart: num("ladder-start", 4000, 1),
    ladderFactor: num("ladder-factor", 1.3, 1.01),
    ladderSteps: num("ladder-steps", quick ? 3 : 10, 1),
    p99LimitMs: num("p99-limit", 50, 1),
    groups: num("groups", quick ? 2 : 4, 1),
    groupSize: num("group-size", 100, 2),
    groupRate: num("group-rate", quick ? 1000 : 2000, 1),
    sqliteConcurrency: num("sqlite-concurrency", 256, 1),
    historyMessages,
    historyChannels: num("history-channels", quick ? 20 : 100, 1),
    historyClients: num("history-clients", 1, 1),
    historyDir: values["history-dir"] ?? `/tmp/natter-bench-history-${historyMessages}`,
    mediaClients: num("media-clients", quick ? 8 : 16, 1),
    mediaBytes: num("media-bytes", 50 * 1024, 1),
    connections: num("connections", quick ? 1000 : 18_000, 1),
    connectUsers: values["connect-users"] === undefined ? null : num("connect-users", 1, 1),
    reconnectClients: num("reconnect-clients", quick ? 500 : 18_000, 1),
    reconnectLimitS: quick ? 20 : 60,
    serverArgs: values["server-arg"] ?? [],
    profileDir: values.profile ?? null,
    natterRoot: values.natter ?? null,
    tmpDir: values.tmp,
    out: values.out ?? null,
  };
}
