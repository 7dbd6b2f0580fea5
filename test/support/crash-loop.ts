// The crash-consistency loop: a real server on one data dir is killed with
// SIGKILL at random (seeded) moments under mixed traffic (1:1 and group sends,
// group changes add / remove / leave, receipts, uploads with media messages),
// restarted, and checked after each restart:
// - every acknowledged message is present exactly once, at its seq, as sent;
// - seqs are dense per channel and match the channel's last_seq;
// - membership is the same from the channel's side and the users' side: a
//   user reads a channel's history (has a member row) iff getAll lists it;
// - no half-written media: no upload temp file is left, and every
//   acknowledged upload downloads whole (its row's blob exists).
// Used by test/e2e/crash-loop.test.ts (a few kills) and scripts/soak.ts.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { makeUser, startServer, WsClient, type TestServer, type TestUser } from "../harness.ts";
import { bytes, uploadOk } from "../e2e/media-helpers.ts";

export interface CrashLoopOptions {
  kills: number;
  seed: number;
  dataDir: string;
  /** Progress lines (one per kill). */
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  kills: number;
  acked: number;
  checkedMessages: number;
  uploads: number;
  groupChanges: number;
  receipts: number;
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
  const res: CrashLoopResult = { kills: 0, acked: 0, checkedMessages: 0, uploads: 0, groupChanges: 0, receipts: 0, violations: [] };
  const acked: Acked[] = [];
  const uploads: Array<{ id: string; size: number; token: string }> = [];
  let server: TestServer = await startServer({ dataDir: o.dataDir, args: FAST });
  try {
    const users: TestUser[] = [];
    for (const n of ["Ana", "Ben", "Cy", "Dee"]) users.push(await makeUser(server, n));
    const [ana, ben, cy, dee] = users as [TestUser, TestUser, TestUser, TestUser];
    const a0 = await connect(server, ana);
    const group = (await a0.call("createGroup", { name: "crash", members: [ben.user.id, cy.user.id, dee.user.id], client_id: "crash-group" })).channel.id as string;
    const direct = (await a0.call("sendMessage", { to: ben.user.id, client_id: "seed", type: "text", content: "seed" })).message.channel as string;
    a0.close();
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
              if (rep.ok) acked.push({ channel: ch, seq: rep.message.seq, sender: u.user.id, client_id, content, media: null });
            } else if (r < 0.7) {
              const body = bytes(200 + Math.floor(rnd() * 5000), n);
              const m = await uploadOk(server, u.token, body);
              uploads.push({ id: m.id, size: body.length, token: u.token });
              res.uploads++;
              const ch = u === cy || u === dee ? group : pick(channels);
              const client_id = `${u.user.id}-${n}`;
              const rep = await ask(c, "sendMessage", { channel: ch, client_id, type: "file", content: `f${n}`, media: m.id });
              if (rep.ok) acked.push({ channel: ch, seq: rep.message.seq, sender: u.user.id, client_id, content: `f${n}`, media: m.id });
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
      await server.kill();
      running = false;
      for (const c of clients) c.close();
      await Promise.all(loops);
      res.kills++;
      server = await startServer({ dataDir: o.dataDir, args: FAST });
      const before = res.violations.length;
      await check(server, o.dataDir, users, channels, acked, uploads, res);
      o.log?.(`kill ${kill + 1}/${o.kills}: ${acked.length} acked, ${res.uploads} uploads, ${res.groupChanges} group changes, ${res.violations.length - before} new violations`);
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
): Promise<void> {
  const bad = (s: string) => res.violations.push(s);
  const tmp = join(dataDir, "media", "tmp");
  const left = readdirSync(tmp);
  if (left.length > 0) bad(`upload temp files left: ${left.join(", ")}`);
  const clients = await Promise.all(users.map((u) => connect(server, u)));
  try {
    // Membership from both sides, and a full history read by whoever can.
    const history = new Map<string, any[]>();
    for (const [i, c] of clients.entries()) {
      const listed = new Set<string>((await c.call("getAll")).channels.map((x: { id: string }) => x.id));
      for (const ch of channels) {
        const r = await ask(c, "getMessages", { channel: ch, limit: 1 });
        if (r.ok !== listed.has(ch)) bad(`${users[i]!.user.name}: reads ${ch}: ${r.ok}, listed: ${listed.has(ch)}`);
      }
    }
    const reader = clients[0]!; // Ana: creator and admin of the group, in the direct chat
    for (const ch of channels) {
      const all: any[] = [];
      for (let after = 0; ; ) {
        const r = await reader.call("getMessages", { channel: ch, after_seq: after, limit: 200 });
        all.push(...r.messages);
        if (r.messages.length === 0 || !r.has_more) break;
        after = r.messages.at(-1).seq;
      }
      history.set(ch, all);
      const seqs = all.map((m) => m.seq);
      if (seqs.some((s, i) => s !== i + 1)) bad(`${ch}: seqs not dense`);
      const keys = new Set(all.map((m) => `${m.sender}/${m.client_id}`));
      if (keys.size !== all.length) bad(`${ch}: a (sender, client_id) stored twice`);
      const last = (await reader.call("getAll")).channels.find((x: any) => x.id === ch)?.last_seq;
      if (last !== all.length) bad(`${ch}: last_seq ${last} but ${all.length} messages`);
    }
    let checked = 0;
    for (const m of acked) {
      const got = history.get(m.channel)?.[m.seq - 1];
      if (!got || got.sender !== m.sender || got.client_id !== m.client_id || got.content !== m.content || (got.media?.id ?? got.media ?? null) !== m.media)
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
}
