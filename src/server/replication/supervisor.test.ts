// The supervisor with a stand-in for Litestream (a shell script): a dying
// Litestream is restarted with backoff and logged; after degradeAfterMs down
// the server is told to let SQLite checkpoint again, and told to stop once
// Litestream has stayed up for 5 s.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import { ReplicationSupervisor } from "./supervisor.ts";
import { parseReplica } from "./target.ts";

const dir = mkdtempSync(join(tmpdir(), "natter-supervisor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a dying Litestream is restarted and logged; long downtime degrades, a steady run recovers", async () => {
  const fake = join(dir, "fake-litestream");
  writeFileSync(fake, `#!/bin/sh\nif [ -f "${dir}/ok" ]; then exec sleep 30; fi\necho "level=ERROR msg=\\"boom\\"" >&2\nexit 3\n`);
  chmodSync(fake, 0o755);
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug: (msg, fields) => logs.push({ level: "debug", msg, fields }),
    info: (msg, fields) => logs.push({ level: "info", msg, fields }),
    warn: (msg, fields) => logs.push({ level: "warn", msg, fields }),
    error: (msg, fields) => logs.push({ level: "error", msg, fields }),
  };
  const events: boolean[] = [];
  const sup = new ReplicationSupervisor({
    dataDir: dir,
    shards: [join(dir, "00.db")],
    target: parseReplica(join(dir, "replica")),
    monitorIntervalMs: 100,
    syncIntervalMs: 100,
    log,
    binary: fake,
    degradeAfterMs: 400,
    onDegraded: (d) => events.push(d),
  });
  await sup.start();
  await Bun.sleep(1000);
  expect(events).toEqual([true]);
  const st = sup.status();
  expect(st.degraded).toBe(true);
  expect(st.restarts).toBeGreaterThanOrEqual(2);
  expect(st.last_exit).toContain("exit 3");
  const died = logs.find((l) => l.msg === "replication: litestream died; restarting")!;
  expect(died.level).toBe("error");
  expect(String(died.fields?.output)).toContain("boom");
  expect(logs.some((l) => l.level === "warn" && l.msg === "litestream" && String(l.fields?.line).includes("boom"))).toBe(true);

  writeFileSync(join(dir, "ok"), "");
  const deadline = Date.now() + 12_000;
  while (events.length < 2 && Date.now() < deadline) await Bun.sleep(100);
  expect(events).toEqual([true, false]);
  expect(sup.status().running).toBe(true);
  await sup.stop();
  expect(sup.status().running).toBe(false);
}, 20_000);
