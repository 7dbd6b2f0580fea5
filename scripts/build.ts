// `npm run build`: compiles natter into one executable, dist/natter, with
// `bun build --compile`. Workarounds (see FIELD-NOTES): ink's optional
// react-devtools-core is mapped to an empty module; libsql's computed
// require of its native addon is rewritten to a literal so the addon embeds.

import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");
const outfile = join(root, "dist", "natter");

const stubDevtools: BunPlugin = {
  name: "stub-react-devtools-core",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "natter-stub" }));
    build.onLoad({ filter: /.*/, namespace: "natter-stub" }, () => ({ contents: "export default {};", loader: "js" }));
  },
};

const literalLibsqlAddon: BunPlugin = {
  name: "libsql-literal-addon",
  setup(build) {
    build.onLoad({ filter: /node_modules\/libsql\/index\.js$/ }, async (args) => {
      const src = await Bun.file(args.path).text();
      return { contents: src.replace("return require(`@libsql/${target}`);", 'return require("@libsql/linux-x64-gnu");'), loader: "js" };
    });
  },
};

export const BUILD_PLUGINS: BunPlugin[] = [stubDevtools, literalLibsqlAddon];

/** The CLI, and the worker threads as extra entrypoints of the one binary (their paths are looked up under /$bunfs/root/). */
export const ENTRYPOINTS = [
  join(root, "src/cli/main.ts"),
  join(root, "src/server/store/sqlite/checkpoint-worker.ts"),
  join(root, "src/server/store/sqlite/writer-worker.ts"),
];

if (import.meta.main) {
  mkdirSync(join(root, "dist"), { recursive: true });
  const t0 = performance.now();
  process.stderr.write(`building ${outfile} ...\n`);
  const result = await Bun.build({
    entrypoints: ENTRYPOINTS,
    compile: { outfile },
    minify: true,
    sourcemap: "linked",
    plugins: BUILD_PLUGINS,
    define: { "process.env.NODE_ENV": '"production"' },
  } as Parameters<typeof Bun.build>[0]);
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1);
  process.stderr.write(`built ${outfile} (${mb} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
