// kill -9 during createGroup / addMembers loops: after each restart every user
// who is a member of a group (reads its history) also sees it in getAll. The
// membership lives in the channel's shard, the channel lists in each user's
// shard; a crash between the two writes must not hide a group from a member.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { groupIdFor } from "../../src/server/ids.ts";
import { makeUser, startServer, tempDir, until, WsClient, type TestServer, type TestUser } from "../harness.ts";

const dir = tempDir("natter-group-crash-");
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
const FAST = ["--rate-burst", "1000000", "--rate-per-sec", "1000000", "--max-groups-per-hour", "1000000"];
const boot = async () => {
  const s = await startServer({ dataDir: dir, args: FAST });
  servers.push(s);
  return s;
};

/** Keeps `window` createGroup / addMembers requests in flight until the socket dies. */
async function churn(s: TestServer, creator: TestUser, pool: TestUser[], round: number, groups: string[], tried: string[], acks: { n: number }): Promise<void> {
  const c = await WsClient.connect(s, creator.token);
  let k = 0;
  let rnd = round * 7919 + 1;
  const pick = () => pool[(rnd = (rnd * 48271) % 2147483647) % pool.length]!.user.id;
  const next = () => {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return;
    const i = k++;
    const fresh = groups.length < 2 || i % 2 === 0;
    const cid = `r${round}-${i}`;
    // An unanswered create is checked by the id its client_id names; an answered one by its reply.
    if (fresh) tried.push(groupIdFor(creator.user.id, cid));
    const id = fresh
      ? c.send("createGroup", { name: cid, client_id: cid, members: [pick(), pick()] })
      : c.send("addMembers", { channel: groups[(rnd = (rnd * 48271) % 2147483647) % (groups.length - 1)]!, members: [pick()] });
    void c.reply(id, 60_000).then(
      (r) => {
        if (r.ok) acks.n++;
        if (r.ok && fresh) groups.push(r.channel.id);
        next();
      },
      () => {},
    );
  };
  for (let w = 0; w < 8; w++) next();
}

test("every member sees the group in getAll after kill -9 during createGroup / addMembers", async () => {
  let s = await boot();
  const creator = await makeUser(s, "Creator");
  const pool: TestUser[] = [];
  for (let i = 0; i < 5; i++) pool.push(await makeUser(s, `P${i}`));
  const groups: string[] = [];
  const tried: string[] = [];
  for (let round = 0; round < 6; round++) {
    const acks = { n: 0 };
    const target = 20 + round * 17;
    await churn(s, creator, pool, round, groups, tried, acks);
    await until(() => acks.n >= target, 30_000, `${target} acks`);
    await s.kill();
    s = await boot();
  }
  const users = [creator, ...pool];
  const hidden: string[] = [];
  for (const u of users) {
    const c = await WsClient.connect(s, u.token);
    const listed = new Set<string>((await c.call("getAll")).channels.map((ch: { id: string }) => ch.id));
    for (const g of new Set([...groups, ...tried])) {
      const r = await c.request("getMessages", { channel: g, limit: 1 });
      if (r.ok && !listed.has(g)) hidden.push(`${u.user.name} in ${g}`);
    }
    c.close();
  }
  expect(groups.length).toBeGreaterThan(50);
  expect(hidden).toEqual([]);
}, 120_000);
