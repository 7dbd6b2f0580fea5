import type { BenchOptions } from "../lib/options.ts";
import type { Progress } from "../lib/report.ts";
export type HistoryScenarioResult = any;
export async function runHistory(_o: BenchOptions, _p: Progress): Promise<HistoryScenarioResult> {
  throw new Error("not yet");
}
