// `npm run build`: compiles natter into one executable, dist/natter, with
// `bun build --compile`, for this machine's platform or `--arch x64|arm64`
// (Docker's TARGETARCH and uname's names work too). Workarounds: ink's
// optional react-devtools-core does not resolve, so it is mapped to an empty
// module; libsql loads its native addon with a computed require, which is
// rewritten to a literal naming the target's package so the addon embeds.
// Litestream is embedded when the target's npm package is installed (npm
// publishes it for linux-x64 only); `--no-litestream` leaves it out (the
// Docker image ships Litestream beside natter and sets NATTER_LITESTREAM).

import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");
const outfile = join(root, "dist", "natter");

/** A platform the compiled binary can be built for, with the packages that carry its native parts. */
export interface BuildTarget {
  os: "linux" | "darwin";
  arch: "x64" | "arm64";
  /** `bun build --compile --target` name. */
  bun: string;
  /** The libSQL native addon package (glibc builds on Linux). */
  libsql: string;
  /** The @flydotio/litestream platform package (may not be published: see chooseEmbeds). */
  litestream: string;
}

const ARCH_ALIASES: Record<string, "x64" | "arm64"> = { x64: "x64", amd64: "x64", x86_64: "x64", arm64: "arm64", aarch64: "arm64" };

/** The target for an OS and an architecture (Node's or Docker's name); throws for a platform natter is not built for. */
export function buildTarget(os: string, arch: string): BuildTarget {
  const a = ARCH_ALIASES[arch];
  if ((os !== "linux" && os !== "darwin") || !a) throw new Error(`natter is built for linux and darwin on x64 or arm64, not ${os}-${arch}`);
  return {
    os,
    arch: a,
    bun: `bun-${os}-${a}`,
    libsql: os === "linux" ? `@libsql/linux-${a}-gnu` : `@libsql/darwin-${a}`,
    litestream: `@flydotio/litestream-${os}-${a}`,
  };
}

export interface Embeds {
  /** The package the libsql addon require is rewritten to. */
  libsql: string;
  /** The Litestream package to embed, or null (then natter finds Litestream on PATH or in NATTER_LITESTREAM). */
  litestream: string | null;
  /** Why something is left out, for the build's output. */
  notes: string[];
}

/**
 * What a build embeds, given which packages are installed. The libSQL addon
 * is required (throws naming the package); Litestream is embedded only for
 * linux-x64, the one platform whose package npm publishes and natter's
 * runtime looks for inside the binary.
 */
export function chooseEmbeds(t: BuildTarget, installed: (pkg: string) => boolean, wantLitestream = true): Embeds {
  if (!installed(t.libsql))
    throw new Error(`${t.libsql} is not installed: run npm ci on a ${t.os}-${t.arch} machine (npm installs the platform packages of the machine it runs on)`);
  const notes: string[] = [];
  let litestream: string | null = null;
  if (!wantLitestream) notes.push("Litestream not embedded (--no-litestream): natter serve --replica uses NATTER_LITESTREAM or litestream on PATH");
  else if (t.os !== "linux" || t.arch !== "x64") notes.push(`Litestream not embedded for ${t.os}-${t.arch} (npm has it for linux-x64 only): put litestream on PATH or set NATTER_LITESTREAM`);
  else if (!installed(t.litestream)) notes.push(`Litestream not embedded: ${t.litestream} is not installed (run npm ci)`);
  else litestream = t.litestream;
  return { libsql: t.libsql, litestream, notes };
}

const stubDevtools: BunPlugin = {
  name: "stub-react-devtools-core",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "natter-stub" }));
    build.onLoad({ filter: /^react-devtools-core$/, namespace: "natter-stub" }, () => ({ contents: "export default {};", loader: "js" }));
  },
};

function literalLibsqlAddon(pkg: string): BunPlugin {
  return {
    name: "libsql-literal-addon",
    setup(build) {
      build.onLoad({ filter: /node_modules\/libsql\/index\.js$/ }, async (args) => {
        const src = await Bun.file(args.path).text();
        return { contents: src.replace("return require(`@libsql/${target}`);", `return require(${JSON.stringify(pkg)});`), loader: "js" };
      });
    },
  };
}

/** Without an embedded Litestream, src/server/replication/litestream-embed.ts exports "" (nothing embedded). */
const noLitestream: BunPlugin = {
  name: "no-embedded-litestream",
  setup(build) {
    build.onResolve({ filter: /^@flydotio\/litestream-[a-z0-9-]+\/litestream$/ }, () => ({ path: "litestream", namespace: "natter-no-litestream" }));
    build.onLoad({ filter: /.*/, namespace: "natter-no-litestream" }, () => ({ contents: 'export default "";', loader: "js" }));
  },
};

/** The plugins for a build that embeds `e`. */
export function buildPlugins(e: Embeds): BunPlugin[] {
  return [stubDevtools, literalLibsqlAddon(e.libsql), ...(e.litestream ? [] : [noLitestream])];
}

/** The plugins for a build for this machine with everything installed (tests that bundle use these). */
export const BUILD_PLUGINS: BunPlugin[] = buildPlugins(chooseEmbeds(buildTarget(process.platform, process.arch), () => true));

/** The CLI, and the worker threads as extra entrypoints of the one binary (their paths are looked up under /$bunfs/root/). */
export const ENTRYPOINTS = [
  join(root, "src/cli/main.ts"),
  join(root, "src/server/store/sqlite/checkpoint-worker.ts"),
  join(root, "src/server/store/sqlite/writer-worker.ts"),
];

/** `--arch NAME` and `--no-litestream` from the command line. */
export function parseBuildArgs(argv: string[]): { arch: string; litestream: boolean } {
  let arch = process.arch as string;
  let litestream = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--no-litestream") litestream = false;
    else if (a === "--arch" && argv[i + 1]) arch = argv[++i]!;
    else if (a.startsWith("--arch=")) arch = a.slice("--arch=".length);
    else throw new Error(`unknown argument ${a}: scripts/build.ts [--arch x64|arm64|amd64|aarch64] [--no-litestream]`);
  }
  return { arch, litestream };
}

if (import.meta.main) {
  const args = parseBuildArgs(process.argv.slice(2));
  const target = buildTarget(process.platform, args.arch);
  const embeds = chooseEmbeds(target, (pkg) => existsSync(join(root, "node_modules", pkg, "package.json")), args.litestream);
  mkdirSync(join(root, "dist"), { recursive: true });
  const t0 = performance.now();
  process.stderr.write(`building ${outfile} for ${target.os}-${target.arch} (${embeds.libsql}${embeds.litestream ? `, ${embeds.litestream}` : ""}) ...\n`);
  for (const n of embeds.notes) process.stderr.write(`note: ${n}\n`);
  const native = target.os === process.platform && target.arch === process.arch;
  const result = await Bun.build({
    entrypoints: ENTRYPOINTS,
    compile: native ? { outfile } : { outfile, target: target.bun },
    minify: true,
    sourcemap: "linked",
    plugins: buildPlugins(embeds),
    define: { "process.env.NODE_ENV": '"production"' },
  } as Parameters<typeof Bun.build>[0]);
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  const mib = (statSync(outfile).size / 1024 / 1024).toFixed(1);
  process.stderr.write(`built ${outfile} (${mib} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
