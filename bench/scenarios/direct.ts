// direct: C clients in pairs; each sends 100-byte texts to its partner at an
// aggregate rate R. Against natter or against the bare relay baseline.
// With --ladder, the rate rises step by step until a step fails (p99 > limit,
// < 95% acked, any loss or error) and the last passing rate is reported.

import { place, connectAll, runSteps, type StepResult } from "../lib/load.ts";
import type { SenderSpec } from "../lib/messages.ts";
import type { BenchOptions } from "../lib/options.ts";
import { Pool } from "../lib/pool.ts";
import { fmt, type Progress } from "../lib/report.ts";
import { Target } from "../lib/target.ts";
import { startNatter } from "./common.ts";

export interface LoadScenarioResult {
  target: "natter" | "relay";
  clients: number;
  address?: string;
  sync?: string;
  steps: StepResult[];
  /** The single run, or the last passing ladder step. */
  best: StepResult | null;
  ladder: boolean;
  setup_ms: number;
}

export async function runDirect(kind: "natter" | "relay", o: BenchOptions, progress: Progress): Promise<LoadScenarioResult> {
  const t0 = performance.now();
  const target = kind === "natter" ? await startNatter(o) : await Target.start({ kind: "relay", tmpBase: o.tmpDir });
  const pool = new Pool(o.workers);
  try {
    progress(`${kind}: started pid ${target.pid} at ${target.url}; creating ${o.clients} users`);
    const ids = await target.identities(o.clients, "d");
    const placement = place(ids, 2, pool.size);
    await connectAll(pool, target, placement, progress);
    // Both members of each pair send to the other.
    const senders: SenderSpec[][] = placement.local.map((local) => {
      const out: SenderSpec[] = [];
      for (let i = 0; i + 1 < local.length; i += 2) {
        out.push({ client: i, to: local[i + 1]!.user, recipients: [i + 1] });
        out.push({ client: i + 1, to: local[i]!.user, recipients: [i] });
      }
      return out;
    });
    // First message of every pair by `to`: creates the direct chats (and tells us their ids).
    const firsts = await pool.all((w) => ({ t: "first", senders: senders[w]! }), "first");
    firsts.forEach((f, w) => {
      if (Object.keys(f.errors).length) throw new Error(`first messages failed: ${JSON.stringify(f.errors)}`);
      if (o.address === "channel") senders[w] = senders[w]!.map((s, i) => ({ client: s.client, channel: f.channels[i]!, recipients: s.recipients }));
    });
    const setupMs = performance.now() - t0;
    const rates = o.ladder ? Array.from({ length: o.ladderSteps }, (_, i) => Math.round(o.ladderStart * o.ladderFactor ** i)) : [o.rate];
    const { steps, best } = await runSteps(pool, target, senders, o, rates, (rate) => `${kind} direct: ${fmt(rate)} msg/s offered`, progress);
    return { target: kind, clients: o.clients, address: kind === "natter" ? o.address : undefined, sync: kind === "natter" ? o.sync : undefined, steps, best, ladder: o.ladder, setup_ms: Math.round(setupMs) };
  } finally {
    await pool.close();
    const code = await target.stop();
    if (code !== 0 && code !== null) progress(`${kind} exited with ${code}`);
  }
}
