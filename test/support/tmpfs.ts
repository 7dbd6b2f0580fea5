// Small size-limited filesystems for disk-full tests (a tmpfs; mounting needs
// root, which CI has). Every mount made here is unmounted by `unmountAll`, and
// lazily at process exit even if the run dies before its afterAll.

import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const mounts: string[] = [];
process.on("exit", () => {
  for (const m of mounts) spawnSync("umount", ["-l", m]);
});

/** Unmounts (lazily, so a busy mount cannot stay behind) and removes the mount point. */
export function unmount(dir: string): void {
  const i = mounts.indexOf(dir);
  if (i >= 0) mounts.splice(i, 1);
  spawnSync("umount", ["-l", dir]);
  rmSync(dir, { recursive: true, force: true });
}

export function unmountAll(): void {
  for (const m of [...mounts]) unmount(m);
}

/** A fresh tmpfs of `size` (e.g. "8m"), or the reason none can be mounted here. */
export function mountTmpfs(size: string, prefix = "natter-tmpfs-"): string | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: "needs root to mount a tmpfs" };
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || "").trim()}` };
  }
  mounts.push(dir);
  return dir;
}

/** Writes `path` until the filesystem has not one byte left; returns the bytes written. */
export function fill(path: string): number {
  const fd = openSync(path, "a");
  let n = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0x5a);
      try {
        for (;;) n += writeSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
  return n;
}
