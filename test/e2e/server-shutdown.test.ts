// SIGTERM with users connected: exit 0, no error logged, and every connected
// user's last_seen written before the shards close.
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { WsClient, adminFetch, makeUser, startServer } from "../harness.ts";

test("SIGTERM with clients connected logs no error and persists their last_seen", async () => {
  const s = await startServer();
  const a = await makeUser(s, "A");
  const b = await makeUser(s, "B");
  const wa = await WsClient.connect(s, a.token);
  await WsClient.connect(s, b.token);
  await wa.call("sendMessage", { to: b.user.id, client_id: "x", type: "text", content: "hi" });
  const before = Date.now();
  expect(await s.stop()).toBe(0);
  const errors = s.output().split("\n").filter((l) => l.includes('"level":"error"'));
  expect(errors).toEqual([]);

  const s2 = await startServer({ dataDir: s.dataDir });
  try {
    for (const u of [a, b]) {
      const r = (await (await adminFetch(s2, "GET", `/admin/users/${u.user.id}`)).json()) as { user: { last_seen: number | null } };
      expect(r.user.last_seen).toBeGreaterThanOrEqual(before);
    }
  } finally {
    await s2.cleanup();
    rmSync(s.dataDir, { recursive: true, force: true });
  }
});
