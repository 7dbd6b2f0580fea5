// For command tests: clears these environment variables before each test and
// restores them after, so parsing sees only the flags the test passes.
import { afterEach, beforeEach } from "bun:test";

export function isolateEnv(keys: readonly string[]): void {
  let saved: (string | undefined)[] = [];
  beforeEach(() => {
    saved = keys.map((k) => process.env[k]);
    for (const k of keys) delete process.env[k];
  });
  afterEach(() => {
    keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
  });
}
