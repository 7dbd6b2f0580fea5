// Which node owns which shard: rendezvous (highest-random-weight) hashing over
// the live nodes. Pure and deterministic, so every node that sees the same
// live set computes the same map; when a node leaves, only its shards move,
// and when one joins, only the shards it now wins move to it.

/** A node's weight for a shard: FNV-1a over "node\0shard", then murmur3's fmix32 to spread it. */
export function weight(node: string, shard: number): number {
  const key = `${node}\0${shard}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The owner of `shard` among `nodes` (the highest weight; ties go to the smaller id). Throws on no nodes. */
export function ownerOf(shard: number, nodes: readonly string[]): string {
  if (nodes.length === 0) throw new Error("ownerOf: no live nodes");
  let best = nodes[0]!;
  let bestW = weight(best, shard);
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const w = weight(n, shard);
    if (w > bestW || (w === bestW && n < best)) {
      best = n;
      bestW = w;
    }
  }
  return best;
}

/** shard -> owner for shards 0..shards-1. */
export function shardMap(shards: number, nodes: readonly string[]): string[] {
  return Array.from({ length: shards }, (_, s) => ownerOf(s, nodes));
}

/**
 * A short fingerprint of a view (live nodes and shard count): two nodes agree
 * on the shard map exactly when their fingerprints match. Order-independent.
 */
export function viewFingerprint(shards: number, nodes: readonly string[]): string {
  const text = `${shards}|${[...new Set(nodes)].sort().join(",")}`;
  return new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16);
}
