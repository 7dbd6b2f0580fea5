// The replica target fills up (docs/operations.md "Replica target full"): a
// directory replica on a small tmpfs, filled by a file beside it. Sends go on
// (the data dir is fine); the server notices (the replica stops moving while
// the target has no space), says so (`/healthz` replication.target_full,
// `natter_replication_target_full`, `GET /admin/backup`, the log line "replica
// target full"), and when the space returns it recovers by itself: Litestream,
// which stalls on a full directory replica, is restarted, the replica catches
// up, and a restore of it holds every message sent while it was full.
//
// Needs root to mount the tmpfs (CI runs as root); skipped with the reason otherwise.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { adminFetch, api, makeUser, runCli, startServer, tempDir, until, WsClient, type TestServer } from "../harness.ts";
import { metric } from "./media-helpers.ts";
import { allMessages, logLines } from "./server-helpers.ts";
import { fill, mountTmpfs, unmount, unmountAll } from "../support/tmpfs.ts";

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.cleanup();
  unmountAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const probe = process.getuid?.() === 0 ? null : "needs root to mount a tmpfs";
if (probe) console.warn(`replica-disk-full: skipped: ${probe}`);

const health = async (s: TestServer): Promise<any> => ((await (await fetch(s.url + "/healthz")).json()) as any).replication;

describe("replica target full", () => {
  test.skipIf(probe !== null)("sends go on, the server says so, and it recovers by itself when space returns; the replica then holds everything", async () => {
    const mnt = mountTmpfs("8m", "natter-replica-full-");
    if (typeof mnt !== "string") throw new Error(mnt.skip);
    const replica = join(mnt, "replica");
    const s = await startServer({ args: ["--replica", replica, "--shards", "4", "--rate-burst", "1000000", "--rate-per-sec", "1000000"] });
    servers.push(s);
    const a = await makeUser(s, "Ana");
    const b = await makeUser(s, "Ben");
    const sent: Array<{ client_id: string; seq: number; channel: string }> = [];
    const send = async (client_id: string, content: string) => {
      const r = await api(s, a.token, "sendMessage", { to: b.user.id, client_id, type: "text", content });
      expect(r.status).toBe(200); // writes go on: the data dir is fine
      sent.push({ client_id, seq: r.body.message.seq, channel: r.body.message.channel });
    };
    for (let i = 0; i < 20; i++) await send(`before-${i}`, `before ${i}`);
    await until(async () => (await health(s)).lag_ms === 0, 20_000, "the replica caught up");
    expect((await health(s)).target_full).toBe(false);

    const filler = join(mnt, "filler");
    fill(filler);
    const filledAt = Date.now();
    for (let i = 0; i < 200; i++) await send(`full-${i}`, `while the replica is full ${i} ` + "y".repeat(2000));
    const h = await until(async () => ((await health(s)).target_full ? health(s) : null), 20_000, "target_full in /healthz");
    const seenAt = Date.now();
    expect(h.running).toBe(true);
    expect(h.lag_ms).toBeGreaterThan(1000);
    expect(await metric(s, "natter_replication_target_full")).toBe(1);
    expect(await metric(s, "natter_replication_target_full_errors_total")).toBeGreaterThan(0);
    const st: any = await (await adminFetch(s, "GET", "/admin/backup")).json();
    expect(st.target_full).toBe(true);
    expect(typeof st.target_full_since).toBe("string");
    const full = logLines(s, "replica target full");
    expect(full.length).toBeGreaterThan(0);
    expect(full[0].level).toBe("error");
    expect(full[0].replica).toBe(`file://${replica}`);
    const status = await runCli(["admin", "--server", s.url, "--data", s.dataDir, "backup", "status"]);
    expect(status.stdout).toContain("FULL:");
    // Reads and new sends are unaffected while it lasts.
    for (let i = 0; i < 10; i++) await send(`still-${i}`, `still ${i}`);

    rmSync(filler);
    const freedAt = Date.now();
    await until(async () => {
      const r = await health(s);
      return !r.target_full && r.lag_ms === 0;
    }, 30_000, "the replica caught up after space returned");
    console.log(
      `replica target full: seen ${seenAt - filledAt} ms after the fill (200 sends in between), ` +
        `caught up ${Date.now() - freedAt} ms after space returned; ${sent.length} messages sent, all 200`,
    );
    expect(await metric(s, "natter_replication_target_full")).toBe(0);
    expect(logLines(s, "replica target has space again; the replica has caught up").length).toBe(1);
    expect(await s.stop()).toBe(0);

    // Everything sent, before, during and after, is in the replica.
    const data = tempDir("natter-replica-full-restore-");
    dirs.push(data);
    const r = await runCli(["admin", "restore", "--replica", replica, "--data", data, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/integrity_check: ok/g)?.length).toBe(4);
    const s2 = await startServer({ dataDir: data });
    servers.push(s2);
    const c = await WsClient.connect(s2, a.token);
    const got = await allMessages(c, sent[0]!.channel);
    c.close();
    expect(got.map((m: any) => [m.seq, m.client_id])).toEqual(sent.map((m) => [m.seq, m.client_id]));
  }, 120_000);
});
