import type { BenchOptions } from "../lib/options.ts";
import type { Progress } from "../lib/report.ts";
export type ReconnectScenarioResult = any;
export async function runReconnect(_o: BenchOptions, _p: Progress): Promise<ReconnectScenarioResult> {
  throw new Error("not yet");
}
