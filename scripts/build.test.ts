// What `npm run build` embeds for each platform, checked against the
// packages package-lock.json actually pins (an entry with an integrity hash
// is one npm can install; one without was never published).
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { buildTarget, chooseEmbeds, parseBuildArgs } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const lock = (await Bun.file(join(root, "package-lock.json")).json()) as { packages: Record<string, { integrity?: string; os?: string[]; cpu?: string[] }> };
/** Installable from the registry for that platform, per the lockfile. */
const published = (pkg: string) => Boolean(lock.packages[`node_modules/${pkg}`]?.integrity);

describe("buildTarget", () => {
  test("x64 (Node's name, Docker's amd64, uname's x86_64)", () => {
    for (const arch of ["x64", "amd64", "x86_64"])
      expect(buildTarget("linux", arch)).toEqual({ os: "linux", arch: "x64", bun: "bun-linux-x64", libsql: "@libsql/linux-x64-gnu", litestream: "@flydotio/litestream-linux-x64" });
  });
  test("arm64 (Node's and Docker's arm64, uname's aarch64)", () => {
    for (const arch of ["arm64", "aarch64"])
      expect(buildTarget("linux", arch)).toEqual({ os: "linux", arch: "arm64", bun: "bun-linux-arm64", libsql: "@libsql/linux-arm64-gnu", litestream: "@flydotio/litestream-linux-arm64" });
  });
  test("anything else is refused", () => {
    expect(() => buildTarget("linux", "ia32")).toThrow("not linux-ia32");
    expect(() => buildTarget("win32", "x64")).toThrow("not win32-x64");
  });
});

describe("chooseEmbeds against package-lock.json", () => {
  test("linux x64: the x64 glibc libSQL addon and the x64 Litestream, both pinned with a hash", () => {
    const t = buildTarget("linux", "amd64");
    expect(published(t.libsql)).toBe(true);
    expect(lock.packages[`node_modules/${t.libsql}`]).toMatchObject({ os: ["linux"], cpu: ["x64"] });
    expect(chooseEmbeds(t, published)).toEqual({ libsql: "@libsql/linux-x64-gnu", litestream: "@flydotio/litestream-linux-x64", notes: [] });
  });

  test("linux arm64: the arm64 glibc libSQL addon; Litestream is not embedded (npm has none for arm64) and the build says so", () => {
    const t = buildTarget("linux", "arm64");
    expect(published(t.libsql)).toBe(true);
    expect(lock.packages[`node_modules/${t.libsql}`]).toMatchObject({ os: ["linux"], cpu: ["arm64"] });
    const e = chooseEmbeds(t, published);
    expect(e.libsql).toBe("@libsql/linux-arm64-gnu");
    expect(e.litestream).toBeNull();
    expect(e.notes.join("\n")).toContain("not embedded for linux-arm64");
    // Even if the package were installed, the runtime looks for an embedded Litestream on linux-x64 only.
    expect(chooseEmbeds(t, () => true).litestream).toBeNull();
  });

  test("Bun itself runs on both (the bun package's platform packages are pinned)", () => {
    expect(published("@oven/bun-linux-x64")).toBe(true);
    expect(published("@oven/bun-linux-aarch64")).toBe(true);
  });

  test("a missing libSQL addon stops the build, naming the package; --no-litestream leaves Litestream out", () => {
    const t = buildTarget("linux", "arm64");
    expect(() => chooseEmbeds(t, (p) => p !== t.libsql)).toThrow("@libsql/linux-arm64-gnu is not installed");
    const e = chooseEmbeds(buildTarget("linux", "x64"), () => true, false);
    expect(e.litestream).toBeNull();
    expect(e.notes[0]).toContain("--no-litestream");
  });
});

test("build arguments: --arch NAME / --arch=NAME, --no-litestream; anything else is refused", () => {
  expect(parseBuildArgs([])).toEqual({ arch: process.arch, litestream: true });
  expect(parseBuildArgs(["--arch", "arm64", "--no-litestream"])).toEqual({ arch: "arm64", litestream: false });
  expect(parseBuildArgs(["--arch=amd64"])).toEqual({ arch: "amd64", litestream: true });
  expect(() => parseBuildArgs(["--target", "x"])).toThrow("unknown argument --target");
});
