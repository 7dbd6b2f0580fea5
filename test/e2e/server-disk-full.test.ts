// Disk full: the data dir on a small tmpfs, filled by a file beside the
// server's own. Sends and uploads are refused with `unavailable` and a
// retry-after (never `internal`), the server stays up and logs "disk full",
// and when the space returns it works again without a restart: seqs dense,
// nothing acknowledged lost, the shard files intact. A server that cannot
// start on a full disk says so and exits 73.
//
// Needs root to mount the tmpfs (CI runs as root); skipped with the reason otherwise.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeUser, NATTER, startServer, WsClient, type TestServer } from "../harness.ts";
import { bytes, filesUnder, metric, upload } from "./media-helpers.ts";
import { allMessages, logLines } from "./server-helpers.ts";
import { fill, mountTmpfs, unmount, unmountAll } from "../support/tmpfs.ts";

const servers: TestServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.cleanup();
  unmountAll();
});

const probe = mountTmpfs("1m", "natter-diskfull-");
const skip = typeof probe === "string" ? null : probe.skip;
if (typeof probe === "string") unmount(probe);
if (skip) console.warn(`server-disk-full: skipped: ${skip}`);

/** Gives `pages` 4 KiB pages of a filled filesystem back by shortening `filler`. */
function freePages(filler: string, pages: number): void {
  const fd = openSync(filler, "r+");
  ftruncateSync(fd, Math.max(0, statSync(filler).size - pages * 4096));
  closeSync(fd);
}

/** Runs `natter serve` on `data` until it exits or listens (then stops it); its exit code and output. */
async function tryServe(data: string): Promise<{ listened: boolean; code: number; stderr: string }> {
  const proc = Bun.spawn([NATTER, "serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--shards", "4"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NATTER_LOG_LEVEL: "info" },
  });
  let listened = false;
  const stdout = (async () => {
    let out = "";
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      out += new TextDecoder().decode(chunk);
      if (!listened && out.includes('"msg":"listening"')) {
        listened = true;
        proc.kill("SIGTERM");
      }
    }
  })();
  const stderr = new Response(proc.stderr as ReadableStream).text();
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  await stdout;
  return { listened, code, stderr: await stderr };
}

const FAST = ["--rate-burst", "1000000", "--rate-per-sec", "1000000", "--shards", "4"];
const text = (i: number) => `message ${i} ` + "x".repeat(200);

/** Sends `n` messages to `to` with `window` in flight; returns every reply with its client_id. */
async function sendMany(c: WsClient, to: string, from: number, n: number, window = 8): Promise<Array<{ client_id: string; reply: any }>> {
  const out: Array<{ client_id: string; reply: any }> = [];
  for (let i = 0; i < n; i += window) {
    const batch = Array.from({ length: Math.min(window, n - i) }, (_, k) => {
      const client_id = `c-${from + i + k}`;
      return { client_id, id: c.send("sendMessage", { to, client_id, type: "text", content: text(from + i + k) }) };
    });
    for (const b of batch) out.push({ client_id: b.client_id, reply: await c.reply(b.id, 20_000) });
  }
  return out;
}


