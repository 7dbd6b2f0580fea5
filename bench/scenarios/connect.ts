import type { BenchOptions } from "../lib/options.ts";
import type { Progress } from "../lib/report.ts";
export type ConnectScenarioResult = any;
export async function runConnect(_o: BenchOptions, _p: Progress): Promise<ConnectScenarioResult> {
  throw new Error("not yet");
}
