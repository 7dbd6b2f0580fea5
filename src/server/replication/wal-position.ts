// Where a shard's WAL stands, read from disk without opening SQLite: the
// position SQLite publishes in the -shm header (salt and end of the last valid
// frame), and the salt of Litestream's newest shadow WAL file for the shard.
// The supervisor compares the two to know what the replica holds.

import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A shard file and its -shm file descriptor, opened on first read and kept. */
export interface ShmHandle {
  path: string;
  shmFd: number | null;
}

const HDR = Buffer.alloc(96);

/** The WAL position SQLite publishes in the -shm header: salt and the end offset of the last valid frame. */
export function readShm(s: ShmHandle): { salt: string; off: number } | null {
  try {
    s.shmFd ??= openSync(s.path + "-shm", "r");
    for (let attempt = 0; attempt < 3; attempt++) {
      if (readSync(s.shmFd, HDR, 0, 96, 0) < 96) return null;
      // Two copies of the header: equal unless a writer is updating them right now.
      if (HDR.compare(HDR, 0, 48, 48, 96) !== 0 || HDR[12] === 0) continue;
      const le = isLE;
      const u16 = (o: number) => (le ? HDR.readUInt16LE(o) : HDR.readUInt16BE(o));
      const u32 = (o: number) => (le ? HDR.readUInt32LE(o) : HDR.readUInt32BE(o));
      const sz = u16(14);
      const page = sz === 1 ? 65536 : sz;
      const mx = u32(16);
      // The salts are a byte copy of the WAL header's (not native integers).
      return { salt: HDR.toString("hex", 32, 40), off: mx === 0 ? 0 : 32 + mx * (page + 24) };
    }
    return null;
  } catch {
    return null;
  }
}
const isLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Litestream's current generation for a shard, and the salt of its newest shadow WAL index. */
export function readShadow(path: string): { gen: string; index: number; salt: string } | null {
  try {
    const dir = join(dirname(path), `.${basename(path)}-litestream`);
    const gen = readFileSync(join(dir, "generation"), "utf8").trim();
    if (!gen) return null;
    const wal = join(dir, "generations", gen, "wal");
    const files = readdirSync(wal).filter((f) => /^[0-9a-f]{8}\.wal$/.test(f)).sort();
    const last = files.at(-1);
    if (!last) return { gen, index: -1, salt: "" };
    const fd = openSync(join(wal, last), "r");
    const h = Buffer.alloc(32);
    try {
      if (readSync(fd, h, 0, 32, 0) < 32) return null;
    } finally {
      closeSync(fd);
    }
    return { gen, index: parseInt(last.slice(0, 8), 16), salt: h.toString("hex", 16, 24) };
  } catch {
    return null;
  }
}