describe("disk full", () => {
  test.skipIf(skip !== null)(
    "sends and uploads get unavailable + retry-after; the server stays up and recovers when space returns; seqs stay dense",
    async () => {
      const mnt = mountTmpfs("8m", "natter-diskfull-") as string;
      const data = join(mnt, "data");
      const filler = join(mnt, "filler");
      let s = await startServer({ dataDir: data, args: FAST });
      servers.push(s);
      const a = await makeUser(s, "Ann");
      const b = await makeUser(s, "Bob");
      const c = await WsClient.connect(s, a.token);

      // Before the fill: acknowledged and stored.
      const before = await sendMany(c, b.user.id, 0, 40);
      for (const r of before) expect(r.reply.ok).toBe(true);
      const channel = before[0]!.reply.message.channel;
      const acked = new Set(before.map((r) => r.client_id));

      fill(filler);

      // Full: every send is refused with unavailable and a retry-after; never internal.
      const during = await sendMany(c, b.user.id, 1000, 60);
      for (const r of during) {
        expect(r.reply.ok).toBe(false);
        expect(r.reply.error.code).toBe("unavailable");
        expect(r.reply.error.retry_after_ms).toBeGreaterThan(0);
        expect(r.reply.error.message).toContain("disk is full");
      }
      // The HTTP mirror: 503 with Retry-After.
      const http = await fetch(`${s.url}/api/sendMessage`, {
        method: "POST",
        headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
        body: JSON.stringify({ to: b.user.id, client_id: "http-1", type: "text", content: "over http" }),
      });
      expect(http.status).toBe(503);
      expect(Number(http.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await http.json()) as any).error.code).toBe("unavailable");

      // An upload: refused the same way, and no half-written file stays behind.
      const up = await upload(s, a.token, bytes(256 * 1024, 7));
      expect(up.status).toBe(503);
      expect(up.body.error.code).toBe("unavailable");
      expect(Number(up.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(filesUnder(s, "tmp")).toEqual([]);
      expect(await metric(s, 'natter_media_uploads_rejected_total{reason="disk_full"}')).toBe(1);

      // Up, with one clear log line per few seconds (not one per request), and counted.
      expect((await fetch(s.url + "/healthz")).status).toBe(200);
      const logged = logLines(s, "disk full");
      expect(logged.length).toBeGreaterThanOrEqual(1);
      expect(logged.length).toBeLessThan(during.length);
      expect(logged[0].level).toBe("error");
      expect(String(logged[0].path)).toContain(data);
      expect(logLines(s, "unexpected error")).toEqual([]);
      expect(await metric(s, "natter_disk_full_total")).toBeGreaterThanOrEqual(during.length + 2);
      expect(await metric(s, 'natter_errors_total{code="internal"}')).toBe(0);

      // Space returns: the same server takes sends again, with no restart.
      rmSync(filler);
      const after = await sendMany(c, b.user.id, 2000, 40);
      for (const r of after) expect(r.reply.ok).toBe(true);
      for (const r of after) acked.add(r.client_id);
      const up2 = await upload(s, a.token, bytes(256 * 1024, 7));
      expect(up2.status).toBe(201);

      // Dense seqs from 1, exactly the acknowledged messages, none of the refused ones.
      const check = async (srv: TestServer) => {
        const cc = await WsClient.connect(srv, a.token);
        const msgs = await allMessages(cc, channel);
        cc.close();
        expect(msgs.map((m) => m.seq)).toEqual(msgs.map((_, i) => i + 1));
        expect(new Set(msgs.map((m) => m.client_id))).toEqual(acked);
        expect(msgs.length).toBe(acked.size);
      };
      await check(s);
      c.close();

      // Stopped cleanly; every shard file passes integrity_check; a restart serves the same history.
      expect(await s.stop()).toBe(0);
      const shards = readdirSync(join(data, "shards")).filter((f) => f.endsWith(".db"));
      expect(shards.length).toBe(4);
      for (const f of shards) {
        const db = new Database(join(data, "shards", f), { readonly: true });
        expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
        db.close();
      }
      s = await startServer({ dataDir: data, args: FAST });
      servers.push(s);
      await check(s);
      expect(await s.stop()).toBe(0);
    },
    90_000,
  );

  test.skipIf(skip !== null)(
    "a server that cannot start on a full disk says so and exits 73; with space back it starts",
    async () => {
      const mnt = mountTmpfs("4m", "natter-diskfull-") as string;
      const filler = join(mnt, "filler");
      const serve = (data: string) => {
        const r = spawnSync(NATTER, ["serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--shards", "4"], {
          encoding: "utf8",
          timeout: 20_000,
          env: { ...process.env, NATTER_LOG_LEVEL: "info" },
        });
        return { code: r.status, stderr: r.stderr, stdout: r.stdout };
      };

      // A fresh data dir on a full disk.
      fill(filler);
      const fresh = serve(join(mnt, "fresh"));
      expect(fresh.stdout).not.toContain('"msg":"listening"');
      expect(fresh.stderr).toContain("disk full");
      expect(fresh.stderr).toContain(join(mnt, "fresh"));
      expect(fresh.code).toBe(73);

      // With the space back it starts on what the failed start left.
      rmSync(filler);
      let s = await startServer({ dataDir: join(mnt, "fresh"), args: FAST });
      servers.push(s);
      expect((await fetch(s.url + "/healthz")).status).toBe(200);
      expect(await s.stop()).toBe(0);

      // An existing data dir on a full disk.
      fill(filler);
      const again = serve(join(mnt, "fresh"));
      expect(again.stderr).toContain("disk full");
      expect(again.code).toBe(73);
      rmSync(filler);
      s = await startServer({ dataDir: join(mnt, "fresh"), args: FAST });
      servers.push(s);
      const u = await makeUser(s, "Cy");
      expect(u.token.length).toBeGreaterThan(0);
      expect(existsSync(join(mnt, "fresh", "admin.token"))).toBe(true);
      expect(await s.stop()).toBe(0);
    },
    60_000,
  );

  test.skipIf(skip !== null)(
    "a start that runs out of space at any point leaves nothing half-written: with space back the next start works",
    async () => {
      const mnt = mountTmpfs("4m", "natter-diskfull-") as string;
      const filler = join(mnt, "filler");
      const data = join(mnt, "data");
      let refused = 0;
      for (const pages of [0, 1, 2, 3, 4, 5, 6, 8, 12, 24, 48, 96]) {
        fill(filler);
        freePages(filler, pages);
        const r = await tryServe(data);
        if (!r.listened) {
          refused++;
          expect(r.stderr).toContain("disk full");
          expect(r.code).toBe(73);
        }
        rmSync(filler);
        // Whatever the failed start left, the next one starts with a usable admin token and layout.
        const s = await startServer({ dataDir: data, args: FAST });
        servers.push(s);
        expect(s.adminToken).toMatch(/\S{16,}/);
        await makeUser(s, `P${pages}`);
        expect(await s.stop()).toBe(0);
        rmSync(data, { recursive: true, force: true });
      }
      expect(refused).toBeGreaterThan(0);
    },
    120_000,
  );
});
