import { expect, test } from "bun:test";
import { ownerOf, shardMap, viewFingerprint, weight } from "./ownership.ts";

const THREE = ["n1", "n2", "n3"];

test("pinned: the shard map of n1..n3 over 16 shards never changes between versions", () => {
  // A change here moves every existing cluster's shards at upgrade: do not re-pin lightly.
  expect(shardMap(16, THREE)).toEqual(PINNED_3x16);
  expect(weight("n1", 0)).toBe(PINNED_WEIGHT_N1_0);
});

test("the map does not depend on the order the nodes are listed in", () => {
  expect(shardMap(16, ["n3", "n1", "n2"])).toEqual(shardMap(16, THREE));
});

test("a node leaving moves only its own shards", () => {
  const before = shardMap(64, THREE);
  const after = shardMap(64, ["n1", "n3"]);
  for (let s = 0; s < 64; s++) {
    if (before[s] !== "n2") expect(after[s]).toBe(before[s]!);
    else expect(["n1", "n3"]).toContain(after[s]!);
  }
});

test("a node joining takes shards only for itself, and a fair share of them", () => {
  const before = shardMap(1024, THREE);
  const after = shardMap(1024, [...THREE, "n4"]);
  let moved = 0;
  for (let s = 0; s < 1024; s++) {
    if (after[s] !== before[s]) {
      expect(after[s]).toBe("n4");
      moved++;
    }
  }
  // Expected 256 of 1024; rendezvous over a good hash stays well within +-25%.
  expect(moved).toBeGreaterThan(192);
  expect(moved).toBeLessThan(320);
});

test("one node owns everything; no node is an error", () => {
  expect(new Set(shardMap(16, ["solo"]))).toEqual(new Set(["solo"]));
  expect(() => ownerOf(0, [])).toThrow(/no live nodes/);
});

test("the view fingerprint is order-independent and changes with the live set or the shard count", () => {
  const f = viewFingerprint(16, THREE);
  expect(f).toMatch(/^[0-9a-f]{16}$/);
  expect(viewFingerprint(16, ["n2", "n3", "n1"])).toBe(f);
  expect(viewFingerprint(16, ["n1", "n2"])).not.toBe(f);
  expect(viewFingerprint(32, THREE)).not.toBe(f);
});

const PINNED_3x16 = ["n3", "n1", "n2", "n2", "n3", "n3", "n2", "n2", "n1", "n3", "n1", "n2", "n2", "n1", "n2", "n3"];
const PINNED_WEIGHT_N1_0 = 2666528132;
