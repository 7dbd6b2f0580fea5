// The shared storage suite against bun:sqlite shards (4 shards, so cross-shard paths run).
import { SqliteStore } from "./sqlite/sqlite-store.ts";
import { storeSuite } from "./store-suite.ts";

storeSuite("bun:sqlite shards", async (dir) => new SqliteStore({ dir, shards: 4, synchronous: "normal" }));
