// The restore drill (docs/operations.md#drill) as a test: a server replicating
// to a directory replica; write; stop; delete the data dir; `natter admin
// restore`; start on the restored dir; everything intact. Then the kill -9
// variant: everything acknowledged more than the recovery point (1 s at the
// default intervals) before the kill is in the restored data. And restore
// refuses a non-empty directory without --force.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminFetch, api, makeUser, runCli, startServer, tempDir, WsClient, type TestServer, type TestUser } from "../harness.ts";

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const FAST = ["--rate-burst", "1000000", "--rate-per-sec", "1000000"];
/** The documented recovery point at the default intervals. */
const RPO_MS = 1000;

function tmp(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function boot(dataDir: string, replica: string | null): Promise<TestServer> {
  const s = await startServer({ dataDir, args: [...FAST, ...(replica ? ["--replica", replica] : [])] });
  servers.push(s);
  return s;
}

async function restore(replica: string, data: string, extra: string[] = []) {
  const t0 = performance.now();
  const r = await runCli(["admin", "restore", "--replica", replica, "--data", data, ...extra]);
  return { ...r, ms: performance.now() - t0 };
}

async function send(server: TestServer, u: TestUser, target: { channel?: string; to?: string }, content: string, client_id: string) {
  const r = await api(server, u.token, "sendMessage", { ...target, client_id, type: "text", content });
  if (r.status !== 200) throw new Error(`send failed ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.message as { channel: string; seq: number; id: string; content: string; client_id: string };
}

/** Every message of a channel, paging forward. */
async function allMessages(c: WsClient, channel: string): Promise<any[]> {
  const out: any[] = [];
  for (let after = 0; ; ) {
    const r = await c.call("getMessages", { channel, after_seq: after, limit: 200 });
    out.push(...r.messages);
    if (r.messages.length > 0) after = r.messages[r.messages.length - 1].seq;
    if (!r.has_more) return out;
  }
}

async function makeGroup(server: TestServer, owner: TestUser, members: TestUser[]): Promise<{ id: string }> {
  const r = await api(server, owner.token, "createGroup", { name: "g", members: members.map((m) => m.user.id) });
  if (r.status !== 200) throw new Error(`createGroup failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.channel;
}

async function upload(server: TestServer, u: TestUser, bytes: Uint8Array, name: string): Promise<{ id: string; sha256: string }> {
  const res = await fetch(server.url + "/api/media", {
    method: "POST",
    headers: { authorization: `Bearer ${u.token}`, "content-type": "application/octet-stream", "x-filename": name },
    body: bytes,
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { media: { id: string; sha256: string } }).media;
}

async function download(server: TestServer, u: TestUser, id: string): Promise<{ status: number; bytes: Uint8Array }> {
  const res = await fetch(`${server.url}/api/media/${id}`, { headers: { authorization: `Bearer ${u.token}` } });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

async function healthz(server: TestServer): Promise<any> {
  return (await fetch(server.url + "/healthz")).json();
}

describe("replication drill", () => {
  test("write, stop, delete the data dir, restore, start: every message, user and token intact", async () => {
    const data = tmp("natter-drill-data-");
    const replica = join(tmp("natter-drill-rep-"), "replica");
    const s1 = await boot(data, replica);
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    const carol = await makeUser(s1, "Carol");
    const group = await makeGroup(s1, alice, [bob, carol]);
    const sent: Awaited<ReturnType<typeof send>>[] = [];
    for (let i = 0; i < 40; i++) {
      const from = [alice, bob, carol][i % 3]!;
      sent.push(await send(s1, from, { channel: group.id }, `group ${i} ✓ ünïcode`, `g-${i}`));
      if (i % 4 === 0) sent.push(await send(s1, alice, { to: bob.user.id }, `direct ${i}`, `d-${i}`));
    }
    // Media: three files, one of them 2 MiB, sent in the group.
    const files = [randomBytes(2 * 1024 * 1024 + 17, 1), randomBytes(1000, 2), new TextEncoder().encode("a small text file\n")];
    const media: { id: string; sha256: string; bytes: Uint8Array }[] = [];
    for (const [i, bytes] of files.entries()) {
      const m = await upload(s1, alice, bytes, `file-${i}.bin`);
      media.push({ ...m, bytes });
      sent.push(
        await api(s1, alice.token, "sendMessage", { channel: group.id, client_id: `f-${i}`, type: "file", content: `file ${i}`, media: m.id }).then(
          (r) => {
            if (r.status !== 200) throw new Error(JSON.stringify(r.body));
            return r.body.message;
          },
        ),
      );
    }
    const h = await healthz(s1);
    expect(h.replication.running).toBe(true);
    expect(await s1.stop()).toBe(0);
    expect(existsSync(join(replica, "layout.json"))).toBe(true);

    // A blob no media row refers to (as after an orphan sweep) stays in the replica but is not restored.
    const stray = "ab".repeat(32);
    writeFileSync(join(replica, "media", stray), "unreferenced");
    rmSync(data, { recursive: true, force: true });
    const r = await restore(replica, data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("1 blobs in the replica are referenced by no restored media row");
    expect(existsSync(join(data, "media", "blobs", "ab", stray))).toBe(false);
    expect(r.stderr).toContain("restoring 16 shards");
    expect(r.stderr.match(/integrity_check: ok/g)?.length).toBe(16);
    console.log(`restore of 16 shards took ${r.ms.toFixed(0)} ms (CLI process included)`);

    const s2 = await boot(data, replica);
    // Old device tokens still work: they are rows in the restored shards.
    const c = await WsClient.connect(s2, alice.token);
    const byChannel = new Map<string, typeof sent>();
    for (const m of sent) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
    for (const [channel, msgs] of byChannel) {
      const got = await allMessages(c, channel);
      expect(got.map((m: any) => [m.seq, m.id, m.client_id, m.content])).toEqual(msgs.map((m) => [m.seq, m.id, m.client_id, m.content]));
    }
    c.close();
    for (const m of media) {
      const d = await download(s2, carol, m.id);
      expect(d.status).toBe(200);
      expect(d.bytes.length).toBe(m.bytes.length);
      expect(Buffer.compare(Buffer.from(d.bytes), Buffer.from(m.bytes))).toBe(0);
    }
    expect(r.stderr).toContain(`media blobs ${media.length}/${media.length}`);
    const users = (await (await adminFetch(s2, "GET", "/admin/users")).json()) as { users: { id: string }[] };
    expect(users.users.map((u) => u.id).sort()).toEqual([alice, bob, carol].map((u) => u.user.id).sort());
    // The restored server keeps replicating: new writes reach the replica.
    await send(s2, bob, { channel: group.id }, "after restore", "after-1");
    const st: any = await (await adminFetch(s2, "GET", "/admin/backup")).json();
    expect(st.enabled).toBe(true);
    expect(st.shards.length).toBe(16);
    await s2.stop();
  }, 90_000);

  test("kill -9 of natter and Litestream mid-stream: everything acknowledged more than the recovery point before the kill is restored", async () => {
    const data = tmp("natter-drill9-data-");
    const replica = join(tmp("natter-drill9-rep-"), "replica");
    const s1 = await boot(data, replica);
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    const group = await makeGroup(s1, alice, [bob]);
    const acked: { seq: number; client_id: string; content: string; at: number; channel: string }[] = [];
    let running = true;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        try {
          const m =
            i % 3 === 0
              ? await send(s1, alice, { to: bob.user.id }, `m${i}`, `k-${i}`)
              : await send(s1, i % 2 ? alice : bob, { channel: group.id }, `m${i}`, `k-${i}`);
          acked.push({ ...m, at: Date.now() });
        } catch (e) {
          if (running) throw e;
          return;
        }
      }
    })();
    await Bun.sleep(3000);
    const litestreamPid = Number(readFileSync(join(data, "litestream.pid"), "utf8"));
    const killAt = Date.now();
    running = false;
    // The machine dies: natter and Litestream go at the same instant.
    process.kill(litestreamPid, "SIGKILL");
    await s1.kill();
    for (let i = 0; i < 60 && existsSync(`/proc/${litestreamPid}`); i++) await Bun.sleep(50);
    expect(existsSync(`/proc/${litestreamPid}`)).toBe(false);
    await writer;
    const cutoff = killAt - RPO_MS;
    const mustSurvive = acked.filter((m) => m.at <= cutoff);
    expect(mustSurvive.length).toBeGreaterThan(50);

    // The dead disk: the data dir is gone.
    rmSync(data, { recursive: true, force: true });
    const r = await restore(replica, data);
    expect(r.code, r.stderr).toBe(0);
    const s2 = await boot(data, null);
    const c = await WsClient.connect(s2, alice.token);
    const restored = new Map<string, Map<number, any>>();
    let total = 0;
    for (const ch of new Set(acked.map((m) => m.channel))) {
      const got = await allMessages(c, ch);
      // Dense: seq 1..n with no holes, whatever survived.
      expect(got.map((m: any) => m.seq)).toEqual(got.map((_: any, i: number) => i + 1));
      restored.set(ch, new Map(got.map((m: any) => [m.seq, m])));
      total += got.length;
    }
    c.close();
    for (const m of mustSurvive) {
      const got = restored.get(m.channel)?.get(m.seq);
      expect(got?.client_id, `message ${m.client_id} acked ${killAt - m.at} ms before the kill`).toBe(m.client_id);
      expect(got.content).toBe(m.content);
    }
    // Nothing restored that was not acknowledged or at least attempted in order.
    for (const m of acked) {
      const got = restored.get(m.channel)?.get(m.seq);
      if (got) expect(got.client_id).toBe(m.client_id);
    }
    const missing = acked.filter((m) => !restored.get(m.channel)?.get(m.seq));
    const oldestLost = missing.length ? Math.max(...missing.map((m) => killAt - m.at)) : 0;
    console.log(
      `kill -9 after ${acked.length} acked messages: ${mustSurvive.length} older than ${RPO_MS} ms all restored; ` +
        `${missing.length} lost, acknowledged at most ${oldestLost} ms before the kill`,
    );
    await s2.stop();
  }, 90_000);

  test("restore --timestamp: the data as it was at that moment", async () => {
    const data = tmp("natter-drillt-data-");
    const replica = join(tmp("natter-drillt-rep-"), "replica");
    const s1 = await boot(data, replica);
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    for (let i = 0; i < 5; i++) await send(s1, alice, { to: bob.user.id }, `before ${i}`, `b${i}`);
    await Bun.sleep(1500);
    const at = new Date().toISOString();
    await Bun.sleep(1500);
    let channel = "";
    for (let i = 0; i < 5; i++) channel = (await send(s1, alice, { to: bob.user.id }, `after ${i}`, `a${i}`)).channel;
    expect(await s1.stop()).toBe(0);

    const past = join(tmp("natter-drillt-past-"), "data");
    const r = await restore(replica, past, ["--timestamp", at]);
    expect(r.code, r.stderr).toBe(0);
    const s2 = await boot(past, null);
    const c = await WsClient.connect(s2, bob.token);
    expect((await allMessages(c, channel)).map((m) => m.content)).toEqual([0, 1, 2, 3, 4].map((i) => `before ${i}`));
    c.close();
    await s2.stop();
  }, 60_000);

  test("restore refuses a non-empty directory without --force, and replaces it with --force", async () => {
    const data = tmp("natter-drillf-data-");
    const replica = join(tmp("natter-drillf-rep-"), "replica");
    const s1 = await boot(data, replica);
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    await send(s1, alice, { to: bob.user.id }, "hello", "x1");
    expect(await s1.stop()).toBe(0);

    // Not over a running server: restore --force on its data dir is refused.
    const live = await boot(data, replica);
    const onLive = await restore(replica, data, ["--force"]);
    expect(onLive.code).toBe(2);
    expect(onLive.stderr).toContain("seems to be running");
    expect(await live.stop()).toBe(0);

    const target = tmp("natter-drillf-target-");
    writeFileSync(join(target, "precious.txt"), "do not delete");
    const refused = await restore(replica, target);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("not empty");
    expect(readdirSync(target)).toEqual(["precious.txt"]);

    const forced = await restore(replica, target, ["--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(target, "precious.txt"))).toBe(false);
    expect(readdirSync(join(target, "shards")).filter((f) => f.endsWith(".db")).length).toBe(16);

    const empty = join(tmp("natter-drillf-empty-"), "nothing-here");
    mkdirSync(empty);
    const missing = await restore(empty, join(tmp("natter-drillf-t2-"), "d"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no backup/);
  }, 60_000);

  test("Litestream is restarted when it dies, and /healthz and /metrics show it", async () => {
    const data = tmp("natter-drillr-data-");
    const replica = join(tmp("natter-drillr-rep-"), "replica");
    const s1 = await boot(data, replica);
    const st0: any = await (await adminFetch(s1, "GET", "/admin/backup")).json();
    expect(st0.running).toBe(true);
    process.kill(st0.pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    let st: any = st0;
    while (Date.now() < deadline) {
      st = await (await adminFetch(s1, "GET", "/admin/backup")).json();
      if (st.running && st.pid !== st0.pid) break;
      await Bun.sleep(100);
    }
    expect(st.running).toBe(true);
    expect(st.restarts).toBe(1);
    expect(st.last_exit).toContain("SIGKILL");
    expect(s1.output()).toContain("litestream died; restarting");
    const metrics = await (await fetch(s1.url + "/metrics", { headers: { authorization: `Bearer ${s1.adminToken}` } })).text();
    expect(metrics).toContain("natter_replication_restarts_total 1");
    expect(metrics).toMatch(/natter_replication_lag_seconds\{shard="15"\} /);
    // Replication still works after the restart: a new message reaches the replica (lag returns to 0).
    const alice = await makeUser(s1, "Alice");
    const bob = await makeUser(s1, "Bob");
    await send(s1, alice, { to: bob.user.id }, "after restart", "r1");
    let h: any;
    for (let i = 0; i < 50; i++) {
      h = await healthz(s1);
      if (h.replication.lag_ms === 0) break;
      await Bun.sleep(100);
    }
    expect(h.replication.lag_ms).toBe(0);
    // natter admin backup status, human and JSON.
    const human = await runCli(["admin", "--server", s1.url, "--data", s1.dataDir, "backup", "status"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("restarts 1");
    expect(human.stdout).toMatch(/SHARD\s+GENERATION\s+REPLICA POS\s+LOCAL POS\s+LAG MS/);
    expect(human.stdout.split("\n").filter((l) => /^\d\d\s+[0-9a-f]{16}\s+\d+\/\d+\s+\d+\/\d+\s+0\s/.test(l)).length).toBe(16);
    const js = await runCli(["admin", "--server", s1.url, "--data", s1.dataDir, "backup", "status", "--json"]);
    const parsed = JSON.parse(js.stdout);
    expect(parsed.shards.every((x: any) => x.replica_position === x.local_position && x.lag_ms === 0)).toBe(true);
    await s1.stop();
    // With replication off the command says so.
    const plain = await boot(tmp("natter-drillr-off-"), null);
    const off = await runCli(["admin", "--server", plain.url, "--data", plain.dataDir, "backup", "status"]);
    expect(off.stdout).toContain("replication is off");
    await plain.stop();
  }, 60_000);
});
