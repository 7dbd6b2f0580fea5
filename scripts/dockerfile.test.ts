// The Dockerfile and .dockerignore, checked by reading them (no Docker daemon
// in tests): what the build context leaves out, and what the runtime image
// has: init, health check, CA certificates, a non-root user, a /data volume,
// and the build stage building for TARGETARCH.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { buildTarget, parseBuildArgs } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const dockerfile = await Bun.file(join(root, "Dockerfile")).text();
const ignore = (await Bun.file(join(root, ".dockerignore")).text())
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

/** The Dockerfile's instructions (continuation lines joined, comments dropped), split into stages. */
function stages(text: string): { from: string; lines: string[] }[] {
  const joined = text
    .split("\n")
    .filter((l) => !l.trim().startsWith("#"))
    .join("\n")
    .replace(/\\\n\s*/g, " ");
  const out: { from: string; lines: string[] }[] = [];
  for (const line of joined.split("\n").map((l) => l.trim()).filter(Boolean)) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}
const all = stages(dockerfile);
const final = all.at(-1)!;
const build = all.find((s) => / AS build$/i.test(s.from))!;
const instr = (s: { lines: string[] }, word: string) => s.lines.filter((l) => l.toUpperCase().startsWith(word + " "));

describe(".dockerignore", () => {
  test("leaves out the host's node_modules, data (admin token, shards), dist and .git", () => {
    for (const p of ["node_modules", "data", "dist", ".git"]) expect(ignore).toContain(p);
  });
  test("ignores nothing the build needs", () => {
    const needed = ["package.json", "package-lock.json", "src", "scripts", "bin", "bunfig.toml", "tsconfig.json"];
    for (const p of ignore) for (const n of needed) expect(new Bun.Glob(p).match(n)).toBe(false);
  });
});

describe("Dockerfile", () => {
  test("the build stage runs on the target platform and builds for TARGETARCH, which build.ts understands", () => {
    expect(build.from).not.toContain("--platform");
    expect(instr(build, "ARG")).toContain("ARG TARGETARCH");
    const run = instr(build, "RUN").find((l) => l.includes("scripts/build.ts"))!;
    expect(run).toContain('--arch "${TARGETARCH:-$(uname -m)}"');
    expect(run).toContain("--no-litestream");
    for (const arch of ["amd64", "arm64", "x86_64", "aarch64"]) expect(() => buildTarget("linux", arch)).not.toThrow();
    expect(parseBuildArgs(["--arch", "arm64", "--no-litestream"])).toEqual({ arch: "arm64", litestream: false });
  });

  test("the runtime image has ca-certificates, tini as init and curl for the health check, from Debian", () => {
    const install = instr(final, "RUN").join(" ");
    for (const pkg of ["ca-certificates", "tini", "curl"]) expect(install).toMatch(new RegExp(`apt-get install [^&]*\\b${pkg}\\b`));
    const entry = JSON.parse(instr(final, "ENTRYPOINT")[0]!.slice("ENTRYPOINT ".length)) as string[];
    expect(entry.slice(0, 3)).toEqual(["/usr/bin/tini", "--", "/usr/local/bin/natter"]);
  });

  test("HEALTHCHECK asks /healthz on natter's port", () => {
    const hc = instr(final, "HEALTHCHECK");
    expect(hc).toHaveLength(1);
    expect(hc[0]).toContain('curl -fsS "http://127.0.0.1:${NATTER_PORT}/healthz"');
    expect(instr(final, "ENV").join(" ")).toContain("NATTER_PORT=8080");
    expect(instr(final, "EXPOSE")).toEqual(["EXPOSE 8080"]);
  });

  test("runs as a non-root user that owns the /data volume, where NATTER_DATA points", () => {
    const user = instr(final, "USER");
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^USER (root|0)(:|$)/);
    const name = user[0]!.slice("USER ".length);
    expect(instr(final, "RUN").join(" ")).toMatch(new RegExp(`useradd .*\\b${name}\\b.*chown ${name}:${name} /data`));
    expect(final.lines.indexOf(user[0]!)).toBeLessThan(final.lines.findIndex((l) => l.startsWith("ENTRYPOINT")));
    expect(instr(final, "VOLUME")).toEqual(["VOLUME /data"]);
    expect(instr(final, "ENV").join(" ")).toContain("NATTER_DATA=/data");
  });

  test("natter and Litestream come from the earlier stages, and NATTER_LITESTREAM names where Litestream lands", () => {
    const copies = instr(final, "COPY");
    expect(copies).toContain("COPY --from=build /src/dist/natter /usr/local/bin/natter");
    const ls = copies.find((c) => c.startsWith("COPY --from=litestream "))!;
    const dest = ls.split(/\s+/).at(-1)!;
    expect(instr(final, "ENV").join(" ")).toContain(`NATTER_LITESTREAM=${dest}`);
    expect(all.some((s) => /^FROM \$\{LITESTREAM_IMAGE\} AS litestream$/.test(s.from))).toBe(true);
    expect(dockerfile).toMatch(/^ARG LITESTREAM_IMAGE=litestream\/litestream:0\.3\.13$/m);
    expect(instr(final, "CMD")).toEqual(['CMD ["serve"]']);
  });
});
