// Starting the system under test with the benchmark's settings.

import type { BenchOptions } from "../lib/options.ts";
import { Target } from "../lib/target.ts";

/** Flags every natter under test gets: the per-device rate limit out of the way, fd-bound connection cap. */
export function natterArgs(o: BenchOptions): string[] {
  return ["--sync", o.sync, "--rate-burst", "10000000", "--rate-per-sec", "10000000", "--max-connections", "19500", ...o.serverArgs];
}

export function startNatter(o: BenchOptions, extra: { dataDir?: string; args?: string[] } = {}): Promise<Target> {
  return Target.start({
    kind: "natter",
    args: [...natterArgs(o), ...(extra.args ?? [])],
    dataDir: extra.dataDir,
    cpuProfDir: o.profileDir ?? undefined,
    tmpBase: o.tmpDir,
    root: o.natterRoot ?? undefined,
  });
}
