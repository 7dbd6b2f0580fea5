// The crash-consistency loop: a real server on one data dir is killed with
// SIGKILL at random (seeded) moments under mixed traffic (1:1 and group sends,
// group changes add / remove / leave, receipts, uploads with media messages,
// edits of one's own messages and reactions),
// restarted, and checked after each restart:
// - every acknowledged message is present exactly once, at its seq, as sent
//   (or as last edited: an edit cut off by the kill may or may not have landed);
// - seqs are dense per channel and match the channel's last_seq;
// - membership is the same from the channel's side and the users' side: a
//   user reads a channel's history (has a member row) iff getAll lists it;
// - no half-written media: no upload temp file is left, and every
//   acknowledged upload downloads whole (its row's blob exists).
// With `replica`, the server replicates to a directory with Litestream, and
// half the kills (seeded) take Litestream down at the same instant (the
// machine dying) instead of letting it follow natter out. After the kills
// the replica is checked (`replica.every`), restored while the server is down
// (before the restart, so nothing shipped later helps) with `natter admin
// restore` into a temp dir, which must succeed (every shard passes
// integrity_check); a server started on the restored dir must open and:
// - every message in it is in the data dir identically (channel, seq,
//   sender, client id, content, media);
// - its seqs are dense and match its channels' last_seq;
// - every message acknowledged more than the recovery point (1 s) before
//   the last kill is in it, and its media downloads whole.
// Used by test/e2e/crash-loop.test.ts (a few kills) and scripts/soak.ts.

import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeUser, runCli, startServer, tempDir, until, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { bytes, uploadOk } from "../e2e/media-helpers.ts";

export interface CrashLoopOptions {
  kills: number;
  seed: number;
  dataDir: string;
  /** Progress lines (one per kill). */
  log?: (line: string) => void;
  /** Replicate to this directory (--replica) and check the replica after every `every`-th kill and after the last. */
  replica?: { dir: string; every: number };
}

/** The documented recovery point at the default intervals (docs/operations.md). */
export const RPO_MS = 1000;

export interface ReplicaCheckResult {
  /** Replica checks made (a restore and a server on it each). */
  checks: number;
  /** Messages found in the restored replicas and compared with the data dir. */
  messages: number;
  /** Acknowledged messages older than the recovery point at a check's kill, each found in the replica. */
  withinRpo: number;
  /** Acknowledged messages newer than that, not (yet) in the replica, and the oldest of them (ms before its kill). */
  lost: number;
  oldestLostMs: number;
  /** Kills that took Litestream down at once (the rest let it follow natter within ~1 s). */
  litestreamKills: number;
  /** Restore times (ms, CLI process included). */
  restoreMs: number[];
}

