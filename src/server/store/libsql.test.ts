// The shared storage suite against libSQL through @libsql/client on a local file: URL.
import { join } from "node:path";
import { LibsqlStore } from "./libsql/libsql-store.ts";
import { storeSuite } from "./store-suite.ts";

storeSuite("libSQL (file:)", async (dir) => LibsqlStore.open({ url: "file:" + join(dir, "natter.db") }));
