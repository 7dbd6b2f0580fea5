// group: G groups of N members (default 100), every member connected once;
// members take turns sending at an aggregate rate R, so each message is
// persisted once and delivered N-1 times.

import { place, connectAll, runSteps } from "../lib/load.ts";
import type { SenderSpec } from "../lib/messages.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { fmt, type Progress } from "../lib/report.ts";
import type { LoadScenarioResult } from "./direct.ts";
import { Target } from "../lib/target.ts";
import { startNatter } from "./common.ts";

export async function runGroup(o: BenchOptions, progress: Progress, kind: "natter" | "relay" = "natter"): Promise<LoadScenarioResult> {
  const t0 = performance.now();
  const target = kind === "natter" ? await startNatter(o) : await Target.start({ kind: "relay", tmpBase: o.tmpDir });
  const pool = new Pool(o.workers);
  try {
    const n = o.groups * o.groupSize;
    progress(`group: ${kind} pid ${target.pid}; creating ${n} users for ${o.groups} groups of ${o.groupSize}`);
    const ids = await target.identities(n, "g", (d) => progress(`  ${d}/${n} users`));
    const placement = place(ids, o.groupSize, pool.size);
    await connectAll(pool, target, placement, progress);
    // Worker w holds whole groups: local clients [k*size, (k+1)*size) form group k.
    const senders: SenderSpec[][] = [];
    for (let w = 0; w < pool.size; w++) {
      const local = placement.local[w]!.length;
      const groups = [];
      for (let k = 0; k * o.groupSize < local; k++) {
        const members = Array.from({ length: o.groupSize }, (_, i) => k * o.groupSize + i);
        groups.push({ creator: members[0]!, members: members.slice(1), name: `bench ${w}.${k}` });
      }
      senders.push([]);
      if (groups.length === 0) continue;
      const r = await pool.workers[w]!.ask({ t: "groups", groups }, "groups");
      groups.forEach((g, k) => {
        const all = [g.creator, ...g.members];
        for (const m of all) senders[w]!.push({ client: m, channel: r.channels[k]!, recipients: all.filter((x) => x !== m) });
      });
    }
    const setupMs = performance.now() - t0;
    const rates = o.ladder ? Array.from({ length: o.ladderSteps }, (_, i) => Math.round((o.groupRate / 2) * o.ladderFactor ** i)) : [o.groupRate];
    const { steps, best } = await runSteps(pool, target, senders, o, rates, (rate) => `${kind} group: ${fmt(rate)} msg/s offered (${fmt(rate * (o.groupSize - 1))} deliveries/s)`, progress);
    return { target: kind, clients: n, sync: kind === "natter" ? o.sync : undefined, steps, best, ladder: o.ladder, setup_ms: Math.round(setupMs) };
  } finally {
    await pool.close();
    await target.stop();
  }
}
