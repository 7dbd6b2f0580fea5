// Keeps docs/configuration.md true: every option, its env var and default are documented.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS, OPTIONS, envName } from "./config.ts";

test("docs/configuration.md documents every option with its env var and default", () => {
  const doc = readFileSync(join(import.meta.dir, "../../docs/configuration.md"), "utf8");
  for (const o of OPTIONS) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`--${o.flag}\` |`));
    expect(row, `row for --${o.flag}`).toBeDefined();
    expect(row!).toContain(`\`${envName(o.flag)}\``);
    expect(row!).toContain(`\`${JSON.stringify(DEFAULTS[o.key])}\``);
  }
});
