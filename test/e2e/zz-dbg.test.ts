import { test } from "bun:test";
import { startCluster } from "./cluster-nodes.ts";
test("dbg", async () => {
  const c = await startCluster({ nodes: 3 });
  await c.waitSameMap();
  await c.waitHealthy();
  await Bun.sleep(8000);
  for (const id of c.ids) console.log(id, c.node(id).output().split("\n").filter((l) => /view changed|quorum|failed|refused|restored|serving shard/.test(l)).map((l) => l.slice(0, 200)).join("\n"));
  await c.stop();
}, 60000);