export interface CrashLoopResult {
  kills: number;
  acked: number;
  checkedMessages: number;
  uploads: number;
  groupChanges: number;
  receipts: number;
  /** Acknowledged edits and reactions. */
  changes: number;
  /** With `replica`: what the replica checks saw. */
  replica: ReplicaCheckResult | null;
  /** Broken invariants, each a line; empty when all held. */
  violations: string[];
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Acked {
  channel: string;
  seq: number;
  sender: string;
  client_id: string;
  content: string;
  media: string | null;
  /** When the reply arrived (Date.now()). */
  at: number;
  /** Upload size for a media message. */
  size?: number;
  /** Edits sent since the last acknowledged one (or the send): any of them may have committed before a kill. */
  maybe?: Set<string>;
}

const FAST = ["--rate-burst", "1000000", "--rate-per-sec", "1000000", "--overload-lag-ms", "60000"];

/** A request's reply, or null once the socket is closed (the server was killed). */
async function ask(c: WsClient, op: string, params: Record<string, unknown>): Promise<any> {
  const id = c.send(op, params);
  const r = await c.until(() => c.replies.get(id) ?? (c.closed ? { closed: true } : undefined), 60_000, `reply to ${op}`);
  if ("closed" in r) throw new Error("closed");
  return r;
}

/** Connects, retrying a refused upgrade a few times (a just-restarted server on a busy machine). */
async function connect(server: TestServer, u: TestUser): Promise<WsClient> {
  for (let i = 0; ; i++) {
    try {
      return await WsClient.connect(server, u.token);
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Runs the loop; never throws for a broken invariant (it is reported in `violations`). */
export async function runCrashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const rnd = prng(o.seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const res: CrashLoopResult = { kills: 0, acked: 0, checkedMessages: 0, uploads: 0, groupChanges: 0, receipts: 0, changes: 0, replica: null, violations: [] };
  const acked: Acked[] = [];
  const uploads: Array<{ id: string; size: number; token: string }> = [];
  const args = o.replica ? [...FAST, "--replica", o.replica.dir] : FAST;
  if (o.replica) res.replica = { checks: 0, messages: 0, withinRpo: 0, lost: 0, oldestLostMs: 0, litestreamKills: 0, restoreMs: [] };
  let server: TestServer = await startServer({ dataDir: o.dataDir, args });
  try {
    const users: TestUser[] = [];
    for (const n of ["Ana", "Ben", "Cy", "Dee"]) users.push(await makeUser(server, n));
    const [ana, ben, cy, dee] = users as [TestUser, TestUser, TestUser, TestUser];
    const a0 = await connect(server, ana);
    const group = (await a0.call("createGroup", { name: "crash", members: [ben.user.id, cy.user.id, dee.user.id], client_id: "crash-group" })).channel.id as string;
    const direct = (await a0.call("sendMessage", { to: ben.user.id, client_id: "seed", type: "text", content: "seed" })).message.channel as string;
    a0.close();
    // The users and their devices are in the replica before the first kill (a restored replica is read with their tokens).
    if (o.replica) await until(async () => ((await (await fetch(server.url + "/healthz")).json()) as any).replication?.lag_ms === 0, 30_000, "replica caught up");
    const channels = [group, direct];
    let k = 0;
    for (let kill = 0; kill < o.kills; kill++) {
      const clients = await Promise.all(users.map((u) => connect(server, u)));
      let running = true;
      const loop = async (i: number) => {
        const u = users[i]!;
        const c = clients[i]!;
        while (running && !c.closed) {
          const r = rnd();
          const n = k++;
          try {
            if (r < 0.55) {
              const ch = u === cy || u === dee ? group : pick(channels);
              const client_id = `${u.user.id}-${n}`;
              const content = `m${n}`;
              const rep = await ask(c, "sendMessage", { channel: ch, client_id, type: "text", content });
              if (rep.ok) acked.push({ channel: ch, seq: rep.message.seq, sender: u.user.id, client_id, content, media: null, at: Date.now() });
            } else if (r < 0.7) {
              const body = bytes(200 + Math.floor(rnd() * 5000), n);
              const m = await uploadOk(server, u.token, body);
              uploads.push({ id: m.id, size: body.length, token: u.token });
              res.uploads++;
              const ch = u === cy || u === dee ? group : pick(channels);
              const client_id = `${u.user.id}-${n}`;
              const rep = await ask(c, "sendMessage", { channel: ch, client_id, type: "file", content: `f${n}`, media: m.id });
              if (rep.ok) acked.push({ channel: ch, seq: rep.message.seq, sender: u.user.id, client_id, content: `f${n}`, media: m.id, at: Date.now(), size: body.length });
            } else if (r < 0.78) {
              // Edit one of my last text messages (the server's window is 15 minutes), or react to any message.
              const mine = acked.filter((m) => m.sender === u.user.id && !m.media).slice(-5);
              if (mine.length > 0 && rnd() < 0.6) {
                const m = pick(mine);
                const content = `e${n}`;
                (m.maybe ??= new Set()).add(content);
                const rep = await ask(c, "editMessage", { channel: m.channel, seq: m.seq, content });
                if (rep?.ok) {
                  m.content = content;
                  m.maybe.clear();
                  res.changes++;
                }
              } else if (acked.length > 0) {
                const m = pick(acked.slice(-20));
                if ((await ask(c, "react", { channel: m.channel, seq: m.seq, emoji: pick(["👍", "❤️", ""]) }))?.ok) res.changes++;
              }
            } else if (r < 0.85) {
              const ch = u === cy || u === dee ? group : pick(channels);
              if ((await ask(c, "markSeen", { channel: ch, seq: 1 + Math.floor(rnd() * 50) })).ok) res.receipts++;
            } else if (u === ana) {
              // Group changes: Dee is removed, leaves, or is added back (Ana stays admin).
              const op = rnd();
              const rep =
                op < 0.5
                  ? await ask(c, "addMembers", { channel: group, members: [dee.user.id, cy.user.id] })
                  : await ask(c, "removeMember", { channel: group, user: pick([dee.user.id, cy.user.id]) });
              if (rep.ok) res.groupChanges++;
            } else if (u === dee || u === cy) {
              if ((await ask(c, "leaveGroup", { channel: group })).ok) res.groupChanges++;
            }
          } catch {
            return; // the server died under us
          }
        }
      };
      const loops = users.map((_, i) => loop(i));
      await new Promise((r) => setTimeout(r, 100 + Math.floor(rnd() * 400)));
      // Litestream goes with natter (the machine dies) on half the kills; otherwise it follows natter out.
      const litestream = o.replica ? Number(readFileSync(join(o.dataDir, "litestream.pid"), "utf8")) : 0;
      const withLitestream = o.replica !== undefined && rnd() < 0.5;
      const killAt = Date.now();
      if (withLitestream) {
        try {
          process.kill(litestream, "SIGKILL");
          res.replica!.litestreamKills++;
        } catch {}
      }
      await server.kill();
      running = false;
      for (const c of clients) c.close();
      await Promise.all(loops);
      res.kills++;
      const before = res.violations.length;
      let restored: string | null = null;
      if (o.replica && ((kill + 1) % o.replica.every === 0 || kill === o.kills - 1)) {
        // Litestream exits within ~1 s of natter (docs/operations.md "How it runs"); restore once it is gone.
        for (let i = 0; i < 100 && existsSync(`/proc/${litestream}`); i++) await Bun.sleep(50);
        if (existsSync(`/proc/${litestream}`)) res.violations.push(`kill ${kill + 1}: Litestream (pid ${litestream}) still running 5 s after natter died`);
        restored = await restoreReplica(o.replica.dir, res);
      }
      server = await startServer({ dataDir: o.dataDir, args });
      const history = await check(server, o.dataDir, users, channels, acked, uploads, res);
      if (restored) {
        await checkReplica(restored, ana, channels, history, acked, killAt, res);
        rmSync(restored, { recursive: true, force: true });
      }
      const rep = res.replica;
      o.log?.(
        `kill ${kill + 1}/${o.kills}: ${acked.length} acked, ${res.uploads} uploads, ${res.groupChanges} group changes, ${res.changes} edits and reactions` +
          (restored && rep ? `, replica: ${rep.messages} messages in ${rep.checks} restores, ${rep.lost} acked later than the recovery point not in it` : "") +
          `, ${res.violations.length - before} new violations`,
      );
    }
  } finally {
    res.acked = acked.length;
    await server.stop().catch(() => server.kill());
  }
  return res;
}

async function check(
  server: TestServer,
  dataDir: string,
  users: TestUser[],
  channels: string[],
  acked: Acked[],
  uploads: Array<{ id: string; size: number; token: string }>,
  res: CrashLoopResult,
): Promise<Map<string, any[]>> {
  const bad = (s: string) => res.violations.push(s);
  const tmp = join(dataDir, "media", "tmp");
  const left = readdirSync(tmp);
  if (left.length > 0) bad(`upload temp files left: ${left.join(", ")}`);
  const clients = await Promise.all(users.map((u) => connect(server, u)));
  const history = new Map<string, any[]>();
  try {
    // Membership from both sides, and a full history read by whoever can.
    for (const [i, c] of clients.entries()) {
      const listed = new Set<string>((await c.call("getAll")).channels.map((x: { id: string }) => x.id));
      for (const ch of channels) {
        const r = await ask(c, "getMessages", { channel: ch, limit: 1 });
        if (r.ok !== listed.has(ch)) bad(`${users[i]!.user.name}: reads ${ch}: ${r.ok}, listed: ${listed.has(ch)}`);
      }
    }
    const reader = clients[0]!; // Ana: creator and admin of the group, in the direct chat
    for (const ch of channels) history.set(ch, await readChannel(reader, ch, bad));
    let checked = 0;
    for (const m of acked) {
      const got = history.get(m.channel)?.[m.seq - 1];
      const content = got && (got.content === m.content || m.maybe?.has(got.content));
      if (!got || got.sender !== m.sender || got.client_id !== m.client_id || !content || (got.media?.id ?? got.media ?? null) !== m.media)
        bad(`acked ${m.channel}:${m.seq} (${m.client_id}) missing or changed`);
      checked++;
    }
    res.checkedMessages += checked;
    for (const up of uploads) {
      const r = await fetch(`${server.url}/api/media/${up.id}`, { headers: { authorization: `Bearer ${up.token}` } });
      const b = await r.arrayBuffer();
      if (r.status !== 200 || b.byteLength !== up.size) bad(`upload ${up.id}: ${r.status}, ${b.byteLength} of ${up.size} bytes`);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return history;
}

/** A channel's whole history as `reader` sees it, checking seqs dense, (sender, client_id) unique and last_seq. */
async function readChannel(reader: WsClient, ch: string, bad: (s: string) => void, where = ""): Promise<any[]> {
  const all: any[] = [];
  for (let after = 0; ; ) {
    const r = await reader.call("getMessages", { channel: ch, after_seq: after, limit: 200 });
    all.push(...r.messages);
    if (r.messages.length === 0 || !r.has_more) break;
    after = r.messages.at(-1).seq;
  }
  const seqs = all.map((m) => m.seq);
  if (seqs.some((s, i) => s !== i + 1)) bad(`${where}${ch}: seqs not dense`);
  const keys = new Set(all.map((m) => `${m.sender}/${m.client_id}`));
  if (keys.size !== all.length) bad(`${where}${ch}: a (sender, client_id) stored twice`);
  const last = (await reader.call("getAll")).channels.find((x: any) => x.id === ch)?.last_seq;
  if (last !== all.length) bad(`${where}${ch}: last_seq ${last} but ${all.length} messages`);
  return all;
}

/** `natter admin restore` of the replica into a new temp dir (returned), or null (a violation) if it failed. */
async function restoreReplica(replica: string, res: CrashLoopResult): Promise<string | null> {
  const dir = tempDir("natter-crash-restore-");
  const t0 = performance.now();
  const r = await runCli(["admin", "restore", "--replica", replica, "--data", dir, "--force"]);
  res.replica!.restoreMs.push(Math.round(performance.now() - t0));
  res.replica!.checks++;
  const ok = r.stderr.match(/integrity_check: ok/g)?.length ?? 0;
  const shards = Number(/restoring (\d+) shards/.exec(r.stderr)?.[1] ?? -1);
  if (r.code !== 0 || ok !== shards || /integrity_check: (?!ok)/.test(r.stderr)) {
    res.violations.push(`replica restore failed (exit ${r.code}, ${ok} of ${shards} shards integrity_check ok): ${(r.stderr + r.stdout).slice(-800)}`);
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return dir;
}

const mediaId = (m: any): string | null => m.media?.id ?? m.media ?? null;

/**
 * The restored replica against the data dir: it opens (a server starts on it, without --replica), every
 * message in it is in the data dir identically, its seqs are dense, and everything acknowledged more than
 * RPO_MS before the kill is in it with whole media.
 */
async function checkReplica(
  dir: string,
  reader: TestUser,
  channels: string[],
  data: Map<string, any[]>,
  acked: Acked[],
  killAt: number,
  res: CrashLoopResult,
): Promise<void> {
  const rep = res.replica!;
  const bad = (s: string) => res.violations.push(`replica: ${s}`);
  let server: TestServer;
  try {
    server = await startServer({ dataDir: dir, args: FAST });
  } catch (e) {
    bad(`a server does not start on the restored replica: ${String(e).slice(0, 800)}`);
    return;
  }
  try {
    const c = await connect(server, reader).catch((e) => {
      bad(`cannot connect to a server on the restored replica: ${e}`);
      return null;
    });
    if (!c) return;
    const restored = new Map<string, any[]>();
    try {
      for (const ch of channels) restored.set(ch, await readChannel(c, ch, bad, "restored "));
    } finally {
      c.close();
    }
    for (const [ch, msgs] of restored) {
      const local = data.get(ch) ?? [];
      for (const m of msgs) {
        const d = local[m.seq - 1];
        rep.messages++;
        // An edit made after the replica's copy was shipped may be missing from it (the recovery point): older content is fine.
        const content = d && (d.content === m.content || (m.edited_at ?? 0) < (d.edited_at ?? 0));
        if (!d || d.id !== m.id || d.sender !== m.sender || d.client_id !== m.client_id || !content || mediaId(d) !== mediaId(m))
          bad(`${ch}:${m.seq} (${m.client_id}) differs from the data dir's`);
      }
    }
    for (const m of acked) {
      const got = restored.get(m.channel)?.[m.seq - 1];
      const age = killAt - m.at;
      if (got && got.client_id === m.client_id) {
        if (age > RPO_MS) rep.withinRpo++;
        if (m.media && age > RPO_MS) {
          const r = await fetch(`${server.url}/api/media/${m.media}`, { headers: { authorization: `Bearer ${reader.token}` } });
          const b = await r.arrayBuffer();
          if (r.status !== 200 || b.byteLength !== m.size) bad(`media ${m.media} of ${m.client_id}, acked ${age} ms before the kill: ${r.status}, ${b.byteLength} of ${m.size} bytes`);
        }
        continue;
      }
      if (age > RPO_MS) bad(`${m.channel}:${m.seq} (${m.client_id}) acked ${age} ms before the kill is not in the replica`);
      else {
        rep.lost++;
        rep.oldestLostMs = Math.max(rep.oldestLostMs, age);
      }
    }
  } finally {
    await server.stop().catch(() => server.kill());
  }
}
